"""Conversation context: screen a message together with the last few of its conversation.

One `ConversationContext` per conversation holds its last turns (text, role, what screening
found). `screen` runs the message alone first; when that allows it, three context checks
follow, each cheap (the joined text is a few hundred characters through the same fast path):

1. **the sender's recent messages joined** with this one: an ID or number handed out over
   several messages ("我v是" / "abc" / "123456"), a bribe split across turns ("给你500" /
   "帮我加急"). Only a hit that reaches into *this* message counts (an older message was
   screened on its own already);
2. **a reference to an earlier request** ("same number as before", "还是那个号", "码发我")
   while an earlier turn of either party was about contact or payment;
3. **a conversation-level risk score**: each allowed message adds its risk (low-severity
   hits, the learned layer's probability), decaying by `decay` per turn; when the total
   crosses `threshold`, the message is warned and alerted even though no single message was.

Where contexts live is a `ContextStore`: `MemoryContextStore` (this process, the most
recently active conversations) or `RedisContextStore` (shared by every app process, so a
conversation served by two processes, or after a restart, keeps its context). The chat send
path picks Redis when `PROBITY_REDIS_URL` is set (chat/screening.py). A context never holds more
than `max_turns` turns.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import secrets
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import orjson

from probity.screening.engine import screen_message
from probity.screening.policy import CompiledPolicy
from probity.screening.result import ScreeningResult, Span

FLAGGED: Final = ("contact", "bribe", "payment")
_REFERENCE: Final = re.compile(
    r"(?:还是|就是|跟|和|同)(?:之前|上次|刚才|前面|上面|原来)?(?:那个|一样的?)(?:号|号码|账号|微信|码|卡|账户)?"
    r"|(?:之前|上次|刚才|前面|上面|原来)(?:说的|发的|给的|那个)(?:号|号码|账号|微信|码|卡|账户|方式)"
    r"|老(?:号码|地方|方式|规矩)|(?:码|二维码|名片|号)(?:发|给)(?:我|过来)"
    r"|same (?:number|account|id|one|as before)"
    r"|(?:the )?(?:number|account|id) (?:i|you) (?:gave|sent)"
    r"|as before|like last time|(?:send|give) me (?:your|the) (?:code|qr|id)",
    re.I,
)


@dataclass(slots=True)
class Turn:
    """One message as the context remembers it."""

    role: str
    text: str
    flagged: bool
    categories: tuple[str, ...]
    risk: float
    seq: int | None = None  # set once stored (for refusal episodes)
    blocked: bool = False
    tid: str = ""  # identifies the turn in a shared store (to record its seq later)

    def to_list(self) -> list[Any]:
        return [self.role, self.text, self.flagged, list(self.categories), self.risk,
                self.seq, self.blocked, self.tid]

    @classmethod
    def from_list(cls, v: list[Any]) -> Turn:
        return cls(str(v[0]), str(v[1]), bool(v[2]), tuple(str(c) for c in v[3]),
                   float(v[4]), None if v[5] is None else int(v[5]), bool(v[6]), str(v[7]))


@dataclass(slots=True)
class ContextVerdict:
    """The result for this message, and what the context contributed."""

    result: ScreeningResult
    turn: Turn
    reason: str | None = None  # joined | reference | risk (None: the message alone decided)
    offer: Turn | None = None  # the other party's latest offer/request (refusal episodes)


@dataclass
class ConversationContext:
    max_turns: int = 6
    join_turns: int = 3
    threshold: float = 1.6
    decay: float = 0.7
    turns: deque[Turn] = field(default_factory=deque)
    risk: float = 0.0

    def screen(self, text: str, role: str, policy: CompiledPolicy) -> ContextVerdict:
        res = screen_message(text, role, policy)
        reason: str | None = None
        model_only = res.decision != "allow" and res.source == "model"
        if ((res.decision == "allow" or model_only) and "refusal" not in res.categories
                and self.turns):
            # A message flagged by the learned layer alone may complete what the sender's
            # earlier turns started: the rules' joined finding (spans, severity) says more.
            joined = self._joined(text, role, policy)
            if joined is not None and _RANK.get(joined.decision, 0) >= _RANK.get(
                    res.decision, 0):
                res, reason = joined, "joined"
            elif model_only:
                pass
            elif _REFERENCE.search(text) is not None:
                earlier = [c for t in self.turns for c in t.categories if c in FLAGGED]
                if earlier:
                    res = _context_result(res, earlier[-1], "context:reference", 2, policy)
                    reason = "reference"
        risk = 0.0 if res.decision != "allow" else _risk_of(res)
        self.risk = self.risk * self.decay + risk
        if reason is None and res.decision == "allow" and self.risk >= self.threshold:
            top = _top_category(self.turns, res)
            res = _context_result(res, top, "context:risk", 2, policy)
            reason = "risk"
            self.risk = 0.0
        offer = self.offer_for(role)
        cats = res.categories
        turn = Turn(role, text, res.decision != "allow",
                    tuple(c for c in cats if c != "refusal") if "refusal" in cats
                    else tuple(cats), risk,
                    blocked=res.decision == "block", tid=_turn_id())
        turns = self.turns
        turns.append(turn)
        while len(turns) > self.max_turns:
            turns.popleft()
        return ContextVerdict(res, turn, reason, offer)

    def to_json(self) -> str:
        # orjson: the same compact UTF-8 JSON as json.dumps(ensure_ascii=False), in C.
        return orjson.dumps({"v": 1, "risk": self.risk,
                             "turns": [t.to_list() for t in self.turns]}).decode()

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> ConversationContext:
        """A context from its stored state; an empty one for nothing or unreadable state."""
        ctx = cls()
        if not raw:
            return ctx
        try:
            state = orjson.loads(raw)
            ctx.risk = float(state.get("risk", 0.0))
            ctx.turns = deque(Turn.from_list(v) for v in state.get("turns", [])[-ctx.max_turns:])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return cls()
        return ctx

    def offer_for(self, role: str) -> Turn | None:
        """The other party's latest flagged or risky turn: what a refusal by `role` declines."""
        for t in reversed(self.turns):
            if t.role != role and (t.flagged or t.categories or t.risk >= 0.5):
                return t
        return None

    def _joined(self, text: str, role: str, policy: CompiledPolicy) -> ScreeningResult | None:
        own: list[Turn] = []
        for t in reversed(self.turns):  # the sender's latest turns since their last flagged one
            if t.role != role:
                continue
            if t.blocked or len(own) >= self.join_turns:
                break  # a blocked message never reached the other side: nothing to complete
            own.insert(0, t)
        if not own:
            return None
        prefix = "".join([t.text for t in own])
        if len(prefix) > 400:
            prefix = prefix[-400:]
        joined = prefix + text
        jr = screen_message(joined, role, policy)
        if jr.decision == "allow":
            return None
        off = len(prefix)
        spans = [Span(max(0, s.start - off), s.end - off, s.category, "context:" + s.rule,
                      s.severity) for s in jr.spans if s.end > off]
        if not any(s.category in FLAGGED for s in spans):
            # Nothing found inside this message: it counts only when it completed what the
            # earlier messages started (they are allowed without it).
            if screen_message(prefix, role, policy).decision != "allow":
                return None
            spans = [Span(0, len(text), c, "context:joined", jr.severity)
                     for c in jr.categories if c in FLAGGED]
        return ScreeningResult(jr.decision, list(jr.categories), jr.severity, spans,
                               _mask(text, spans), jr.policy_version, jr.model_scores,
                               jr.drivers, "context")


