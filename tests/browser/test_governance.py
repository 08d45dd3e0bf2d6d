"""HQ locks the compliance KPI weight on the group standards page; a subsidiary admin sees the
lock and cannot change it — neither through the page nor through the API (403)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def _publish(page: Any, reason: str) -> None:
    page.click("[data-testid=preview]")
    page.wait_for_selector("[data-testid=publish]")
    page.fill("[data-testid=reason]", reason)
    page.click("[data-testid=publish]")
    page.wait_for_selector("[data-testid=saved]")


def test_hq_locks_compliance_weight_subsidiary_cannot_change_it(browser: Any, live_server: str,
                                                                tmp_path: Any) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, live_server, "admin")
        page.goto(f"{live_server}/standards")
        page.click("[data-testid=section-performance]")
        page.wait_for_selector("[data-testid=field-compliance_weight]")
        hq_url = page.url
        box = page.locator("[data-testid=lockbox-compliance_weight]")
        if box.is_checked():  # the demo ships it locked: open it first, then lock it again
            box.uncheck()
            _publish(page, "临时放开，由各子公司自定")
        page.fill("#v-compliance_weight", "22")
        page.locator("[data-testid=lockbox-compliance_weight]").check()
        page.click("[data-testid=preview]")
        page.wait_for_selector("[data-testid=publish]")
        # The diff shows what changes for each subsidiary.
        assert page.locator("[data-testid=diff-ECOM]").is_visible()
        assert "22" in page.locator("[data-testid=diff-ECOM]").inner_text()
        page.fill("[data-testid=reason]", "集团统一合规权重 22%")
        page.click("[data-testid=publish]")
        page.wait_for_selector("[data-testid=saved]")
        assert page.url.startswith(hq_url)
        context.clear_cookies()

        sign_in(page, live_server, "ecadmin")
        page.goto(f"{live_server}/standards")
        page.click("[data-testid=section-performance]")
        row = page.locator("[data-testid=field-compliance_weight]")
        row.wait_for()
        assert page.locator("[data-testid=lock-compliance_weight]").is_visible()
        assert "已被总部锁定" in row.inner_text() and "总部" in row.inner_text()
        assert page.locator("[data-testid=value-compliance_weight]").inner_text() == "22"
        assert page.locator("input[name='v.compliance_weight']").count() == 0  # not editable
        page.screenshot(path=str(tmp_path / "locked.png"), full_page=True)
        ecom_url = page.url
        tenant_id = int(re.search(r"/standards/(\d+)/", ecom_url).group(1))  # type: ignore[union-attr]
        csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
        # The page refuses a forged form post...
        r = page.request.post(f"{live_server}/standards/{tenant_id}/performance", form={
            "csrf_token": csrf, "shown": "compliance_weight", "v.compliance_weight": "15",
            "reason": "本公司自定"})
        assert r.status == 403 and "已被总部锁定" in r.text()
        # ...and so does the API.
        r = page.request.put(f"{live_server}/api/v1/settings/{tenant_id}/performance",
                             data={"values": {"compliance_weight": 15}, "reason": "本公司自定"},
                             headers={"X-CSRF-Token": csrf or ""})
        assert r.status == 403
        body = r.json()
        assert body["code"] == "setting_locked"
        assert body["field"] == "performance.compliance_weight"
        assert "已被总部锁定" in body["detail"]
        page.goto(ecom_url)
        assert page.locator("[data-testid=value-compliance_weight]").inner_text() == "22"
    finally:
        context.close()
