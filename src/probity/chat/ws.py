"""WebSocket endpoints of the chat channel.

Protocol (JSON text frames) on /ws/chat/{conversation_id}?after=<seq>[&token=<guest token>]
[&reason=<why>] (staff who are not participants: the read is access-logged, with the reason where
their role must give one; without it an error frame ``reason_required`` and close 4422):

server → client
  {"type": "hello", "role": ..., "conversation": {...}}       once, after the socket is accepted
  {"type": "message", "seq": n, ...}                           backlog (seq > after), then live
        (a connection is not sent back its own sends: their ack carries the message)
  {"type": "synced", "seq": n}                                 the backlog is complete
  {"type": "ack", "client_id": ..., "seq": n, "decision": ..., "duplicate": bool, "message": {...}}
        sent only after the message is committed; a blocked message is acked with
        "decision": "block" and a "notice", and is never delivered to the other side
  {"type": "receipt", "by": "customer"|"agent", "delivered": n, "read": n}
        the other side's receipts (a participant is not sent its own side's; supervisors: both)
  {"type": "recalled", "seq": n}   {"type": "assigned", ...}   {"type": "closed"}
  {"type": "resync"}               the client fell behind: reconnect with after=<last seq>
  {"type": "error", "code": ..., "message": ..., "client_id": ...}   {"type": "pong"}
        malformed frames get codes binary_frame, invalid_json, frame_too_large, frame_too_deep,
        invalid_frame, invalid_seq and the socket stays open; session_ended (logout, password
        change, offboarding, a revoked token — re-checked before each frame) closes it with 4401
client → server
  {"type": "send", "client_id": "<unique>", "text": "..."}   (client_id makes resends idempotent)
  {"type": "delivered", "seq": n}   {"type": "read", "seq": n}   {"type": "recall", "seq": n}
  {"type": "ping"}

A reconnecting client passes the highest seq it holds as `after`: it gets exactly the messages
after it (the subscription is opened before the backlog is read, and live events at or below the
last backlog seq are dropped), so nothing is lost or duplicated.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Message, Receive, Send
from starlette.websockets import WebSocketState

from probity.auth.deps import commit, cookie_principal
from probity.auth.permissions import Perm, Principal
from probity.auth.service import principal_from_token
from probity.auth.sessions import (
    SESSION_ENDED,
    TOKEN_REVOKED,
    still_valid,
    user_channel,
)
from probity.chat import routing
from probity.chat.access import access_cache
from probity.chat.conversations import (
    Participant,
    history,
    official_reminder,
    participant_for,
    recall_message,
    record_read,
)
from probity.chat.screening import warm_screener_in_background
from probity.chat.send import find_resent, prepare_send
from probity.chat.store import Receipt
from probity.chat.wire import (
    ack_notices,
    agent_channel,
    conv_channel,
    message_view,
    row_of,
)
from probity.chat.writer import MessageWriter, resume_started, writer_for
from probity.errors import Conflict, DomainError, InvalidInput
from probity.events import OVERFLOW, QUEUE_SIZE, Event, Subscription, get_bus
from probity.ledger.access import MAX_REASON, AccessGate
from probity.middleware import RAW_ASGI
from probity.models import Conversation, ConversationStatus
from probity.monitoring.enforce import policy_for_sender
from probity.policy.registry import policy_for_tenant

router = APIRouter()
log = logging.getLogger("probity.chat.ws")


@contextlib.asynccontextmanager
async def ws_session(app: Any) -> AsyncIterator[AsyncSession]:
    """A short-lived session per operation: a socket never pins a database connection."""
    async with app.state.db.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


def message_writer(app: Any) -> MessageWriter:
    """The process's group-commit writer for the app's database (see `MessageWriter`)."""
    return writer_for(app.state.db.engine)


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if not origin:
        return True  # not a browser
    return urlsplit(origin).netloc == websocket.headers.get("host")


async def ws_principal(websocket: WebSocket, session: AsyncSession) -> Principal | None:
    auth = websocket.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return await principal_from_token(session, auth[7:].strip())
    # Cookie-authenticated sockets must come from our own pages (no cross-site hijacking).
    if "session" in websocket.scope and _same_origin(websocket):
        return await cookie_principal(session, websocket.session)
    return None


def conversation_state(conv: Conversation, agent_name: str | None) -> dict[str, Any]:
    return {"id": conv.id, "status": conv.status.value, "last_seq": conv.last_seq,
            "agent_user_id": conv.agent_user_id, "agent_name": agent_name,
            "csat_score": conv.csat_score,
            "customer": {"delivered": conv.customer_delivered_seq,
                         "read": conv.customer_read_seq},
            "agent": {"delivered": conv.agent_delivered_seq, "read": conv.agent_read_seq}}


class Connection:
    def __init__(self, websocket: WebSocket, conv_id: int, tenant_id: int,
                 who: Participant, principal: Principal | None, token: str | None
                 ) -> None:
        self.ws = websocket
        # The server's own receive and send (see `raw_asgi`; None: Starlette's): the socket is
        # accepted already.
        self.raw_receive, self._send = raw_asgi(websocket)
        # The server protocol's synchronous text-frame write, where it has one
        # (`probity.socket_protocol.ChatSocketProtocol.send_text_now`): a frame without an ASGI
        # message or a coroutine (issue 17); it answers False when the ASGI send must be used.
        self._send_now: Callable[[str], bool] | None = getattr(
            getattr(self._send, "__self__", None), "send_text_now", None)
        self.conv_id = conv_id
        self.tenant_id = tenant_id
        self.who = who
        # The kind of viewer a delivered message is rendered for (its frames are shared by the
        # sockets of that kind): the principal's grants are fixed for the socket's lifetime,
        # so this is settled once, not per event (`can_see_evidence` walks the grants).
        self.view_key = (who.role, who.can_see_evidence)
        self.principal = principal
        self.token = token
        # Live events may arrive out of seq order (concurrent senders publish after their own
        # commits), so dedupe by set: seqs <= backlog_max came with the backlog.
        self.backlog_max = 0
        self.seen: set[int] = set()
        # client_ids this connection sent whose delivery event has not come back yet: the
        # sender's own connection is not sent its message twice (the ack carries it).
        self.sending: set[str] = set()
        # Receipts queued and not yet committed (see `_receipt`); the latest, when over the
        # limit: the next frame waits for it.
        self.receipts_in_flight = 0
        self.receipt_backlog: asyncio.Future[Any] | None = None
        # A send queued on the writer and not yet acked (`_send_message`, `acked`); the
        # socket's task waits on `_stored_waiter` when its next frame came first.
        self.storing = False
        self._stored_waiter: asyncio.Future[None] | None = None
        self.acking = False  # an ack emitted by `_stored`: `acked` waits for it to be sent
        # Frames go out in the order they are emitted (`emit`), each at once when the socket
        # has no send waiting; otherwise (the client reads slowly: the transport paused its
        # writes) they queue here behind it, and `_flushing` sends them when it can.
        self._out: collections.deque[str] = collections.deque()
        self._flushing: asyncio.Future[None] | None = None
        # The backlog is sent: the conversation's events are rendered and sent as they are
        # delivered (`take`), by whoever publishes them, without waking a task of this socket.
        self.live = False
        self.gone = False  # a send failed (the connection is closed): frames are dropped
        self.overflowed = False  # told to resync: nothing more is sent
        self.bus = get_bus(websocket.app)
        self._writer: MessageWriter | None = None  # the process's writer (`writer`)
        # The last access decision (see `still_allowed`): good until this monotonic instant,
        # for this bus epoch; 0 = check again.
        self.access_until = 0.0
        self.access_epoch = -1
        self.access_events = 0  # events that took the decision away so far (see `watch`)
        self.access = access_cache(websocket.app, self.bus)
        # Shared answers read before this instant predate the subscriptions (see `AccessCache`).
        self.since = float("inf")

    @property
    def writer(self) -> MessageWriter:
        """The process's group-commit writer, looked up on first use only."""
        writer = self._writer
        if writer is None:
            writer = self._writer = message_writer(self.ws.app)
        return writer

    def watch(self, event: Event) -> None:
        """Sees every event of the conversation's and the account's channels as it is
        delivered: anything that can take access away drops the cached decision at once."""
        if event.get("type") in ACCESS_EVENTS:
            self.access_until = 0.0
            self.access_events += 1
            self.access.invalidate(
                self.principal.user_id if self.principal is not None else None, self.conv_id)

    def take(self, event: Event) -> bool:
        """The conversation channel's `watch`: `watch`, then drops an event this socket sends
        nothing for — its own message coming back (the ack carried it), its own side's
        receipt, a customer's attempt seen by the customer — and, once the backlog is sent
        (`live`), renders and sends any other at once (`on_event`, `emit`): no task of the
        socket is woken for an event (issue 17; before session 14 a pump task per socket took
        each queued event, one wake-up per frame delivered). True: not to be queued. Before
        the backlog is sent, an event to send is queued (False) until `go_live`."""
        self.watch(event)
        kind = event.get("type")
        if kind == "message":
            wire = event["message"]
            if wire["sender_role"] == self.who.role and wire["client_id"] in self.sending:
                self.sending.discard(wire["client_id"])
                self.seen.add(wire["seq"])
                return True
        elif kind == "receipt":
            # A participant is not sent its own side's receipts (its pages and the SDK use
            # only the other side's: one frame fewer per message read); supervisors get both.
            if event.get("by") == self.who.role and self.who.role != "supervisor":
                return True
        elif kind == "customer_attempt" and self.who.role == "customer":
            return True  # staff only: the customer got the notice with its own send
        if not self.live:
            return False  # queued until the backlog is sent (`go_live`)
        try:
            self.on_event(event)
        except Exception:  # one socket's failure must not cost the channel's other sockets
            log.exception("chat socket: an event not sent")
        return True

    def go_live(self, sub: Subscription) -> None:
        """The backlog is sent: send what the subscription queued meanwhile, in order; from
        now on events are sent as they are delivered (`take`). Synchronous: no event can come
        between the last queued one and the switch."""
        queue = sub.queue
        while queue:
            self.on_event(queue.popleft())
        self.live = True

    async def send(self, data: dict[str, Any]) -> None:
        await self.send_text(frame_text(data))

    async def send_text(self, text: str) -> None:
        """One text frame from the socket's own task, in order with the frames `emit` sends
        for the fan-out; waits while the client reads slowly (frames queued behind a send
        that waits). A closed connection is `WebSocketDisconnect` 1006, as from Starlette's
        `send_text` once the socket is accepted."""
        self.emit(text)
        if self._flushing is not None:
            await asyncio.wait((self._flushing,))
        if self.gone:
            raise WebSocketDisconnect(code=1006)

    def _frame(self, text: str) -> Coroutine[Any, Any, None]:
        """The server's send of one text frame, not started."""
        if self._send is None:
            return self.ws.send_text(text)
        send = self._send({"type": "websocket.send", "text": text})
        # An ASGI server's send is a coroutine function (the wrapper: any other awaitable).
        return send if isinstance(send, types.CoroutineType) else _awaiting(send)

    def emit(self, text: str) -> None:
        """Send one text frame now, from whatever code runs (the bus's fan-out, the writer's
        hand-back, the socket's own task): the server's send runs to its end at once unless
        the socket is paused for writing (the client reads slowly), and then it goes on in a
        task of its own with the frames emitted meanwhile queued behind it, in order (at most
        `QUEUE_SIZE`: past that the client is told to resync and sent nothing more, as when
        its subscription's queue overflowed). Never raises for a closed connection: the
        socket is marked gone (`send_text` raises it to the socket's task)."""
        if self.gone or self.overflowed:
            return
        if self._flushing is not None:
            if len(self._out) >= QUEUE_SIZE:
                self._overflow()
            else:
                self._out.append(text)
            return
        send_now = self._send_now
        if send_now is not None:
            try:
                if send_now(text):
                    return
            except (OSError, RuntimeError):
                self._lost()
                return
        send = self._frame(text)
        try:
            waiting = send.send(None)
        except StopIteration:
            return
        except (OSError, RuntimeError, WebSocketDisconnect):
            self._lost()
            return
        self._flushing = asyncio.ensure_future(self._flush(send, waiting))

    async def _flush(self, send: Coroutine[Any, Any, None], waiting: Any) -> None:
        """Finish a send that had to wait, then send the frames queued behind it."""
        try:
            await resume_started(send, waiting)
            while self._out and not self.gone:
                await self._frame(self._out.popleft())
        except (OSError, RuntimeError, WebSocketDisconnect):
            self._lost()
        finally:
            self._flushing = None

    def _lost(self) -> None:
        self.gone = True
        self._out.clear()
        if self._send is not None:
            self.ws.application_state = WebSocketState.DISCONNECTED

    def _overflow(self) -> None:
        """Too many frames wait for a slow client: it is told to resync (reconnect from its
        last seq; the web client closes on it) and sent nothing after that, so that it never
        holds a later seq than the ones it missed."""
        self._out.clear()
        self._out.append(frame_text({"type": "resync"}))
        self.overflowed = True
        self.watch(OVERFLOW)

    def close_out(self) -> None:
        """The socket's task is done: nothing more is sent."""
        self.gone = True
        self._out.clear()
        if self._flushing is not None:
            self._flushing.cancel()

    def on_event(self, event: dict[str, Any]) -> None:
        """Render and send one of the conversation's events (what `take` did not drop)."""
        kind = event.get("type")
        if kind == "message":
            # Parsed once per event, whatever the number of local subscribers.
            msg = event.get("_row")
            if msg is None:
                msg = event["_row"] = row_of(event["message"])
            if msg.seq <= self.backlog_max or msg.seq in self.seen:
                return
            self.seen.add(msg.seq)
            if len(self.seen) > 4096:  # keep the set small: old seqs cannot come back
                floor = max(self.seen) - 2048
                self.seen = {s for s in self.seen if s > floor}
                self.backlog_max = max(self.backlog_max, floor)
            # Serialised once per event and kind of viewer (orjson), whatever the number of
            # local subscribers.
            frames = event.get("_frames")
            if frames is None:
                frames = event["_frames"] = {}
            key = self.view_key
            if key not in frames:
                view = message_view(msg, self.who)
                frames[key] = None if view is None else frame_text(view)
            text = frames[key]
            if text is not None:
                self.emit(text)
        elif kind == "overflow":
            self.emit(frame_text({"type": "resync"}))
        else:
            self.emit(frame_text(event))

    async def still_allowed(self) -> bool:
        """Checked before acting on each frame: the credential still stands (not logged out,
        offboarded, revoked or expired) and an agent still holds the conversation. Guests hold
        the conversation's own token and are not re-checked.

        The database's answers are shared by the process's sockets (`AccessCache`: one entry
        per credential, one per conversation, read in batches) and kept for
        `settings.chat_access_recheck_s` (10 s) at most; every event that can take access away
        drops them at once (`watch`, as the event is delivered) — the account's sessions ended
        (logout, password change, offboarding), this token revoked, the conversation assigned
        to someone else or closed, an event queue overflow — as does any sign that the bus may
        have lost events (`EventBus.epoch`). The time limit bounds what a lost event could
        still allow; an expiring token is refused at its expiry."""
        if self.principal is None:
            return True
        now = time.monotonic()
        if now < self.access_until and self.access_epoch == self.bus.epoch:
            return True
        # An event delivered while the database is read may postdate what it read: then the
        # answer is used for this frame only, not kept.
        epoch, events = self.bus.epoch, self.access_events
        try:
            valid, until = await self.access.check(
                self.principal, self.conv_id if self.who.role == "agent" else None, self.since)
        except OperationalError:
            raise Conflict("the database is busy; send again", code="retry") from None
        if valid and events == self.access_events:
            self.access_until, self.access_epoch = until, epoch
        return valid

    async def handle(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "ping":
            await self.send({"type": "pong"})
            return
        if kind == "send":
            await self._send_message(data)
            return
        if kind not in ("delivered", "read", "recall"):
            await self.send({"type": "error", "code": "unknown_type",
                             "message": f"unknown message type {kind!r}"})
            return
        seq = frame_seq(data)  # refuse a bad seq before queueing any write
        try:
            if kind != "recall":
                if self.who.role in ("customer", "agent"):  # supervisors' are not recorded
                    self._receipt(Receipt(
                        self.conv_id, self.who.role, self.bus.publish,
                        delivered=seq if kind == "delivered" else None,
                        read=seq if kind == "read" else None))
                return
            # Through the process's writer, like messages: on SQLite this process is then never
            # its own competitor for the single writer.
            await self.writer.run(
                lambda session: self._write(session, kind, data))
        except OperationalError:
            await self._busy(data)

    def _receipt(self, receipt: Receipt) -> None:
        """Queue a receipt without waiting for its commit: nothing is answered to it, so the
        socket reads its next frame at once, and the writer stores it with the next message
        (`MessageWriter.receipt_soon`). A socket has at most `RECEIPTS_IN_FLIGHT` receipts
        queued (a client that sends them faster than they are stored waits, as before)."""
        future = self.writer.receipt_soon(receipt)
        self.receipts_in_flight += 1
        future.add_done_callback(self._receipt_done)
        if self.receipts_in_flight > RECEIPTS_IN_FLIGHT:
            self.receipt_backlog = future

    def _receipt_done(self, future: asyncio.Future[Any]) -> None:
        self.receipts_in_flight -= 1
        if not future.cancelled() and isinstance(future.exception(), OperationalError):
            # The database stayed busy through the writer's retries: tell the client, as
            # when it waited for the receipt (fire and forget: the socket may be gone).
            task = asyncio.ensure_future(self._busy({}))
            task.add_done_callback(_ignore)

    async def _busy(self, data: dict[str, Any]) -> None:
        await self.send(_busy_frame(data))

    async def _send_message(self, data: dict[str, Any]) -> None:
        """Screen here, store through the process's group-commit writer, ack once committed.
        No database round trip before the writer: who is sending was settled when the socket
        opened, and the writer's seq allocation refuses a conversation closed meanwhile."""
        if not isinstance(data.get("text", ""), str) or not isinstance(
                data.get("client_id") or "", str):
            raise BadFrame("text and client_id are strings", code="invalid_frame")
        client_id = str(data.get("client_id") or "")[:64] or None
        try:
            policy = await policy_for_sender(
                await policy_for_tenant(self.ws.app.state.db.sessionmaker, self.tenant_id),
                self.tenant_id, self.who.role, self.who.employee_id,
                sessionmaker=self.ws.app.state.db.sessionmaker)
            pending = await prepare_send(
                self.conv_id, self.who, self.bus.publish, text=str(data.get("text") or ""),
                client_id=client_id, policy=policy)
        except InvalidInput:
            # A resend of a stored message is answered whatever its text (as before batching).
            async with ws_session(self.ws.app) as session:
                conv = await session.get(Conversation, self.conv_id)
                if conv is None or conv.status == ConversationStatus.closed:
                    raise Conflict("the conversation is closed", code="closed") from None
                existing = await find_resent(session, self.conv_id, self.who.role, client_id)
            if existing is None:
                raise
            await self._ack(client_id, existing, True)
            return
        if client_id:
            if len(self.sending) > 1024:  # echoes that never came (a dropped event): forget
                self.sending.clear()
            self.sending.add(client_id)
        # The ack is sent by the writer's hand-back once the message is committed and its
        # delivery published (`_stored`), not by this task woken for it (issue 17: one task
        # step fewer per message). This task reads the next frame meanwhile, but acts on it
        # only once the ack is out (`acked`): frames are still handled one after the other.
        self.storing = True
        self.writer.submit_soon(pending, lambda outcome: self._stored(client_id, data, outcome))

    def _stored(self, client_id: str | None, data: dict[str, Any], outcome: Any) -> None:
        """The writer's outcome for a send (`MessageWriter.submit_soon`), on this loop: the
        ack, or the error frame the socket's task would have sent for what `submit` raised."""
        try:
            if isinstance(outcome, BaseException):
                self.sending.discard(client_id or "")
                if isinstance(outcome, OperationalError):
                    self.emit(frame_text(_busy_frame(data)))
                elif isinstance(outcome, DomainError):
                    self.emit(frame_text({"type": "error", "code": outcome.code,
                                          "message": outcome.message,
                                          "client_id": _client_id(data)}))
                else:  # as when it was raised into the socket's task: the socket ends
                    log.error("chat socket: a send failed", exc_info=outcome)
                    self.emit(frame_text({"type": "error", "code": "internal",
                                          "message": "the message could not be stored",
                                          "client_id": _client_id(data)}))
                    _ignore_soon(_close(self.ws, 1011))
                return
            msg, dup = outcome
            if dup or msg.decision == "block":  # no delivery event will come back
                self.sending.discard(client_id or "")
            self.emit(frame_text(self._ack_frame(client_id, msg, dup)))
        finally:
            self.acking = True
            self.storing = False
            waiter, self._stored_waiter = self._stored_waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def acked(self) -> None:
        """Before the socket acts on its next frame: its send in flight (if any) acked, and
        the frames emitted so far sent (a client that reads slowly waits, as when its task
        sent the ack itself)."""
        if self.storing:
            waiter = self._stored_waiter = asyncio.get_running_loop().create_future()
            await waiter
        self.acking = False
        if self._flushing is not None:
            await asyncio.wait((self._flushing,))
        if self.gone:
            raise WebSocketDisconnect(code=1006)

    def _ack_frame(self, client_id: str | None, msg: Any, dup: bool) -> dict[str, Any]:
        ack: dict[str, Any] = {"type": "ack", "client_id": client_id, "id": msg.id,
                               "seq": msg.seq, "decision": msg.decision, "duplicate": dup,
                               "message": message_view(msg, self.who)}
        ack.update(ack_notices(msg, self.who.role))
        return ack

    async def _ack(self, client_id: str | None, msg: Any, dup: bool) -> None:
        await self.send(self._ack_frame(client_id, msg, dup))

    async def _write(self, session: AsyncSession, kind: str, data: dict[str, Any]) -> None:
        """Recall, on the writer's session (flush only; it commits)."""
        conv = await session.get(Conversation, self.conv_id)
        assert conv is not None
        await recall_message(session, conv, self.who, self.bus.publish, frame_seq(data))


RECEIPTS_IN_FLIGHT = 32  # per socket: receipts queued without waiting for their commit


def _ignore(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _ignore_soon(coro: Coroutine[Any, Any, None]) -> None:
    """Run `coro` in a task of its own, its outcome ignored (fire and forget)."""
    asyncio.ensure_future(coro).add_done_callback(_ignore)


def _busy_frame(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "error", "code": "retry", "client_id": data.get("client_id"),
            "message": "the database is busy; send again"}


# Events after which a connection checks its access again before the next frame.
ACCESS_EVENTS = frozenset({"assigned", "closed", "overflow", SESSION_ENDED["type"],
                           TOKEN_REVOKED})


def frame_text(data: dict[str, Any]) -> str:
    """A server frame's JSON text (orjson: compact, UTF-8 as is)."""
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()


MAX_FRAME_CHARS = 64 * 1024
MAX_SEQ = 2**31 - 1


class BadFrame(InvalidInput):
    """A frame the server cannot act on: answered with an error frame, the socket stays open."""


def parse_frame(message: Message) -> dict[str, Any]:
    """The JSON object in a text frame, or `BadFrame` (binary, not JSON, too large, too deeply
    nested, not an object)."""
    text = message.get("text")
    if text is None:
        raise BadFrame("frames are JSON text; binary frames are not accepted", code="binary_frame")
    if len(text) > MAX_FRAME_CHARS:
        raise BadFrame(f"a frame is limited to {MAX_FRAME_CHARS} characters",
                       code="frame_too_large")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = _parse_slowly(text)
    if not isinstance(data, dict):
        raise BadFrame("a frame is a JSON object with a \"type\"", code="invalid_frame")
    return data


def _parse_slowly(text: str) -> Any:
    """What orjson refuses, the standard parser reads or classifies: integers beyond 64 bits
    (answered as an invalid seq, not as invalid JSON), nesting too deep, invalid JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise BadFrame("the frame is nested too deeply", code="frame_too_deep") from None
    except ValueError:
        raise BadFrame("the frame is not valid JSON", code="invalid_json") from None


def frame_seq(data: dict[str, Any]) -> int:
    """The frame's "seq": a whole number within range, else `BadFrame`."""
    seq = data.get("seq", 0)
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise BadFrame("seq must be a whole number from 0", code="invalid_seq")
    return seq


async def _close(websocket: WebSocket, code: int) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=code)


@router.websocket("/ws/chat/{conv_id}")
async def chat_socket(websocket: WebSocket, conv_id: int, after: int = 0,
                      token: str | None = None, reason: str | None = None) -> None:
    """A conversation's live channel. Staff who are not its participants pass the access gate
    as over HTTP: the read is written to the access log, with `?reason=` where their role must
    give one (otherwise an error frame ``reason_required`` and close 4422)."""
    gate = AccessGate(websocket.app.state.settings, reason[:MAX_REASON] if reason else None)
    async with ws_session(websocket.app) as session:
        principal = await ws_principal(websocket, session)
        try:
            conv, who = await participant_for(session, principal, token, conv_id)
        except DomainError:
            await websocket.close(code=4404)
            return
        try:
            await gate.conversation(session, conv, who)
        except InvalidInput as exc:
            await websocket.accept()
            await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})
            await _close(websocket, 4422)
            return
        if who.role == "supervisor":  # the access log and audit rows: only staff reads write
            record_read(session, conv, who)
            await commit(session)
        # A participant's socket opens on reads alone: no commit (the session just ends).
    await websocket.accept()
    warm_screener_in_background()
    conn = Connection(websocket, conv_id, conv.tenant_id, who, principal, token)
    async with conn.bus.subscribe(conv_channel(conv_id), conn.take) as sub, \
            session_watch(websocket, principal, watch=conn.watch, say=conn.send):
        conn.since = time.monotonic()  # subscribed to the conversation and the account
        # Subscribed first, then the backlog: nothing committed in between can be missed.
        async with ws_session(websocket.app) as session:
            mark = conn.access.holder_mark(conv_id)
            conv2 = await session.get(Conversation, conv_id)
            assert conv2 is not None
            # Read after subscribing: the holder's answer for this socket's first frames.
            conn.access.holder_read(conv_id, conv2.agent_user_id, mark)
            backlog = await history(session, conv2, who, after_seq=after, limit=10_000)
            state = conversation_state(
                conv2, (await routing.agent_names(session, [conv2])).get(conv2.id))
            hello: dict[str, Any] = {"type": "hello", "role": who.role, "conversation": state}
            if who.role == "customer":  # the official-channel reminder (group standards)
                reminder = await official_reminder(session, conv2.tenant_id)
                if reminder:
                    hello["official_reminder"] = reminder
        await conn.send(hello)
        conn.backlog_max = max(after, state["last_seq"])
        for view in backlog:
            await conn.send(view)
        await conn.send({"type": "synced", "seq": conn.backlog_max})
        conn.go_live(sub)
        try:
            # The frames are read in a task of its own: each of its wake-ups (a frame came, a
            # send was committed) resumes the frames of `_read_frames` only, not the ~25
            # coroutine frames of the server's and the middleware's ASGI calls above this one
            # (issue 17, session 14). Cancelling this task cancels that one.
            await asyncio.ensure_future(_read_frames(conn, websocket))
        finally:
            conn.close_out()