_RANK: Final = {"allow": 0, "warn": 1, "block": 2}


def _rank(decision: str) -> int:
    return _RANK.get(decision, 0)


# A turn's id: unique across processes (a random prefix per import, the process id: a forked
# worker shares the prefix, not the pid) without a system call per message (secrets.token_hex
# read the OS's random source for every turn).
_TID_PREFIX: Final = secrets.token_hex(4)
_tids = itertools.count(1)


def _turn_id() -> str:
    return f"{_TID_PREFIX}{os.getpid():x}.{next(_tids):x}"


def _risk_of(res: ScreeningResult) -> float:
    # Loops, not generators (once per allowed message): the same sums in the same order.
    n = 0
    for s in res.spans:
        if s.category in FLAGGED and s.severity <= 1:
            n += 1
    risk = 0.4 * n
    scores = getattr(res, "model_scores", None) or {}
    best = float(scores.get(FLAGGED[0], 0.0))
    for c in FLAGGED[1:]:
        v = float(scores.get(c, 0.0))
        if v > best:
            best = v
    risk += best
    return risk if risk >= 0.25 else 0.0


def _top_category(turns: deque[Turn], res: ScreeningResult) -> str:
    scores = getattr(res, "model_scores", None) or {}
    best = max(FLAGGED, key=lambda c: float(scores.get(c, 0.0)))
    for t in reversed(turns):
        for c in t.categories:
            if c in FLAGGED:
                return c
    return best


