"""Phone-viewport (390 × 844) browser tests of the self-service hub with Debian's chromium: the
hub fits the screen with thumb-sized controls, the agent clocks in from it, the service worker
registers from its static file and the offline page appears when the network is gone."""

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
PHONE = {"width": 390, "height": 844}

# Every link and button in the page body at least 44 px high (Apple's and WCAG's target size).
SMALL_TARGETS = """
() => [...document.querySelectorAll('main a, main button, main input:not([type=hidden])')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => [el.textContent.trim(), el.getBoundingClientRect().height])
  .filter(([, h]) => h < 44)
"""


def _phone(chromium: Any, locale: str = "zh-CN") -> Any:
    return chromium.new_context(viewport=PHONE, user_agent=IPHONE_UA, is_mobile=True,
                               has_touch=True, locale=locale)


def test_hub_on_a_phone_clock_in_and_offline(browser: Any, live_server: str) -> None:  # noqa: F811
    ctx = _phone(browser)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, live_server, "agent")
        page.goto(f"{live_server}/me")
        for tile in ("profile", "today", "schedule", "leave", "scorecard", "cases",
                     "notifications"):
            assert page.get_by_test_id(tile).is_visible(), tile
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate(SMALL_TARGETS) == []
        # The service worker registers from /sw.js and controls the app.
        script = page.evaluate(
            "navigator.serviceWorker.ready.then((r) => r.active && r.active.scriptURL)")
        assert script == f"{live_server}/sw.js"
        manifest = page.evaluate(
            "document.querySelector('link[rel=manifest]').href")
        assert manifest == f"{live_server}/manifest.webmanifest"

        button = page.get_by_test_id("clock-button")
        box = button.bounding_box()
        assert box is not None and box["width"] >= 300 and box["height"] >= 44
        before = button.inner_text().strip()
        assert before in ("上班打卡", "下班打卡")
        button.tap()
        page.wait_for_url("**/me?done=**")
        assert page.get_by_test_id("clock-result").is_visible()
        after = page.get_by_test_id("clock-button").inner_text().strip()
        assert after != before
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # Offline: the page comes from the service worker's offline fallback, not an error.
        page.reload()  # now controlled by the service worker
        page.evaluate("navigator.serviceWorker.ready")
        ctx.set_offline(True)
        page.goto(f"{live_server}/me/attendance")
        page.get_by_test_id("offline").wait_for()
        assert "您已离线" in page.inner_text("h1")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        ctx.set_offline(False)
        assert not [e for e in errors if "Content Security Policy" in e]
    finally:
        ctx.close()


def test_hub_in_english(browser: Any, live_server: str) -> None:  # noqa: F811
    ctx = _phone(browser, "en-US")
    page = ctx.new_page()
    try:
        sign_in(page, live_server, "lead")
        page.goto(f"{live_server}/lang/en?next=/me")
        page.wait_for_url("**/me")
        assert page.get_by_test_id("today").get_by_role("heading").inner_text().startswith(
            "Today")
        assert page.get_by_test_id("clock-button").inner_text().strip() in ("Clock in",
                                                                            "Clock out")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        ctx.close()


def test_payslip_from_the_hub_on_a_phone(browser: Any, live_server: str) -> None:  # noqa: F811
    """Payroll's payslip pages are on main: the hub links to them, and the way there fits a
    390-px screen (payroll's own phone test checks the payslip itself)."""
    ctx = _phone(browser)
    page = ctx.new_page()
    try:
        sign_in(page, live_server, "agent")
        page.goto(f"{live_server}/me")
        tile = page.get_by_test_id("payslips")
        assert tile.is_visible()
        tile.get_by_role("link").tap()
        page.wait_for_url("**/me/payslips")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        slips = page.get_by_test_id("my-payslips")
        if slips.count():  # the demo's closed month pays the agent
            slips.get_by_role("link").first.tap()
            page.wait_for_url("**/payroll/payslips/**")
            assert page.get_by_test_id("net-amount").inner_text().startswith("¥")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        else:
            assert page.get_by_test_id("empty").is_visible()
    finally:
        ctx.close()
