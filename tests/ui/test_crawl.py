"""The crawl of issue 15: every page as every demo role, in zh-CN, on a phone — the back-office
roles here, the service floor's in test_crawl_floor.py (two files, so that pytest-xdist's
`--dist loadfile` runs the two halves on different workers)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.ui.crawl import assert_clean

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("username", ["admin", "auditor", "hr", "finance"])
def test_every_page_is_clean(browser: Any, live_server: str, username: str) -> None:
    assert_clean(browser, live_server, username)