def _context_result(res: ScreeningResult, category: str, rule: str, severity: int,
                    policy: CompiledPolicy) -> ScreeningResult:
    action = "warn" if severity >= policy.warn_at else "allow"
    spans = [*res.spans, Span(0, 0, category, rule, severity)]
    cats = [category, *(c for c in res.categories if c != category)]
    return ScreeningResult(action, cats, severity, spans, res.masked, res.policy_version,
                           res.model_scores, res.drivers, "context")


def _mask(text: str, spans: list[Span]) -> str:
    chars = list(text)
    for s in spans:
        if s.category in FLAGGED:
            for i in range(max(0, s.start), min(len(chars), s.end)):
                chars[i] = "*"
    return "".join(chars)


class ContextStore(Protocol):
    """Where conversation contexts live (one per conversation id)."""

    def screen(self, conv_id: int, text: str, role: str, policy: CompiledPolicy
               ) -> ContextVerdict:
        """Screen ``text`` with the conversation's context and record it as a turn."""

    async def ascreen(self, conv_id: int, text: str, role: str, policy: CompiledPolicy
                      ) -> ContextVerdict:
        """`screen` for a caller on an event loop: a shared store's round trips do not block
        the loop."""

    def remember_seq(self, conv_id: int, turn: Turn, seq: int) -> None:
        """The stored message's seq for its turn (refusal episodes name the offer's seq)."""

    def forget(self) -> None:
        """Drop every context (tests)."""


def _raw(value: object) -> bytes | str | None:
    return value if isinstance(value, (bytes, str)) else None


class MemoryContextStore:
    """Contexts in this process, for the `max_contexts` most recently active conversations."""

    def __init__(self, max_contexts: int = 20_000) -> None:
        self.max_contexts = max_contexts
        self._contexts: OrderedDict[int, ConversationContext] = OrderedDict()
        self._lock = threading.Lock()

    def context(self, conv_id: int) -> ConversationContext:
        with self._lock:
            ctx = self._contexts.get(conv_id)
            if ctx is None:
                ctx = self._contexts[conv_id] = ConversationContext()
                if len(self._contexts) > self.max_contexts:
                    self._contexts.popitem(last=False)
            else:
                self._contexts.move_to_end(conv_id)
            return ctx

    def screen(self, conv_id: int, text: str, role: str, policy: CompiledPolicy
               ) -> ContextVerdict:
        return self.context(conv_id).screen(text, role, policy)

    async def ascreen(self, conv_id: int, text: str, role: str, policy: CompiledPolicy
                      ) -> ContextVerdict:
        return self.context(conv_id).screen(text, role, policy)

    def remember_seq(self, conv_id: int, turn: Turn, seq: int) -> None:
        turn.seq = seq  # the context holds this very object

    def forget(self) -> None:
        with self._lock:
            self._contexts.clear()


