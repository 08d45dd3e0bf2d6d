"""The browser fixtures of tests/browser (a live server on its own seeded SQLite file, Debian's
chromium through Playwright), shared by the UI tests."""

from __future__ import annotations

from tests.browser.conftest import browser, live_db_url, live_server

__all__ = ["browser", "live_db_url", "live_server"]
