"""Browser test (Playwright + Debian chromium) on a phone viewport (390 × 844): the agent opens
their attendance page, clocks in with one tap, sees the result and their schedule; the page
never scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import (  # noqa: F401
    browser,
    live_db_url,
    live_server,
    sign_in,
)

pytestmark = pytest.mark.browser

IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def test_clock_in_on_a_phone(browser: Any, live_server: str) -> None:  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=IPHONE_UA,
                              is_mobile=True, has_touch=True, locale="zh-CN")
    page = ctx.new_page()
    try:
        sign_in(page, live_server, "agent")
        page.goto(f"{live_server}/me/attendance")
        button = page.get_by_test_id("clock-button")
        assert button.inner_text().strip() == "上班打卡"
        box = button.bounding_box()
        assert box is not None and box["width"] >= 300  # a thumb-sized target
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.get_by_test_id("schedule").wait_for()  # the demo rota covers the next two weeks
        button.tap()
        page.wait_for_url("**/me/attendance?done=in**")
        result = page.get_by_test_id("clock-result").inner_text()
        assert "已上班打卡" in result
        # Off the rota or late is flagged, never refused.
        assert page.get_by_test_id("last-punch").inner_text().startswith("最近打卡")
        assert page.get_by_test_id("clock-button").inner_text().strip() == "下班打卡"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The phone was recorded as the source.
        punches = page.request.get(f"{live_server}/api/v1/attendance/me/punches").json()
        assert punches[-1]["kind"] == "in" and punches[-1]["source"] == "phone"
    finally:
        ctx.close()
