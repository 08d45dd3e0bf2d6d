"""The alerts feed and the payee page as issue 15 (items 4 and 5) asked: filters that filter,
senders by name, no `#None`, the conversation of a lead's team alert as a link; payees with an
employee column, one 类型 column and "active" as 有效/是, not 进行中."""

from __future__ import annotations

import re
from typing import Any

import httpx


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-testid="alert-row".*?</tr>', html, re.DOTALL)


async def test_alert_filters_and_words(as_user: Any) -> None:
    client: httpx.AsyncClient = await as_user("compliance")
    blocks = _rows((await client.get("/alerts", params={"decision": "block"})).text)
    assert blocks and all("拦截" in r and "警告" not in r for r in blocks)
    warns = _rows((await client.get("/alerts", params={"decision": "warn"})).text)
    assert warns and all("警告" in r for r in warns)
    finance = (await client.get("/alerts", params={"source": "finance"})).text
    rows = _rows(finance)
    assert rows and all("财务" in r for r in rows)
    assert "#None" not in finance and "agent #" not in finance
    senders = re.findall(r'data-testid="alert-sender"><span translate="no">([^<]+)<', finance)
    assert senders and all(not s.startswith("agent") for s in senders)


async def test_a_leads_team_alerts_link_the_conversation(as_user: Any) -> None:
    client: httpx.AsyncClient = await as_user("lead")
    page = (await client.get("/team")).text
    linked = re.findall(r'href="/team/conversations/(\d+)" data-testid="team-alert-conversation"',
                        page)
    assert linked
    assert (await client.get(f"/team/conversations/{linked[0]}")).status_code == 200


async def test_payee_page_columns(as_user: Any) -> None:
    client: httpx.AsyncClient = await as_user("finance")
    page = (await client.get("/finance/payees")).text
    heads = re.findall(r"<th[^>]*>([^<]+)</th>", page)
    assert len(heads) == len(set(heads)), heads  # no column twice
    assert "员工" in heads
    assert "进行中" not in page
    assert "李娜" in page  # the agent who declared her own receiving QR code