async def _read_frames(conn: Connection, websocket: WebSocket) -> None:
    """Act on the client's frames until it goes away (or its session ends)."""
    try:
        receive = conn.raw_receive or websocket.receive
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                websocket.client_state = WebSocketState.DISCONNECTED
                break
            data: dict[str, Any] = {}
            if conn.storing or conn.acking:
                await conn.acked()  # the previous frame's ack first, as before
            if conn.receipt_backlog is not None:  # too many receipts queued: wait
                waiting, conn.receipt_backlog = conn.receipt_backlog, None
                await asyncio.wait([waiting])
            try:
                data = parse_frame(message)
                if data.get("type") != "ping" and not await conn.still_allowed():
                    await conn.send({"type": "error", "code": "session_ended",
                                     "message": "your session has ended; sign in again"})
                    await _close(websocket, 4401)
                    break
                await conn.handle(data)
            except DomainError as exc:
                await conn.send({"type": "error", "code": exc.code, "message": exc.message,
                                 "client_id": _client_id(data)})
    except (WebSocketDisconnect, RuntimeError):
        pass


async def _awaiting(awaitable: Awaitable[None]) -> None:
    await awaitable


def raw_asgi(websocket: WebSocket) -> tuple[Receive | None, Send | None]:
    """The server's receive and send for an accepted socket: those `RequestContextMiddleware`
    left in the scope, else (an app without it) None: use Starlette's. A frame then skips the
    middleware wrappers inside that one and Starlette's state checks (issue 17: ~4 Python calls
    per frame, 5 frames per message); the socket must be accepted and is only ever read by one
    task."""
    raw = getattr(websocket, "scope", {}).get(RAW_ASGI)
    if raw is None:
        return None, None
    receive, send = raw
    return receive, send


