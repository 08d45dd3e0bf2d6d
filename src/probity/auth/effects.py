"""The request's transaction and its side effects: effects queued with `after_commit` run only
once `commit` has committed, never on rollback. (Kept apart from `deps` so services import it
without pulling in the web layer.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

AFTER_COMMIT = "after_commit"


def after_commit(session: AsyncSession, effect: Callable[[], Awaitable[None]]) -> None:
    """Queue a side effect (event, notification, job) to run only once the transaction commits."""
    session.info.setdefault(AFTER_COMMIT, []).append(effect)


async def commit(session: AsyncSession) -> None:
    """Commit the request's transaction, then run the side effects queued during it."""
    effects: list[Callable[[], Awaitable[None]]] = session.info.pop(AFTER_COMMIT, [])
    await session.commit()
    for effect in effects:
        await effect()
