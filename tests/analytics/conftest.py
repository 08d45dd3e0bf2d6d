"""The browser fixtures (a live server on the demo group, Debian's chromium) for this domain's
Playwright test."""

from tests.browser.conftest import browser, live_db_url, live_server

__all__ = ["browser", "live_db_url", "live_server"]
