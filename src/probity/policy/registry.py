"""Compiled screening policies per tenant, for the send path.

Compiling happens once per effective policy (the chain of overlay versions), in a worker
thread, and the result is shared by every tenant with the same chain. Lookups re-check the
database for a newer chain at most every `RECHECK_S` seconds per tenant; a change made in this
process invalidates at once (after commit), other processes pick it up within `RECHECK_S`.
Screening never waits for a compile of a *new* version: until it is ready, the previous
compiled policy keeps serving (atomic swap).
"""

from __future__ import annotations

import asyncio
import functools
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from probity.policy.service import PolicyChain, effective_spec, policy_chain
from probity.screening import CompiledPolicy, compile_policy, default_policy

RECHECK_S = 5.0

_chains: dict[int, tuple[tuple[int, ...], float]] = {}
_compiled: dict[tuple[int, ...], CompiledPolicy] = {}
_compiling: dict[tuple[int, ...], asyncio.Task[CompiledPolicy]] = {}
_serving: dict[int, CompiledPolicy] = {}


async def _compile(chain: PolicyChain) -> CompiledPolicy:
    if not chain.versions:
        return await asyncio.to_thread(default_policy)  # compiled once per process
    spec = effective_spec(chain)
    return await asyncio.to_thread(compile_policy, spec)


def fresh(tenant_id: int) -> CompiledPolicy | None:
    """The cached policy when it was checked within RECHECK_S (no database needed)."""
    cached = _chains.get(tenant_id)
    if cached is not None and time.monotonic() - cached[1] < RECHECK_S:
        return _compiled.get(cached[0])
    return None


async def policy_for_tenant(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int
                            ) -> CompiledPolicy:
    """For callers without a session (the WebSocket send path): a short read-only session only
    when the cache is due for a re-check, i.e. at most every RECHECK_S per tenant.

    One re-check per tenant at a time: the message that finds the cache due waits for it (as
    before); messages arriving while it runs are screened with the policy serving until then
    (as while a new version compiles) instead of each starting a re-check of its own — under
    load, every message of the re-check's duration read the chain again on the event loop."""
    policy = fresh(tenant_id)
    if policy is not None:
        return policy
    running = _rechecking.get(tenant_id)
    if running is not None:
        serving = _serving.get(tenant_id)
        if serving is not None:
            return serving
        return await asyncio.shield(running)
    task = asyncio.ensure_future(_recheck(sessionmaker, tenant_id, _changes))
    _rechecking[tenant_id] = task
    task.add_done_callback(functools.partial(_rechecked, tenant_id))
    return await asyncio.shield(task)


_rechecking: dict[int, asyncio.Future[CompiledPolicy]] = {}


_changes = 0  # policy_changed calls so far


async def _recheck(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int,
                   changes: int) -> CompiledPolicy:
    async with sessionmaker() as session:
        policy = await policy_for(session, tenant_id)
    if changes != _changes:  # a change committed meanwhile: what was read may predate it
        _chains.pop(tenant_id, None)
    return policy


def _rechecked(tenant_id: int, task: asyncio.Future[CompiledPolicy]) -> None:
    if _rechecking.get(tenant_id) is task:
        del _rechecking[tenant_id]
    if not task.cancelled():
        task.exception()  # retrieved: a waiter re-raises it


async def policy_for(session: AsyncSession, tenant_id: int, *, wait: bool = False
                     ) -> CompiledPolicy:
    """The compiled policy that screens messages of `tenant_id` now."""
    cached = fresh(tenant_id)
    if cached is not None:
        return cached
    now = time.monotonic()
    chain = await policy_chain(session, tenant_id)
    key = chain.key
    _chains[tenant_id] = (key, now)
    if key in _compiled:
        _serving[tenant_id] = _compiled[key]
        return _compiled[key]
    task = _compiling.get(key)
    if task is None:
        task = asyncio.ensure_future(_compile(chain))
        _compiling[key] = task
        task.add_done_callback(functools.partial(_finish, key))
    previous = _serving.get(tenant_id)
    if previous is not None and not wait:
        return previous  # keep screening with the last version while the new one compiles
    compiled = await asyncio.shield(task)
    _serving[tenant_id] = compiled
    return compiled


def _finish(key: tuple[int, ...], task: asyncio.Task[CompiledPolicy]) -> None:
    _compiling.pop(key, None)
    if not task.cancelled() and task.exception() is None:
        _compiled[key] = task.result()


async def policy_changed(tenant_id: int) -> None:
    """Forget the cached chains so the next message re-reads them (descendants included)."""
    global _changes
    _changes += 1
    _rechecking.clear()
    _chains.clear()


def reset() -> None:
    """For tests."""
    _rechecking.clear()
    _chains.clear()
    _compiled.clear()
    _serving.clear()