def _client_id(data: dict[str, Any]) -> str | None:
    value = data.get("client_id")
    return value[:64] if isinstance(value, str) else None


def _ends(event: Event, principal: Principal) -> bool:
    """Whether `event` (on the account's channel) ends this principal's sockets: the account's
    sessions ended, or the token this socket was opened with was revoked."""
    kind = event.get("type")
    return kind == SESSION_ENDED["type"] or (
        kind == TOKEN_REVOKED and principal.token_id is not None
        and event.get("token_id") == principal.token_id)


async def _end_on_event(websocket: WebSocket, sub: Subscription, lock: asyncio.Lock,
                        principal: Principal,
                        say: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> None:
    """Close the socket when the account's sessions end (logout, password change, offboarding)
    or its token is revoked. The error frame goes through `say` when given (a chat socket's
    `Connection.send`, in order with its other frames), else under `lock`."""
    while not _ends(await sub.get(), principal):
        pass
    frame = {"type": "error", "code": "session_ended",
             "message": "your session has ended; sign in again"}
    with contextlib.suppress(Exception):
        if say is not None:
            await say(frame)
        else:
            async with lock:
                await websocket.send_json(frame)
    await _close(websocket, 4401)


@contextlib.asynccontextmanager
async def session_watch(websocket: WebSocket, principal: Principal | None,
                        lock: asyncio.Lock | None = None,
                        watch: Callable[[Event], None] | None = None,
                        say: Callable[[dict[str, Any]], Awaitable[None]] | None = None
                        ) -> AsyncIterator[None]:
    """While open, closes the socket (4401, after an error frame ``session_ended``) as soon as
    the account's sessions end — logout, password change, offboarding — or the token it was
    opened with is revoked. Any socket that acts for a signed-in account runs inside one.
    `watch` sees each of the account's events as it is delivered (see `Subscription`); the
    error frame is sent with `say` when given, else under `lock`."""
    if principal is None:
        yield
        return
    async with get_bus(websocket.app).subscribe(user_channel(principal.user_id), watch) as sub:
        task = asyncio.create_task(_end_on_event(websocket, sub, lock or asyncio.Lock(),
                                                 principal, say))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@router.websocket("/ws/agent")
async def agent_inbox(websocket: WebSocket) -> None:
    """New assignments for the signed-in agent: {"type": "assigned", "conversation_id": ...}.
    Closed (4401) as soon as the account's sessions end."""
    async with ws_session(websocket.app) as session:
        principal = await ws_principal(websocket, session)
    if principal is None:
        await websocket.close(code=4401)
        return
    if not principal.can(Perm.chat_answer):
        await websocket.close(code=4403)
        return
    await websocket.accept()
    bus = get_bus(websocket.app)
    lock = asyncio.Lock()
    async with bus.subscribe(agent_channel(principal.user_id)) as sub, \
            session_watch(websocket, principal, lock):
        await websocket.send_json({"type": "ready"})

        async def pump() -> None:
            while True:
                event = await sub.get()
                async with lock:
                    await websocket.send_json(event)

        tasks = [asyncio.create_task(pump())]
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                async with ws_session(websocket.app) as session:
                    if not await still_valid(session, principal):
                        await _close(websocket, 4401)
                        break
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
