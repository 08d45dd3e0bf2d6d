from __future__ import annotations

import pytest

from probity.screening import CompiledPolicy, default_policy


@pytest.fixture(scope="session")
def policy() -> CompiledPolicy:
    return default_policy()
