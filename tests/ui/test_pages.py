"""The pages of issue 15 as their users see them, in zh-CN, in Debian's chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.ui.crawl import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def as_role(browser: Any, live_server: str) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_as(username: str, width: int = 1280) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        sign_in(page, live_server, username)
        return page

    yield open_as
    for c in contexts:
        c.close()


def test_agent_inbox_rows_name_the_customer_and_the_last_message(as_role: Any, live_server: str
                                                                 ) -> None:
    page = as_role("agent")
    page.goto(f"{live_server}/chat/workspace")
    row = page.locator("[data-testid=list-active] [data-testid=conversation]",
                       has_text="张先生").first
    row.wait_for()
    # The seeded conversation with 张先生: his name, the agent's last reply, unread and attempt
    # badges, a time in the one display format.
    assert row.locator("[data-testid=conv-customer]").inner_text() == "张先生"
    assert row.locator("[data-testid=conv-last]").inner_text().startswith("我：")
    assert "条未读" in row.inner_text()
    assert row.locator("[data-testid=conv-attempts]").is_visible()
    assert row.locator("time").inner_text().count(":") == 1
    # Availability is what the server holds, not a default.
    checked = page.locator("[data-testid=available]").is_checked()
    page.locator("[data-testid=available]").click()
    page.wait_for_load_state("networkidle")
    page.reload()
    assert page.locator("[data-testid=available]").is_checked() is not checked
    page.locator("[data-testid=available]").click()  # as it was
    page.wait_for_load_state("networkidle")
    # Opening it: the customer's attempt is a banner, never the text; messages have times.
    row.click()
    page.locator("[data-testid=attempt-banner]").wait_for(state="visible")
    messages = page.locator("[data-testid=messages]").inner_text()
    assert "vx" not in messages
    page.locator("[data-testid=messages] time").nth(2).wait_for()
    # 结束会话 is distinct from 发送 and asks first.
    close = page.locator("[data-testid=close]")
    assert close.get_attribute("class") != page.locator("[data-testid=send]").get_attribute(
        "class")
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    close.click()
    assert asked and "结束" in asked[0]
    assert page.locator("#composer").is_visible()  # dismissed: still open


def test_an_agents_bribe_is_kept_for_the_agent_with_an_internal_warning(
        as_role: Any, live_server: str) -> None:
    page = as_role("agent")
    page.goto(f"{live_server}/chat/workspace")
    page.locator("[data-testid=list-active] [data-testid=conversation]",
                 has_text="张先生").first.click()
    page.locator("[data-testid=composer]").wait_for(state="visible")
    page.wait_for_timeout(500)
    page.fill("[data-testid=composer]", "你给我发个红包，我帮你加急处理")
    page.click("[data-testid=send]")
    mine = page.locator("li.msg.blocked").last
    mine.wait_for(timeout=15_000)
    assert "你给我发个红包" in mine.inner_text()  # the sender's own text stays visible
    reason = mine.locator("[data-testid=blocked-reason]").inner_text()
    assert "合规警告（内部）" in reason and "红包" in reason
    notice = page.locator("[data-testid=notice]")
    assert "合规警告（内部）" in notice.inner_text()
    assert "请通过官方渠道联系" not in notice.inner_text()  # not the customers' notice


def test_case_timeline_names_who_did_what(as_role: Any, live_server: str) -> None:
    page = as_role("compliance")
    page.goto(f"{live_server}/cases")
    page.locator("[data-testid=cases] a").first.click()
    page.locator("[data-testid=transition-to]").select_option("triage")
    page.fill("[data-testid=transition-form] input[name=reason]", "先分拣")
    page.click("[data-testid=transition-form] button[type=submit]")
    page.wait_for_load_state()
    events = page.locator("[data-testid=timeline-event]")
    texts = [events.nth(i).inner_text() for i in range(events.count())]
    assert any("赵磊" in t and "合规" in t and "「新建」转为「分诊」" in t and "先分拣" in t
               for t in texts), texts
    assert all("transition" not in t and "→" not in t for t in texts)
    assert page.locator("[data-testid=case-summary]").is_visible()


def test_finance_sees_what_its_import_flagged(as_role: Any, live_server: str) -> None:
    page = as_role("finance")
    page.goto(f"{live_server}/")
    page.locator("[data-testid=menu] a", has_text="异常款项").click()
    rows = page.locator("[data-testid=flagged-row]")
    rows.first.wait_for()
    text = rows.first.inner_text()
    assert "付至" in text or "补偿" in text  # the reason, in Chinese, from the evidence
    assert "payee_not_company" not in page.inner_text("main")
    assert "#None" not in page.inner_text("main")


def test_team_lead_reassigns_a_conversation(as_role: Any, live_server: str) -> None:
    page = as_role("lead")
    page.goto(f"{live_server}/team")
    row = page.locator("[data-testid=team-row]").first
    row.wait_for()
    conv_id = row.get_attribute("data-id")
    before = row.locator("[data-testid=team-agent]").inner_text()
    target = row.locator("[data-testid=reassign-to] option").first.inner_text()
    assert target != before
    page.on("dialog", lambda d: d.accept())
    row.locator("[data-testid=reassign]").click()
    page.wait_for_load_state()
    moved = page.locator(f"[data-testid=team-row][data-id='{conv_id}']")
    assert moved.locator("[data-testid=team-agent]").inner_text() == target
    # Supervise opens the conversation read-only, live.
    moved.locator("[data-testid=supervise]").click()
    page.locator("[data-testid=messages] li").first.wait_for(timeout=15_000)
    assert page.locator("#composer").count() == 0


def test_team_lead_sees_the_teams_scorecards(as_role: Any, live_server: str) -> None:
    page = as_role("lead", width=390)
    page.goto(f"{live_server}/team")
    rows = page.locator("[data-testid=team-scores] [data-testid=team-score]")
    rows.first.wait_for(timeout=15_000)  # loaded into the page by htmx
    assert rows.count() >= 2
    # On a phone each row is a card of "label: value" lines: the swapped-in table is labelled.
    assert rows.first.locator("td").nth(2).get_attribute("data-label") == "合规分"
    rows.first.locator("a").click()
    page.locator("[data-testid=compliance-score]").wait_for()


def test_compliance_reads_an_alerts_conversation_and_the_reading_is_logged(
        as_role: Any, live_server: str) -> None:
    page = as_role("compliance", width=390)
    page.goto(f"{live_server}/alerts")
    link = page.locator("[data-testid=alert-conversation]").first
    conv = link.inner_text().split("#")[-1].strip()
    link.click()
    page.wait_for_url(f"{live_server}/conversations/{conv}?reason=*")
    # Read-only: the transcript with names, times in the display format and decisions in words,
    # and no form to write anything.
    messages = page.locator("[data-testid=transcript-message]")
    assert messages.count() > 0
    assert page.locator("[data-testid=read-only]").inner_text() == "只读：您的查阅将被记录。"
    names = {n.strip() for n in page.locator("[data-testid=sender-name]").all_inner_texts()}
    assert names and not any(n.isascii() for n in names), names  # people's names, not codes
    times = page.locator("[data-testid=transcript] time").all_inner_texts()
    assert times and all(len(t) == 16 and t[4] == "-" and t[13] == ":" for t in times), times
    flagged = page.locator("[data-testid=screening]").all_inner_texts()
    assert flagged and all(("拦截" in t or "警告" in t) and "block" not in t for t in flagged)
    assert page.locator("main form textarea, main form input[name=body]").count() == 0
    # The access log shows who read which conversation, and why (the alert).
    auditor = as_role("auditor")
    auditor.goto(f"{live_server}/access-log")
    rows = auditor.locator("[data-testid=access-rows] tbody tr").all_inner_texts()
    assert any("compliance" in r and f"会话 #{conv}" in r and "预警 #" in r for r in rows), rows[:5]


def test_hr_gives_a_reason_before_reading(as_role: Any, live_server: str) -> None:
    page = as_role("hr")
    page.goto(f"{live_server}/alerts")
    conv = page.locator("[data-testid=alert-conversation]").first.inner_text().split("#")[-1]
    page.goto(f"{live_server}/conversations/{conv.strip()}")
    assert page.locator("[data-testid=transcript]").count() == 0
    page.fill("[data-testid=reason-form] input[name=reason]", "员工投诉复核")
    page.click("[data-testid=reason-form] button[type=submit]")
    page.locator("[data-testid=transcript]").wait_for()
    assert page.locator("[data-testid=access-reason]").inner_text() == "员工投诉复核"
