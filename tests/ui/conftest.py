"""The browser fixtures of tests/browser (a live server on its own seeded SQLite file, Debian's
chromium through Playwright), shared by the UI tests."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import browser, live_db_url, live_server

__all__ = ["browser", "data_words", "live_db_url", "live_server"]


@pytest.fixture(scope="module")
def data_words(live_db_url: str) -> Any:
    """The Chinese text people entered in the live server's database (tests/ui/crawl.py)."""
    from tests.ui.crawl import DataWords

    return DataWords(live_db_url.removeprefix("sqlite+aiosqlite:///"))
