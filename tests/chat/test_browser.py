"""Browser test (Playwright + Debian chromium): a customer and an agent chat in two pages; a
"加我vx" message is blocked, the notice shows to the customer only, and the alert appears on the
HR page live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.browser.conftest import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    live_db_url,
    live_server,
    sign_in,
)

from probity.chat.screening import BLOCK_NOTICE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chat_browser() -> Iterator[Any]:
    """Module-scoped on purpose: a live sync Playwright keeps an event loop on the main thread,
    which breaks the async tests that run after it; it is closed when this module ends."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_customer_agent_chat_block_and_live_alert(chat_browser: Any,
                                                  live_server: str,  # noqa: F811
                                                  tmp_path: Any) -> None:
    browser = chat_browser
    agent_ctx = browser.new_context(locale="zh-CN")
    customer_ctx = browser.new_context(locale="zh-CN")
    hr_ctx = browser.new_context(locale="zh-CN")
    en_ctx = browser.new_context(locale="en-US")
    try:
        agent = agent_ctx.new_page()
        sign_in(agent, live_server, "agent")
        agent.goto(f"{live_server}/chat/workspace")
        with agent.expect_response("**/api/v1/chat/agent/availability"):
            agent.check("[data-testid=available]")

        hr = hr_ctx.new_page()
        sign_in(hr, live_server, "hr")
        hr.goto(f"{live_server}/alerts")
        hr.wait_for_selector("[data-testid=feed-state][data-ready='1']")
        rows_before = hr.locator("[data-testid=alert-row]").count()

        customer = customer_ctx.new_page()
        sign_in(customer, live_server, "customer")
        customer.goto(f"{live_server}/chat")
        # A returning customer resumes the conversation still open (history from the server);
        # one with none open starts one.
        customer.wait_for_selector("#chat:not([hidden]), #start:not([hidden])")
        if customer.locator("#start-signed-in").is_visible():
            customer.click("#start-signed-in")
        customer.wait_for_selector("#chat:not([hidden]) [data-testid=composer]")
        # Who joined, by name (the agent's employee name, not the account's username).
        customer.wait_for_selector("#chat-status:has-text('李娜')")
        assert customer.locator("#chat-status").inner_text() == "客服 李娜 已接入"
        customer.fill("[data-testid=composer]", "你好，我的耳机还没发货")
        customer.click("[data-testid=send]")
        customer.wait_for_selector("li.msg.mine >> text=耳机还没发货")

        # The agent picks the conversation up (pushed to the list) and sees the message.
        agent.locator("[data-testid=list-active] [data-testid=conversation]",
                      has_text="张先生").first.click(timeout=20_000)
        agent.wait_for_selector("li.msg.theirs >> text=耳机还没发货")
        agent.fill("[data-testid=composer]", "您好，我帮您查一下物流")
        agent.click("[data-testid=send]")
        customer.wait_for_selector("li.msg.theirs >> text=帮您查一下物流")

        # Blocked: the customer sees the notice and keeps their text; the agent is told, no text.
        customer.fill("[data-testid=composer]", "加我vx abc12345 私下聊")
        customer.click("[data-testid=send]")
        notice = customer.locator("[data-testid=notice]")
        notice.wait_for(state="visible")
        assert BLOCK_NOTICE in notice.inner_text()
        # The customer keeps their own text, marked not sent, with the reason for contact.
        mine = customer.locator("li.msg.blocked", has_text="abc12345")
        mine.wait_for()
        assert "abc12345" in mine.inner_text() and "未发送" in mine.inner_text()
        assert "联系方式" in mine.locator("[data-testid=blocked-reason]").inner_text()
        # The agent sees that the customer tried, without the text.
        agent.locator("[data-testid=attempt-banner]").wait_for(state="visible")
        assert "abc12345" not in agent.locator("[data-testid=messages]").inner_text()

        # The alert reaches HR live, without a reload.
        # (a locator, not wait_for_function: the CSP allows no eval)
        hr.locator("[data-testid=alert-row]").nth(rows_before).wait_for(timeout=10_000)
        first = hr.locator("[data-testid=alert-row]").first.inner_text()
        assert "拦截" in first and "私下联系方式" in first and "abc12345" not in first

        agent.fill("[data-testid=composer]", "还有其他问题吗？")
        agent.click("[data-testid=send]")
        customer.wait_for_selector("li.msg.theirs >> text=还有其他问题吗")
        text = agent.locator("[data-testid=messages]").inner_text()
        assert "vx" not in text and "abc12345" not in text
        assert not agent.locator("[data-testid=notice]").is_visible()
        customer.screenshot(path=str(tmp_path / "customer.png"), full_page=True)
        hr.screenshot(path=str(tmp_path / "hr_alerts.png"), full_page=True)

        # The same line in English, for the same customer resuming the conversation.
        english = en_ctx.new_page()
        sign_in(english, live_server, "customer")
        english.goto(f"{live_server}/chat")
        english.wait_for_selector("#chat-status:has-text('李娜')")
        assert english.locator("#chat-status").inner_text() == \
            "Agent 李娜 has joined the conversation"
    finally:
        for ctx in (agent_ctx, customer_ctx, hr_ctx, en_ctx):
            ctx.close()
