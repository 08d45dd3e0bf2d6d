"""Access decisions of the chat sockets, shared by every socket of the process.

Before acting on a frame, a signed-in socket checks that its credential still stands and, for
an agent, that the agent still holds the conversation (`ws.Connection.still_allowed`). The
database's answers are kept here, per process, so that they do not miss as the sockets
multiply: one credential entry per credential (user, session version, token) — an agent with
40 conversations open reads it once, not 40 times — and one entry per conversation for who
holds it. Both are read for many at once: one `SELECT … WHERE id IN (…)` for every
conversation whose entry was due while the previous read ran, and one (two with tokens) for
every credential (`credential_states`, the same answers as `auth.sessions.credential_state`).

An entry stands until the first of:
* an event that can take access away, seen by any socket of the process as it is delivered
  (`invalidate`, called from each socket's `watch`): the account's sessions ended, a token
  revoked, the conversation assigned or closed, an event-queue overflow;
* a change of the bus's `epoch` (events may have been lost: a dropped Redis connection);
* `recheck_s` (the bound on what a lost event could still allow), or a token's expiry.

Entries are read early, together: each read of the conversations (credentials) that fell due
also reads again every entry in use that is older than half of `recheck_s` (at most
`REFRESH_MAX`), so that a process's conversations and credentials fall due together about once
per period instead of one read each (issue 17: 250 agent sockets made ~25 small reads a second
on the event loop; 60 agents' credentials, 6 sessions a second). An entry is in use when it was
asked for within `USED_PERIODS` × `recheck_s`: a socket keeps its own decision for up to
`recheck_s` and asks again only at its next frame after that, so a socket in use asks a little
*more* than `recheck_s` apart — with a window of one period, most entries looked unused at the
next read and were then read one batch at a time as their sockets asked (2-4 reads a second
with 250 agent sockets at 200 msg/s; one every `recheck_s` in steady state with two periods, by
simulation). Reading early only makes an entry newer.

An event delivered while an entry is being read may postdate what was read: that answer is
then used for the frames that asked, and not kept (per-key generations). A socket never uses
an entry read before it subscribed to its channels (an event published before then was
delivered to nobody in this process, so it invalidated nothing): `since`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from probity.auth.permissions import Principal
from probity.models import ApiToken, Conversation, User
from probity.models.base import utcnow

CredKey = tuple[int, int | None, int | None]
K = TypeVar("K")
V = TypeVar("V")
REFRESH_MAX = 500  # conversations read again early with one read (see the module docstring)
USED_PERIODS = 2.0  # an entry asked for within this many `recheck_s` is in use (ditto)


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    read_at: float  # monotonic: when the read began
    until: float  # monotonic: good until
    epoch: int


def _due_early(entries: Iterable[tuple[K, _Entry]], used: dict[K, float], wanted: Container[K],
               now: float, recheck_s: float, epoch: int) -> list[K]:
    """The keys in use whose entries are older than half of `recheck_s` (at most
    `REFRESH_MAX`): read again with the ones that fell due (the next ones to fall due, read
    together). Forgets in ``used`` what nobody asked about for `USED_PERIODS` × `recheck_s`."""
    half = now - recheck_s / 2
    used_since = now - recheck_s * USED_PERIODS
    out: list[K] = []
    for key, entry in entries:
        if key in wanted or entry.read_at > half or entry.epoch != epoch:
            continue
        if used.get(key, -1.0) < used_since:
            continue  # nobody asked lately: let it lapse
        out.append(key)
        if len(out) >= REFRESH_MAX:
            break
    for key in [k for k, t in used.items() if t < used_since]:
        del used[key]
    return out


def _fail(wanted: dict[K, list[asyncio.Future[V]]], exc: BaseException) -> None:
    for futs in wanted.values():
        for f in futs:
            if not f.done():
                f.set_exception(exc)


class AccessCache:
    """See the module docstring. One per application (`access_cache`)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], bus: Any,
                 recheck_s: float) -> None:
        self.sessionmaker = sessionmaker
        self.bus = bus
        self.recheck_s = recheck_s
        self._creds: dict[int, dict[CredKey, _Entry]] = {}
        self._agents: dict[int, _Entry] = {}
        self._user_gen: dict[int, int] = {}
        self._conv_gen: dict[int, int] = {}
        self._cred_wanted: dict[CredKey, list[asyncio.Future[_Entry]]] = {}
        self._cred_loader: asyncio.Task[None] | None = None
        self._cred_used: dict[CredKey, float] = {}  # credential → when last asked
        self._conv_wanted: dict[int, list[asyncio.Future[int | None]]] = {}
        self._conv_loader: asyncio.Task[None] | None = None
        self._conv_used: dict[int, float] = {}  # conversation → when its entry was last asked
        self.reads = 0  # database reads so far (tests, benchmarks)

    # --- invalidation -------------------------------------------------------------------
    def invalidate(self, user_id: int | None, conv_id: int | None) -> None:
        if user_id is not None:
            self._user_gen[user_id] = self._user_gen.get(user_id, 0) + 1
            self._creds.pop(user_id, None)
        if conv_id is not None:
            self._conv_gen[conv_id] = self._conv_gen.get(conv_id, 0) + 1
            self._agents.pop(conv_id, None)

    def _usable(self, entry: _Entry | None, now: float, since: float) -> bool:
        return (entry is not None and now < entry.until and entry.read_at >= since
                and entry.epoch == self.bus.epoch)

    # --- the check ----------------------------------------------------------------------
    async def check(self, principal: Principal, conv_id: int | None, since: float
                    ) -> tuple[bool, float]:
        """(allowed, good until: monotonic). ``conv_id``: check that ``principal`` holds
        it (agents); None: the credential alone."""
        now = time.monotonic()
        cred = await self._credential(principal, now, since)
        if not cred.value:
            return False, 0.0
        until = cred.until
        if conv_id is not None:
            self._conv_used[conv_id] = now
            entry = self._agents.get(conv_id)
            if self._usable(entry, now, since):
                assert entry is not None
                agent, agent_until = entry.value, entry.until
            else:
                agent, agent_until = await self._conv_agent(conv_id), now + self.recheck_s
            if agent != principal.user_id:
                return False, 0.0
            until = min(until, agent_until)
        return True, until

    async def _credential(self, principal: Principal, now: float, since: float) -> _Entry:
        key: CredKey = (principal.user_id, principal.session_version, principal.token_id)
        self._cred_used[key] = now
        entry = self._creds.get(principal.user_id, {}).get(key)
        if self._usable(entry, now, since):
            assert entry is not None
            return entry
        # Read with every other credential due meanwhile (a read that begins after this
        # call: never one that began before the socket subscribed).
        fut: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._cred_wanted.setdefault(key, []).append(fut)
        if self._cred_loader is None or self._cred_loader.done():
            self._cred_loader = asyncio.create_task(self._load_creds())
        return await fut

    async def _load_creds(self) -> None:
        while self._cred_wanted:
            wanted, self._cred_wanted = self._cred_wanted, {}
            epoch, read_at = self.bus.epoch, time.monotonic()
            for key in _due_early(((k, e) for entries in self._creds.values()
                                   for k, e in entries.items()),
                                  self._cred_used, wanted, read_at, self.recheck_s, epoch):
                wanted[key] = []
            gens = {key[0]: self._user_gen.get(key[0], 0) for key in wanted}
            try:
                self.reads += 1
                async with self.sessionmaker() as session:
                    states = await credential_states(session, list(wanted))
            except Exception as exc:
                _fail(wanted, exc)
                continue
            wall = utcnow()
            for key, futs in wanted.items():
                valid, expires = states[key]
                until = read_at + self.recheck_s
                if expires is not None:
                    until = min(until, read_at + (expires - wall).total_seconds())
                entry = _Entry(valid, read_at, until, epoch)
                if valid and gens[key[0]] == self._user_gen.get(key[0], 0):
                    self._creds.setdefault(key[0], {})[key] = entry
                for f in futs:
                    if not f.done():
                        f.set_result(entry)

    def holder_mark(self, conv_id: int) -> tuple[int, int, float]:
        """Taken just before a read of the conversation's holder whose answer is to be passed
        to `holder_read`: the conversation's invalidations so far, the bus's epoch, and when
        the read begins (monotonic)."""
        return self._conv_gen.get(conv_id, 0), self.bus.epoch, time.monotonic()

    def holder_read(self, conv_id: int, agent_user_id: int | None,
                    mark: tuple[int, int, float]) -> None:
        """Who holds the conversation as a read that began at ``mark`` found — a socket's
        own read of the conversation as it opens, after it subscribed — kept like an answer
        of `_read_agents`, so that the socket's first frame does not start a read of its own
        (at 200 msg/s the agents' first frames made most of the holder reads of a
        benchmark's first 20 s: one read each, ~15 a second). Not kept when an event that
        could take access away was delivered since the mark, or a newer answer is kept."""
        generation, epoch, read_at = mark
        if generation != self._conv_gen.get(conv_id, 0):
            return
        entry = self._agents.get(conv_id)
        if entry is not None and entry.read_at >= read_at and entry.epoch == epoch:
            return
        self._agents[conv_id] = _Entry(agent_user_id, read_at, read_at + self.recheck_s, epoch)

    async def _conv_agent(self, conv_id: int) -> int | None:
        """Who holds the conversation, read with every other conversation due meanwhile."""
        fut: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._conv_wanted.setdefault(conv_id, []).append(fut)
        if self._conv_loader is None or self._conv_loader.done():
            self._conv_loader = asyncio.create_task(self._load_convs())
        return await fut

    async def _load_convs(self) -> None:
        while self._conv_wanted:
            wanted, self._conv_wanted = self._conv_wanted, {}
            epoch, read_at = self.bus.epoch, time.monotonic()
            for conv_id in _due_early(self._agents.items(), self._conv_used, wanted, read_at,
                                      self.recheck_s, epoch):
                wanted[conv_id] = []
            gens = {c: self._conv_gen.get(c, 0) for c in wanted}
            try:
                self.reads += 1
                rows = await self._read_agents(sorted(wanted))
            except Exception as exc:
                _fail(wanted, exc)
                continue
            for conv_id, futs in wanted.items():
                agent = rows.get(conv_id)
                if gens[conv_id] == self._conv_gen.get(conv_id, 0):
                    self._agents[conv_id] = _Entry(agent, read_at, read_at + self.recheck_s,
                                                   epoch)
                for f in futs:
                    if not f.done():
                        f.set_result(agent)


    async def _read_agents(self, conv_ids: list[int]) -> dict[int, int | None]:
        """Who holds each conversation: a Core read on a connection of the sessions' engine
        (no ORM session or ORM compile on the event loop for a two-column read: issue 17),
        through a session when the sessions are bound otherwise."""
        stmt = select(_CONVS.c.id, _CONVS.c.agent_user_id).where(_CONVS.c.id.in_(conv_ids))
        bind = getattr(self.sessionmaker, "kw", {}).get("bind")
        if isinstance(bind, AsyncEngine):
            async with bind.connect() as conn:
                return dict((await conn.execute(stmt)).tuples().all())
        async with self.sessionmaker() as session:
            return dict((await session.execute(stmt)).tuples().all())


