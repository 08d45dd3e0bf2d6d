"""Compliance opens the heat-map, acts on a finding (the demo's own activity makes them), and
sees the rule in force; the heat-map is drawn by ECharts and a cell opens its alerts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_compliance_acts_on_a_finding(browser: Any, live_server: str, tmp_path: Path) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, live_server, "compliance")
        page.goto(f"{live_server}/analytics")
        page.wait_for_selector("[data-testid=heatmap] canvas")  # ECharts drew the heat-map
        finding = page.locator("[data-testid=finding]").first
        text = finding.inner_text()
        assert "倍" in text and "95% CI" in text, text
        page.screenshot(path=str(tmp_path / "analytics.png"), full_page=True)
        finding.locator("[data-testid=act]").click()
        form = finding.locator("[data-testid=act-form]")
        form.locator("[data-testid=expires]").fill((date.today() + timedelta(days=14)).isoformat())
        form.locator("[data-testid=review]").fill((date.today() + timedelta(days=7)).isoformat())
        form.locator("[data-testid=create-rule]").click()
        page.wait_for_url("**/monitoring/rules/*")
        assert "生效中" in page.locator("body").inner_text()
        assert page.locator("[data-testid=rule-title]").inner_text().strip() in text
        assert page.locator("[data-testid=effect]").count() == 1
        page.goto(f"{live_server}/monitoring")
        rows = page.locator("[data-testid=rule-row]")
        assert rows.count() >= 1 and "生效中" in rows.first.inner_text()
        # A heat-map cell drills down to its alerts.
        page.goto(f"{live_server}/analytics/alerts?dow=5&hour=19")
        page.wait_for_selector("h1")
        assert not errors, errors
    finally:
        context.close()


def test_hr_assigns_training_from_a_finding(browser: Any, live_server: str) -> None:
    """HR opens the dashboard, assigns a course to a finding's people in one step and lands
    on the course, which says how many got it; the heat-map switches to the violation rate."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, live_server, "hr")
        page.goto(f"{live_server}/analytics")
        page.wait_for_selector("[data-testid=heatmap] canvas")
        page.select_option("[data-testid=heat-metric]", "violation_rate")
        assert page.locator("#chart-heatmap").get_attribute("data-metric") == "violation_rate"
        finding = page.locator("[data-testid=finding]").first
        assert finding.locator("[data-testid=act]").count() == 0  # rules are compliance's
        finding.locator("[data-testid=assign-training]").click()
        form = finding.locator("[data-testid=training-form]")
        assert form.locator("[data-testid=course] option").count() >= 1
        form.locator("[data-testid=assign-course]").click()
        page.wait_for_url("**/training/courses/*")
        notice = page.locator("[data-testid=assigned]").inner_text()
        assert "已布置给" in notice, notice
        assert not errors, errors
    finally:
        context.close()
