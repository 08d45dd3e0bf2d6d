from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_hr_signs_in_and_sees_the_org_chart(browser: Any, live_server: str, tmp_path: Any
                                            ) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, live_server, "hr")
        assert "欢迎" in page.content()
        page.click("text=组织架构 >> nth=0")
        page.wait_for_url(f"{live_server}/org/chart")
        chart = page.locator("[data-testid=org-chart]")
        assert chart.is_visible()
        text = chart.inner_text()
        # HR of the e-commerce subsidiary sees its subtree: the company, its region and teams.
        assert "廉盾电商有限公司" in text and "电商售前一组" in text and "华南售后组" in text
        assert "廉盾家电有限公司" not in text
        page.screenshot(path=str(tmp_path / "org_chart.png"), full_page=True)
        # The English switch.
        page.click("text=EN")
        page.wait_for_url(f"{live_server}/org/chart")
        assert page.locator("h1").inner_text() == "Org chart"
    finally:
        context.close()


def test_phone_layout_has_a_menu(browser: Any, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, live_server, "auditor")
        toggle = page.locator("[data-testid=menu-toggle]")
        assert toggle.is_visible()
        assert not page.locator("[data-testid=menu]").is_visible()
        # The menu opens from the keyboard: the skip link first, then the menu button.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className").startswith("skip-link")
        toggle.focus()
        page.keyboard.press("Enter")
        page.locator("[data-testid=menu]").wait_for(state="visible")
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.locator("[data-testid=menu] a", has_text="审计日志").is_visible()
    finally:
        context.close()
