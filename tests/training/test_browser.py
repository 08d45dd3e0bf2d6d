"""Browser test (Playwright + Debian chromium): with the training gate on (HQ locks it), the
demo agent cannot take conversations — the workspace says why and links to their training —
then passes the mandatory course on a 390-px phone and becomes available."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.browser.conftest import (  # noqa: F401
    browser,
    live_db_url,
    live_server,
    sign_in,
)

from probity.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

# The demo course's right answers, question by question (training/demo.py QUIZ).
ANSWERS = [[1], [0, 1], [1]]


def _gate(base: str, on: bool) -> None:
    with httpx.Client(base_url=base, timeout=60) as c:  # argon2 on a loaded machine
        assert c.post("/api/v1/auth/login", json={"username": "admin",
                                                  "password": DEMO_PASSWORD}).status_code == 200
        c.headers["X-CSRF-Token"] = c.get("/api/v1/auth/csrf").json()["csrf_token"]
        hq = c.get("/api/v1/me").json()["roles"][0]["tenant_id"]
        r = c.put(f"/api/v1/settings/{hq}/training", json={
            "values": {"chat_gate": on}, "locks": {"chat_gate": on},
            "reason": "必修课通过后方可接待" if on else "测试结束"})
        assert r.status_code in (200, 201), r.text


def test_agent_passes_the_course_then_becomes_available(
        browser: Any, live_server: str) -> None:  # noqa: F811
    _gate(live_server, True)
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True, locale="zh-CN")
    page = ctx.new_page()
    try:
        sign_in(page, live_server, "agent")
        page.goto(f"{live_server}/chat/workspace")
        switch = page.get_by_test_id("available")
        if switch.is_checked():  # another test left the agent available: step back first
            with page.expect_response("**/api/v1/chat/agent/availability"):
                switch.click()
        with page.expect_response("**/api/v1/chat/agent/availability") as refused:
            switch.click()
        assert refused.value.status == 409
        error = page.get_by_test_id("availability-error")
        error.wait_for(state="visible")
        assert "必修课程" in error.inner_text()
        assert not switch.is_checked()

        error.get_by_role("link").click()
        page.wait_for_url("**/me/training")
        page.get_by_test_id("gate-notice").wait_for()
        page.get_by_test_id("my-assignments").get_by_text("廉洁合规必修课").first.click()
        page.get_by_test_id("quiz").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        sets = page.get_by_test_id("quiz").locator("fieldset")
        assert sets.count() == len(ANSWERS)
        for n, right in enumerate(ANSWERS):
            for i in right:
                sets.nth(n).locator(f"input[value='{i}']").check()
        page.get_by_test_id("submit-quiz").click()
        result = page.get_by_test_id("quiz-result")
        result.wait_for()
        assert "100%" in result.inner_text() and "已通过" in result.inner_text()

        page.goto(f"{live_server}/chat/workspace")
        switch = page.get_by_test_id("available")
        with page.expect_response("**/api/v1/chat/agent/availability") as accepted:
            switch.click()
        assert accepted.value.status == 200
        assert switch.is_checked() and page.get_by_test_id("availability-error").is_hidden()
        page.reload()
        assert page.get_by_test_id("available").is_checked()
    finally:
        ctx.close()
        _gate(live_server, False)
