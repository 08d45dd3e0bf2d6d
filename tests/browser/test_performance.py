"""An agent sees a deduction on 我的绩效 that links to its case; the team lead reviews the open
cycle, HR signs it off, downloads the bonus list and sees the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_agent_deduction_links_to_case_and_hr_closes_cycle(browser: Any, live_server: str,
                                                           tmp_path: Path) -> None:
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, "agent")
        page.goto(f"{live_server}/performance/me")
        page.wait_for_selector("[data-testid=compliance-score]")
        score = int(page.locator("[data-testid=compliance-score]").inner_text())
        assert score < 100
        link = page.locator("[data-testid=deduction-case]").first
        assert "案件" in link.inner_text()
        link.click()
        page.wait_for_url("**/performance/me/cases/*")
        assert page.locator("[data-testid=case-reason]").inner_text().strip() not in ("", "—")
        page.screenshot(path=str(tmp_path / "agent-case.png"), full_page=True)
        context.clear_cookies()

        sign_in(page, live_server, "lead")
        page.goto(f"{live_server}/performance")
        page.locator("[data-testid=cycles] a").first.click()  # newest first: the open cycle
        page.wait_for_selector("[data-testid=cycle-status]")
        cycle_url = page.url.split("?")[0]
        assert "进行中" in page.locator("[data-testid=cycle-status]").inner_text()
        page.click("[data-testid=review]")
        page.wait_for_url(cycle_url)
        assert "复核中" in page.locator("[data-testid=cycle-status]").inner_text()
        context.clear_cookies()

        sign_in(page, live_server, "hr")
        page.goto(cycle_url)
        page.click("[data-testid=close]")
        page.wait_for_selector("[data-testid=bonus-csv]")
        assert "已关闭" in page.locator("[data-testid=cycle-status]").inner_text()
        with page.expect_download() as info:
            page.click("[data-testid=bonus-csv]")
        path = tmp_path / "bonus.csv"
        info.value.save_as(path)
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        header, *rows = data.decode("utf-8-sig").splitlines()
        assert header.startswith("cycle_id,employee_no,name") and len(rows) > 10
        page.screenshot(path=str(tmp_path / "closed.png"), full_page=True)
        # The dashboard's figures per team and cycle (its ECharts canvas needs node_modules).
        page.goto(f"{live_server}/performance/dashboard?level=team")
        assert page.locator("[data-testid=dashboard] tbody tr").count() > 1
    finally:
        context.close()
