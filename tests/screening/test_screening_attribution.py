"""Who did it, refusals for the KPI, conversation context: through the real send path.

A customer's attempt makes an alert and a case about the customer (the agent: recipient; no
penalty can be proposed against them); an agent's own makes one about the agent (initiator);
the agent's refusal of the customer's offer is a refusal row with the offer's seq as its
episode, and the customer's case then names the agent as refuser."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.cases import service as cases
from probity.errors import Conflict
from probity.models import Alert, Case, CaseAlert, Message, Refusal


async def _send(as_user: Any, who: str, conv_id: int, text: str) -> dict[str, Any]:
    c: httpx.AsyncClient = await as_user(who)  # one client: signs in as `who` each time
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages", json={"text": text})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _case_of(db: AsyncSession, alert: Alert) -> Case:
    case = await db.scalar(select(Case).join(CaseAlert, CaseAlert.case_id == Case.id)
                           .where(CaseAlert.alert_id == alert.id))
    assert case is not None
    return case


async def test_subject_agent_part_and_refusal_episodes(as_user: Any, db: AsyncSession) -> None:
    conv_id, _team = await active_conversation(as_user)
    await _send(as_user, "customer", conv_id, "给你发个红包，帮我加急处理一下")
    offer_alert = await db.scalar(select(Alert).where(Alert.conversation_id == conv_id,
                                                      Alert.sender_role == "customer"))
    assert offer_alert is not None
    assert (offer_alert.subject, offer_alert.agent_part) == ("customer", "recipient")
    case = await _case_of(db, offer_alert)
    assert case.subject == "customer" and case.agent_part in ("recipient", "refuser")

    # The agent declines twice: two refusal rows, one offer episode.
    await _send(as_user, "agent", conv_id, "红包我不能收，谢谢您的好意")
    await _send(as_user, "agent", conv_id, "真的不能收，公司有规定，我马上帮您加急")
    offer_seq = await db.scalar(select(Message.seq).where(Message.id == offer_alert.message_id))
    rows = (await db.scalars(select(Refusal).where(Refusal.conversation_id == conv_id)
                             .order_by(Refusal.seq))).all()
    assert len(rows) == 2
    assert {r.refuser_role for r in rows} == {"agent"}
    assert all(r.refuser_employee_id is not None for r in rows)
    assert {r.episode for r in rows} == {offer_seq}
    assert "bribe" in rows[0].declined
    episodes = await db.scalar(select(func.count(func.distinct(Refusal.episode))).where(
        Refusal.conversation_id == conv_id, Refusal.refuser_role == "agent"))
    assert episodes == 1
    await db.refresh(case)
    assert case.agent_part == "refuser"
    # No penalty against the agent on the customer's case.
    hr_principal = await _principal(db, "compliance")
    await cases.transition(db, hr_principal, case.id, "triage")
    await cases.transition(db, hr_principal, case.id, "investigating")
    await cases.transition(db, hr_principal, case.id, "substantiated", reason="offer seen")
    try:
        await cases.transition(db, hr_principal, case.id, "penalty_proposed", penalty="warning")
    except Conflict as exc:
        assert exc.code == "subject_is_customer"
    else:
        raise AssertionError("a penalty against the agent was proposed on a customer's case")

    # The agent's own attempt: an alert and a separate case about the agent.
    await _send(as_user, "agent", conv_id, "加我微信吧，私下聊方便")
    own = await db.scalar(select(Alert).where(Alert.conversation_id == conv_id,
                                              Alert.sender_role == "agent"))
    assert own is not None and (own.subject, own.agent_part) == ("agent", "initiator")
    own_case = await _case_of(db, own)
    assert own_case.id != case.id and own_case.subject == "agent"


async def test_case_page_names_the_subject(as_user: Any, db: AsyncSession) -> None:
    conv_id, _team = await active_conversation(as_user)
    await _send(as_user, "customer", conv_id, "私下转账给你吧，便宜点")
    alert = await db.scalar(select(Alert).where(Alert.conversation_id == conv_id))
    assert alert is not None
    case = await _case_of(db, alert)
    page = await (await as_user("compliance")).get(f"/cases/{case.id}")
    assert page.status_code == 200
    assert 'data-subject="customer"' in page.text
    assert 'data-testid="agent-part"' in page.text


async def test_split_id_and_split_bribe_in_the_send_path(as_user: Any, db: AsyncSession) -> None:
    conv_id, _team = await active_conversation(as_user)
    assert (await _send(as_user, "customer", conv_id, "加个"))["decision"] == "allow"
    split = await _send(as_user, "customer", conv_id, "微信吧")
    assert split["decision"] != "allow"
    assert (await _send(as_user, "customer", conv_id, "给你500块"))["decision"] == "allow"
    bribe = await _send(as_user, "customer", conv_id, "帮我加急处理一下")
    assert bribe["decision"] != "allow"


async def _principal(db: AsyncSession, username: str) -> Any:
    from probity.auth.service import load_principal
    from probity.models import User

    user_id = await db.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    return await load_principal(db, user_id)
