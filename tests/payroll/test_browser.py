"""Browser test (Playwright + Debian chromium) on a phone viewport (390 × 844): the agent opens
their payslips from the menu's page, then their payslip of the closed demo month; it reads in
Chinese, adds up, offers the PDF, and never scrolls sideways."""

from __future__ import annotations

from decimal import Decimal
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


def test_payslip_on_a_phone(browser: Any, live_server: str) -> None:  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=IPHONE_UA,
                              is_mobile=True, has_touch=True, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, live_server, "agent")
        page.goto(f"{live_server}/me/payslips")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        link = page.get_by_test_id("my-payslips").locator("a").first
        assert link.inner_text().startswith("工资条")
        link.tap()
        page.wait_for_url("**/payroll/payslips/*")
        assert page.locator("h1").inner_text().startswith("工资条")
        net = page.get_by_test_id("net-amount").inner_text()
        assert net.startswith("¥")
        slip_id = page.url.rstrip("/").split("/")[-1]
        data = page.request.get(f"{live_server}/api/v1/payroll/payslips/{slip_id}").json()
        assert Decimal(net.removeprefix("¥").strip()) == Decimal(data["net"])
        assert "实发工资" in page.inner_text("main") and "个人所得税" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = page.get_by_test_id("pdf").bounding_box()
        assert box is not None and box["width"] >= 300
        pdf = page.request.get(f"{live_server}/payroll/payslips/{slip_id}/pdf")
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        assert not errors, errors
    finally:
        ctx.close()