_LOG = logging.getLogger("probity.screening")


# Compare-and-set: KEYS[1] := ARGV[2] (expiring in ARGV[3] s) if it still holds ARGV[1] ('' =
# absent); answers 1, or else what it holds now ('' when absent).
_CAS: Final = """
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
if cur == false then return '' end
return cur
"""
_CAS_SHA: Final = hashlib.sha1(_CAS.encode()).hexdigest().encode()  # Redis names scripts by it


class RedisContextStore:
    """Contexts in Redis, shared by every process: one key per conversation holding its last
    turns and risk (JSON), expiring after `ttl_s` without a message.

    A message is screened inside an optimistic transaction (WATCH the key, read, screen, write
    in MULTI/EXEC): two processes screening messages of the same conversation at once never
    lose a turn; the loser re-reads and screens again. When Redis cannot be reached, the
    message is screened with this process's memory context instead (logged), never refused.
    """

    MAX_SEEN = 20_000  # conversations whose last seen state `ascreen` keeps

    def __init__(self, url: str, prefix: str = "probity", ttl_s: int = 7 * 24 * 3600,
                 client: Any = None) -> None:
        import redis

        from probity.resp import RedisReplyError

        self.url = url
        self.prefix = f"{prefix}:screening:ctx:"
        self.ttl_s = ttl_s
        self._redis = client if client is not None else redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._errors = (redis.RedisError, OSError, RedisReplyError)
        self._watch_error = redis.WatchError
        self._fallback = MemoryContextStore()
        self._warned = False
        self._aredis: Any = None
        self._aloop: Any = None
        # key → the state this process last read or wrote there (`ascreen`), its context
        # parsed, and whether another process wrote there too; the CAS finds out when another
        # process (or `remember_seq`) wrote since.
        self._seen: dict[str, tuple[bytes, ConversationContext, bool]] = {}

    def key(self, conv_id: int) -> str:
        return f"{self.prefix}{conv_id}"

    def screen(self, conv_id: int, text: str, role: str, policy: CompiledPolicy
               ) -> ContextVerdict:
        key = self.key(conv_id)
        try:
            with self._redis.pipeline() as pipe:
                for _attempt in range(8):
                    try:
                        pipe.watch(key)
                        ctx = ConversationContext.from_json(_raw(pipe.get(key)))
                        verdict = ctx.screen(text, role, policy)
                        pipe.multi()
                        pipe.set(key, ctx.to_json(), ex=self.ttl_s)
                        pipe.execute()
                        return verdict
                    except self._watch_error:
                        continue  # another process wrote this conversation meanwhile: again
                # Contended beyond reason: screen with the latest state, write last-wins.
                ctx = ConversationContext.from_json(self._redis.get(key))
                verdict = ctx.screen(text, role, policy)
                self._redis.set(key, ctx.to_json(), ex=self.ttl_s)
                return verdict
        except self._errors as exc:
            self._unavailable(exc)
            return self._fallback.screen(conv_id, text, role, policy)

    async def ascreen(self, conv_id: int, text: str, role: str, policy: CompiledPolicy
                      ) -> ContextVerdict:
        """`screen` on the event loop, through the asyncio client: the loop serves other
        sockets while Redis answers (with the blocking client it waited, ~4 ms per message
        measured on the loaded machine). No WATCH: screen with the state last seen, then a
        compare-and-set script writes the new state only if the key still holds what was seen;
        if not, it answers with what it holds now, and the message is screened again with that
        (so two processes never lose a turn, as with `screen`'s transaction).

        The state this process last read or wrote for a conversation is kept (`_seen`, the
        `MAX_SEEN` most recent): when no other process wrote the conversation since — its
        sockets on this process, or the other side silent — a message costs ONE round trip
        (the compare-and-set), not a read first and then the write (issue 17: two processes
        spent ~0.3 ms of CPU per message on the two round trips through redis-py)."""
        key = self.key(conv_id)
        try:
            client = self._async_client()
            # The state last seen, and its context already parsed (screening changes the
            # context: it is used once, and kept again only with the state it then wrote).
            # A conversation another process writes too (its two sockets on two processes:
            # the last compare-and-set found someone else's state) is read first: screening
            # with the state last seen there would mostly be done twice.
            seen_raw, ctx, shared = self._seen.pop(key, (None, None, False))
            raw: bytes
            if seen_raw is None or shared:
                raw = await client.get(key) or b""
                if raw == seen_raw:  # nobody else wrote since: what was seen stands
                    shared = False
                else:
                    ctx = None
            else:
                raw = seen_raw
            for _attempt in range(8):
                if ctx is None:
                    ctx = ConversationContext.from_json(raw or None)
                verdict = ctx.screen(text, role, policy)
                new = ctx.to_json().encode()
                got = await self._compare_and_set(client, key, raw, new)
                if got == 1:
                    self._remember(key, new, ctx, shared)
                    return verdict
                raw = got if isinstance(got, bytes) else str(got or "").encode()
                ctx, shared = None, True
            # Contended beyond reason: screen with the latest state, write last-wins.
            ctx = ConversationContext.from_json(raw or None)
            verdict = ctx.screen(text, role, policy)
            await client.call(b"SET", key.encode(), ctx.to_json().encode(), b"EX",
                              str(self.ttl_s).encode())
            return verdict
        except self._errors as exc:
            self._unavailable(exc)
            return self._fallback.screen(conv_id, text, role, policy)

    async def _compare_and_set(self, client: Any, key: str, raw: bytes, new: bytes) -> Any:
        from probity.resp import RedisReplyError

        args = (key.encode(), raw, new, str(self.ttl_s).encode())
        try:
            return await client.call(b"EVALSHA", _CAS_SHA, b"1", *args)
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            return await client.call(b"EVAL", _CAS.encode(), b"1", *args)

    def _remember(self, key: str, raw: bytes, ctx: ConversationContext, shared: bool) -> None:
        seen = self._seen
        seen[key] = (raw, ctx, shared)  # popped when used: the most recent are last
        if len(seen) > self.MAX_SEEN:
            del seen[next(iter(seen))]

    def _async_client(self) -> Any:
        """The asyncio client of the running loop (`probity.resp`: one pipelined connection,
        bound to the loop it first ran on; ~0.1 ms of CPU less per command than redis-py's)."""
        import asyncio

        from probity.resp import RespClient

        loop = asyncio.get_running_loop()
        if self._aloop is not loop or self._aredis is None:
            self._aredis = RespClient(self.url, timeout=0.5)
            self._aloop = loop
        return self._aredis

    def remember_seq(self, conv_id: int, turn: Turn, seq: int) -> None:
        turn.seq = seq
        if not (turn.flagged or turn.categories or turn.risk >= 0.5):
            return  # only a possible offer is ever looked up by its seq
        key = self.key(conv_id)
        try:
            with self._redis.pipeline() as pipe:
                for _attempt in range(8):
                    try:
                        pipe.watch(key)
                        raw = _raw(pipe.get(key))
                        if not raw:
                            return
                        ctx = ConversationContext.from_json(raw)
                        for t in ctx.turns:
                            if t.tid == turn.tid:
                                t.seq = seq
                                break
                        else:
                            return
                        pipe.multi()
                        pipe.set(key, ctx.to_json(), keepttl=True)
                        pipe.execute()
                        return
                    except self._watch_error:
                        continue
        except self._errors as exc:
            self._unavailable(exc)

    def forget(self) -> None:
        self._fallback.forget()
        self._seen.clear()
        try:
            keys = list(self._redis.scan_iter(match=self.prefix + "*", count=500))
            if keys:
                self._redis.delete(*keys)
        except self._errors as exc:
            self._unavailable(exc)

    def _unavailable(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            _LOG.warning("conversation context: Redis unavailable (%s); using this process's "
                         "memory until it is back", exc)
