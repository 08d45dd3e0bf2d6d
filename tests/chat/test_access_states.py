"""The chat sockets' batched credential read (`probity.chat.access.credential_states`) answers
what `probity.auth.sessions.credential_state` answers one credential at a time."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Principal
from probity.chat import access


async def test_credentials_read_together_get_the_answers_read_one_by_one(db: AsyncSession) -> None:
    """`credential_states` (many credentials, two reads) answers exactly what
    `credential_state` answers for each: active or not, session version, token live, revoked,
    expired, expiring, missing."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from probity.auth.sessions import credential_state
    from probity.models import ApiToken, User
    from probity.models.base import utcnow

    session = db
    users = (await session.execute(select(User.id, User.session_version, User.tenant_id)
                                   .order_by(User.id).limit(3))).all()
    assert len(users) == 3
    await session.execute(update(User).where(User.id == users[2].id).values(is_active=False))
    now = utcnow()
    tokens: list[int | None] = [None, 10**9]  # no token; a token id that does not exist
    for n, (uid, *_rest) in enumerate(users[:2]):
        for m, (expires, revoked) in enumerate([
                (None, None), (now + timedelta(days=3), None), (now - timedelta(days=1), None),
                (None, now - timedelta(hours=1))]):
            token = ApiToken(user_id=uid, name="t", prefix="pt_", token_hash=f"{n}{m}" * 16,
                             expires_at=expires, revoked_at=revoked)
            session.add(token)
            await session.flush()
            tokens.append(token.id)
    keys: list[access.CredKey] = [(uid, version + delta, token)
                                  for uid, version, _t in users for delta in (0, 1)
                                  for token in tokens]
    keys.append((10**9, 0, None))  # no such account
    together = await access.credential_states(session, keys)
    one_by_one = {}
    for uid, version, token in keys:
        tenant = next((u.tenant_id for u in users if u.id == uid), 1)
        principal = Principal(user_id=uid, username="u", display_name="", tenant_id=tenant,
                              employee_id=None, customer_id=None, session_version=version,
                              token_id=token)
        one_by_one[(uid, version, token)] = await credential_state(session, principal)
    assert together == one_by_one
    assert {valid for valid, _e in together.values()} == {True, False}
    assert any(expires is not None for _v, expires in together.values())