_CONVS = Conversation.__table__


async def credential_states(session: AsyncSession, keys: list[CredKey]
                            ) -> dict[CredKey, tuple[bool, datetime | None]]:
    """`probity.auth.sessions.credential_state` for many credentials (user id, session
    version, token id) in two reads at most: the same answers (tests/chat/test_access.py
    compares them) — the account active and, for a cookie session, its version unchanged; for
    a token, not revoked or expired, and its expiry."""
    user_ids = sorted({key[0] for key in keys})
    users: dict[int, tuple[bool, int]] = {
        uid: (bool(active), version) for uid, active, version in (await session.execute(
            select(User.id, User.is_active, User.session_version)
            .where(User.id.in_(user_ids))))}
    token_ids = sorted({key[2] for key in keys
                        if key[2] is not None and users.get(key[0], (False, 0))[0]})
    tokens: dict[int, tuple[datetime | None, datetime | None]] = {}
    if token_ids:
        tokens = {tid: (revoked, expires) for tid, revoked, expires in (await session.execute(
            select(ApiToken.id, ApiToken.revoked_at, ApiToken.expires_at)
            .where(ApiToken.id.in_(token_ids))))}
    now = utcnow()
    out: dict[CredKey, tuple[bool, datetime | None]] = {}
    for key in keys:
        user_id, version, token_id = key
        user = users.get(user_id)
        if user is None or not user[0]:
            out[key] = (False, None)
        elif token_id is not None:
            token = tokens.get(token_id)
            ok = token is not None and token[0] is None and (token[1] is None or token[1] > now)
            out[key] = (ok, token[1] if ok and token is not None else None)
        else:
            out[key] = (user[1] == version, None)
    return out


def access_cache(app: Any, bus: Any) -> AccessCache:
    """The application's `AccessCache` (made on first use)."""
    cache: AccessCache | None = getattr(app.state, "chat_access", None)
    if cache is None or cache.bus is not bus:
        cache = AccessCache(app.state.db.sessionmaker, bus,
                            float(app.state.settings.chat_access_recheck_s))
        app.state.chat_access = cache
    return cache
