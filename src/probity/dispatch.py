"""Conversation-affine placement for several server processes on one host (issue 17).

`probity serve --workers N` (N > 1) runs this: the parent process binds the listening socket
and starts N worker processes (multiprocessing's spawn context), each joined to the parent by
a Unix socketpair. The parent accepts every TCP connection, peeks at its request line
(MSG_PEEK: the bytes stay in the kernel's buffer) and hands the socket's file descriptor to a
worker (`socket.send_fds`):

- a request for one conversation (``/ws/chat/{id}``, ``/api/v1/chat/conversations/{id}/…``)
  goes to worker ``id % N``, so both sockets of a conversation (customer and agent) are always
  in the same process;
- anything else goes to the workers in turn.

Each worker runs a `uvicorn.Server` with the configuration `probity serve` uses, without a
listening socket of its own: it receives descriptors and opens each with
``loop.connect_accepted_socket`` and uvicorn's protocol (so uvicorn tracks the connection and
drains it on a graceful shutdown). The worker's uvicorn protocol then reads the request from the
start.

Under this placement a worker owns the conversations ``id % N == index``; the dispatcher tells
each worker so in ``PROBITY_CHAT_AFFINITY=index/N``, and the app then keeps the conversations'
screening contexts in the process's memory even with Redis configured (one socket's message
and the other's are screened in the same context, as with one process), while Redis still
carries the event bus (alerts, the agents' inboxes, anything else published). A request that
screens in a conversation's context but reached a worker that does not own the conversation
(the only way: a keep-alive connection, routed by its first request, reused for another
conversation) is not served there: a chat socket is accepted and closed at once with 1012
(service restart: the web client reconnects, and a new connection is routed to the owner); an
HTTP message send is answered 421 (Misdirected Request) with ``Connection: close`` (RFC 9110:
the client may retry on a new connection). So a conversation's context is never split.

On a SQLite file the parent also starts the chat writer host (`probity.chat.host`) before the
workers: one process that stores the direct chat batches of every worker, those that arrive
together in one transaction, instead of each worker taking turns on the file's write lock. It
listens on a Unix socket in a private temporary directory and checks a random key; the workers
are given both (``PROBITY_CHAT_WRITER``, ``PROBITY_CHAT_WRITER_KEY``). A host that exits is
started again (meanwhile the workers store their batches themselves); it is stopped after the
workers. ``PROBITY_CHAT_WRITER_HOST=false`` leaves it out.

Supervision: SIGINT/SIGTERM to the parent stops accepting and stops the workers gracefully
(uvicorn's shutdown: open connections are drained); a worker that dies after it was ready is
started again (its conversations' connections wait for it); a worker that exits before it is
ready stops the parent with a message and a non-zero exit code.

``python -m probity.dispatch --workers N --host H --port P`` runs it without the CLI's
production checks and logging (uvicorn's log configuration), e.g. for benchmarks/chat.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from typing import Any

import uvicorn
from starlette.requests import HTTPConnection
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import Server

from probity.i18n import N_, negotiate, translator

logger = logging.getLogger("probity.dispatch")

AFFINITY_ENV = "PROBITY_CHAT_AFFINITY"
WRITER_ENV, WRITER_KEY_ENV = "PROBITY_CHAT_WRITER", "PROBITY_CHAT_WRITER_KEY"
APP = "probity.app:create_app"
# What the parent reads of a request before it decides (the request line's start is enough).
PEEK_BYTES = 256
# A client that has not sent its request line after this long is closed (uvicorn closes an idle
# keep-alive connection after 5 s).
PEEK_TIMEOUT_S = 10.0
# Connections waiting for their first bytes beyond this many are handed to a worker in turn
# (each worker's uvicorn then applies its own timeouts): the parent never holds more.
MAX_UNDECIDED = 4096
# Connections queued for one worker that is not ready (starting again) beyond this are closed.
MAX_QUEUED = 65536
# A worker has this long to start (the app's startup: migrations checked, policy compiled, …).
STARTUP_TIMEOUT_S = 300.0
# On SIGTERM a worker has this long to drain its connections (uvicorn's
# timeout_graceful_shutdown when set) before it is killed.
STOP_GRACE_S = 30.0
# Messages on a worker's channel: the worker is ready (worker → parent); a new connection
# (parent → worker); a connection handed over with the bytes of its request, which the worker
# it came from has already read (worker → parent: 2 bytes of the owner's index after the tag;
# parent → owner), at most MAX_HANDOFF bytes.
READY = b"R"
NEW = b"c"
HANDOFF = b"H"
MAX_HANDOFF = 64 * 1024

# A request whose first line names one conversation: the conversation's id.
_ROUTED = re.compile(rb"[A-Z]{3,7} (?:https?://[^/ ]{1,255})?"
                     rb"(?:/ws/chat/|/api/v1/chat/conversations/)([0-9]{1,18})[/? ]")
# A chat socket's request target (origin or absolute form).
_WS_TARGET = re.compile(rb"(?:https?://[^/ ]{1,255})?/ws/chat/([0-9]{1,18})(?:[?]|$)")
_OWNED_WS = re.compile(r"/ws/chat/([0-9]{1,18})")
_OWNED_HTTP = re.compile(r"/api/v1/chat/conversations/([0-9]{1,18})/messages/?")

ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Any]],
                    Callable[[MutableMapping[str, Any]], Awaitable[None]]], Awaitable[None]]


def owner(conv_id: int, count: int) -> int:
    """The index of the worker that serves conversation `conv_id`."""
    return conv_id % count


def route(head: bytes) -> int | None:
    """The conversation a request's first bytes name (None: not one conversation's)."""
    m = _ROUTED.match(head)
    return int(m.group(1)) if m else None


def undecided(head: bytes) -> bool:
    """True while more of the request line may still change the route."""
    return (_ROUTED.match(head) is None and b"\n" not in head and len(head) < PEEK_BYTES)


# The worker

# What a request that reached the wrong worker is told, in the caller's language (the app's
# locale negotiation has not run: these answers come before it).
_RECONNECT = N_("Reconnect: another worker serves this conversation.")
_MISDIRECTED = N_("Another worker serves this conversation: retry on a new connection.")


def _gettext(scope: MutableMapping[str, Any]) -> Callable[..., str]:
    """The translator of the request's language: its `lang` cookie, else Accept-Language, else
    the deployment's default (zh-CN), as the app negotiates it (`web.render.locale_of`)."""
    from probity.config import get_settings

    conn = HTTPConnection(scope)
    return translator(negotiate(conn.cookies.get("lang"), conn.headers.get("accept-language"),
                                get_settings().default_locale))


class OwnedConversations:
    """ASGI middleware of a dispatcher's worker: a request that screens in a conversation's
    context is served only by the worker that owns the conversation (see the module)."""

    def __init__(self, app: ASGIApp, server: WorkerServer) -> None:
        self.app = app
        self.server = server
        self.index = server.index
        self.count = server.count

    def _foreign(self, pattern: re.Pattern[str], path: str) -> bool:
        m = pattern.fullmatch(path)
        return m is not None and owner(int(m.group(1)), self.count) != self.index

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
        kind = scope["type"]
        if kind == "websocket" and self._foreign(_OWNED_WS, scope["path"]):
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            # (A close reason holds at most 123 bytes: the Chinese one is 60.)
            await send({"type": "websocket.close", "code": 1012,
                        "reason": _gettext(scope)(_RECONNECT)})
            return
        if (kind == "http" and scope["method"] == "POST"
                and self._foreign(_OWNED_HTTP, scope["path"])):
            if await self._hand_over(scope, receive):
                return
            from probity.problems import problem_response

            await problem_response(421, "misdirected", _gettext(scope)(_MISDIRECTED),
                                   headers={"connection": "close"})(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _hand_over(self, scope: MutableMapping[str, Any],
                         receive: Callable[[], Awaitable[Any]]) -> bool:
        """Read the send's body and hand the connection, with the request, to the worker that
        owns the conversation; True once handed over (nothing more is written here)."""
        handoff = scope.get("probity.handoff")
        m = _OWNED_HTTP.fullmatch(scope["path"])
        if handoff is None or m is None:
            return False
        target, transport = handoff
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return True  # the client is gone: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_HANDOFF:
                return False
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        request = _request(b"POST", target, list(scope["headers"]), b"".join(chunks))
        if not self.server.hand_over(owner(int(m.group(1)), self.count), request, transport):
            return False
        with contextlib.suppress(TimeoutError):  # until uvicorn has seen the connection go
            async with asyncio.timeout(5):
                while (await receive())["type"] != "http.disconnect":
                    pass
        return True


def _request(method: bytes, target: bytes, headers: Iterable[tuple[bytes, bytes]],
             body: bytes | None = None) -> bytes:
    """A request's bytes again, from its parsed parts (as uvicorn does for an upgrade)."""
    out = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if body is not None and name.lower() in (b"content-length", b"transfer-encoding",
                                                 b"expect"):
            continue
        out += [name, b": ", value, b"\r\n"]
    if body is not None:
        out += [b"content-length: ", str(len(body)).encode(), b"\r\n"]
    out.append(b"\r\n")
    if body:
        out.append(body)
    return b"".join(out)


class _Handoff(HttpToolsProtocol):
    """uvicorn's httptools protocol in a dispatcher's worker: a chat socket's handshake for a
    conversation another worker owns is handed to that worker; so is a message send (its body is
    read first, by `OwnedConversations`)."""

    worker: WorkerServer | None = None

    def handle_websocket_upgrade(self) -> None:
        worker = self.worker
        m = _WS_TARGET.match(self.url) if worker is not None else None
        if worker is not None and m is not None:
            conv = int(m.group(1))
            if owner(conv, worker.count) != worker.index:
                request = _request(self.scope["method"].encode(), self.url,
                                   self.scope["headers"])
                if worker.hand_over(owner(conv, worker.count), request, self.transport):
                    self.connections.discard(self)
                    return
        super().handle_websocket_upgrade()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        worker = self.worker
        scope = self.scope
        if (worker is not None and scope.get("method") == "POST"
                and b"/api/v1/chat/conversations/" in self.url):
            scope["probity.handoff"] = (self.url, self.transport)  # type: ignore[typeddict-unknown-key]


def handoff_protocol(base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """The worker's HTTP protocol: `_Handoff` over uvicorn's httptools protocol; any other
    (h11) as it is (a foreign chat socket is then closed with 1012, a send answered 421)."""
    if base is HttpToolsProtocol:
        return _Handoff
    return base


class WorkerServer(Server):
    """uvicorn's server without a listening socket: it serves the connections the parent
    hands over its channel."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket, index: int = 0,
                 count: int = 1) -> None:
        super().__init__(config)
        self.channel = channel
        self.index = index
        self.count = count
        self._opening: set[asyncio.Task[Any]] = set()
        self._protocol_class: type[asyncio.Protocol] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        if not self.started:
            return
        loop = asyncio.get_running_loop()
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._receive, loop)
        self.channel.send(READY)

    def _protocol(self) -> asyncio.Protocol:
        config = self.config
        cls = self._protocol_class
        if cls is None:
            cls = self._protocol_class = handoff_protocol(config.http_protocol_class)
        proto: asyncio.Protocol = cls(  # type: ignore[call-arg]
            config=config, server_state=self.server_state, app_state=self.lifespan.state,
            _loop=asyncio.get_running_loop())
        if isinstance(proto, _Handoff):
            proto.worker = self
        return proto

    def _replaying(self, replay: bytes) -> asyncio.Protocol:
        """The protocol of a connection handed over by another worker: its request's bytes
        (already read there) are fed to it first, before anything the socket receives."""
        proto = self._protocol()
        made = proto.connection_made

        def connection_made(transport: asyncio.BaseTransport) -> None:
            made(transport)
            proto.data_received(replay)

        proto.connection_made = connection_made  # type: ignore[method-assign]
        return proto

    def hand_over(self, index: int, request: bytes, transport: asyncio.Transport) -> bool:
        """Send this connection, whose request (`request`, already read here) is for a
        conversation worker `index` owns, to that worker (through the parent), and forget it
        here without a byte written. False: it could not be sent (it stays here)."""
        sock = transport.get_extra_info("socket")
        if sock is None or len(request) > MAX_HANDOFF or self.channel.fileno() < 0:
            return False
        fd = os.dup(sock.fileno())
        try:
            socket.send_fds(self.channel, [HANDOFF + index.to_bytes(2, "big") + request], [fd])
        except OSError:
            return False
        finally:
            os.close(fd)
        transport.abort()  # closes this process's descriptor only: the connection lives on
        return True

    def _receive(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                msg, fds, _flags, _addr = socket.recv_fds(self.channel, MAX_HANDOFF + 16, 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                msg, fds = b"", []
            if not msg and not fds:  # the parent is gone: stop
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            replay = msg[1:] if msg[:1] == HANDOFF else b""
            for fd in fds:
                sock = socket.socket(fileno=fd)
                if self.should_exit:
                    sock.close()
                    continue
                sock.setblocking(False)
                factory = self._protocol if not replay else functools.partial(
                    self._replaying, replay)
                task = loop.create_task(loop.connect_accepted_socket(factory, sock=sock))
                self._opening.add(task)
                task.add_done_callback(self._opened)

    def _opened(self, task: asyncio.Task[Any]) -> None:
        self._opening.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("a connection could not be opened: %s", task.exception())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
        self.channel.close()
        await super().shutdown(sockets=[])


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker runs: uvicorn.Config's keyword arguments, and whether Probity's own
    logging is configured (`probity serve`) or uvicorn's (``log_config``)."""

    config: dict[str, Any]
    probity_logging: bool = False


def worker_main(spec: WorkerSpec, index: int, count: int, channel: socket.socket,
                writer: tuple[str, bytes] | None = None) -> None:
    """A worker process: the app, with the conversations ``id % count == index``; its direct
    chat batches stored by the chat writer host at `writer` (address, key), if any."""
    os.environ[AFFINITY_ENV] = f"{index}/{count}"
    if writer is not None:
        os.environ[WRITER_ENV], os.environ[WRITER_KEY_ENV] = writer[0], writer[1].hex()
    from probity.config import get_settings

    get_settings.cache_clear()
    if spec.probity_logging:
        from probity.ops.logs import configure_logging

        configure_logging()
    config = uvicorn.Config(**spec.config)
    config.load()
    server = WorkerServer(config, channel, index, count)
    config.loaded_app = OwnedConversations(config.loaded_app, server)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[])


# The parent


@dataclass
class Worker:
    index: int
    process: SpawnProcess | None = None
    channel: socket.socket | None = None
    ready: bool = False
    started_at: float = 0.0
    queue: deque[tuple[socket.socket, bytes]] = field(default_factory=deque)
    writing: bool = False


class Dispatcher:
    """The parent process: accept, peek, hand over, supervise."""

    def __init__(self, spec: WorkerSpec, workers: int, listener: socket.socket, *,
                 peek_timeout: float = PEEK_TIMEOUT_S) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.spec = spec
        self.count = workers
        self.listener = listener
        self.workers = [Worker(i) for i in range(workers)]
        self.ctx = multiprocessing.get_context("spawn")
        self.next = 0
        self.undecided: dict[int, tuple[socket.socket, asyncio.TimerHandle, float]] = {}
        self.stopping = False
        self.failure: str | None = None
        self.accepting = False
        self.done: asyncio.Future[None] | None = None
        self.peek_timeout = peek_timeout
        # The chat writer host (`probity.chat.host`): its database URL (None: no host), its
        # socket's private directory, address and key, its process.
        self.host_url = host_url()
        self.host_dir: str | None = None
        self.writer: tuple[str, bytes] | None = None
        self.host: SpawnProcess | None = None
        self.host_started = 0.0

    # The chat writer host

    def _start_host(self) -> None:
        assert self.loop is not None and self.host_url is not None
        if self.writer is None:
            self.host_dir = tempfile.mkdtemp(prefix="probity-writer-")  # 0700
            self.writer = (os.path.join(self.host_dir, "writer.sock"), secrets.token_bytes(32))
        from probity.chat.host import host_main

        proc = self.ctx.Process(target=host_main, name="probity-chat-writer",
                                args=(self.host_url, *self.writer, self.spec.probity_logging))
        proc.start()
        self.host, self.host_started = proc, time.monotonic()
        self.loop.add_reader(proc.sentinel, self._host_exited)
        logger.info("started the chat writer host [%d]", proc.pid)

    def _host_exited(self) -> None:
        assert self.loop is not None and self.host is not None
        proc, self.host = self.host, None
        self.loop.remove_reader(proc.sentinel)
        proc.join(0)
        if self.stopping:
            return
        # Meanwhile the workers store their chat batches through their session path.
        pause = 0.0 if time.monotonic() - self.host_started > 5 else 1.0
        logger.warning("the chat writer host [%d] exited with code %s: starting it again",
                       proc.pid, proc.exitcode)
        self.loop.call_later(pause, self._restart_host)

    def _restart_host(self) -> None:
        if not self.stopping and self.host is None:
            self._start_host()

    def _stop_host(self) -> None:
        """After the workers: nothing is sent to it any more."""
        proc, self.host = self.host, None
        if proc is not None:
            assert self.loop is not None
            self.loop.remove_reader(proc.sentinel)
            if proc.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
            proc.join(STOP_GRACE_S)
            if proc.is_alive():
                logger.warning("the chat writer host [%s] did not stop in time: killed",
                               proc.pid)
                proc.kill()
                proc.join()
        if self.host_dir is not None:
            shutil.rmtree(self.host_dir, ignore_errors=True)
            self.host_dir = None

    # Workers

    def _start(self, w: Worker) -> None:
        assert self.loop is not None
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        proc = self.ctx.Process(target=worker_main, name=f"probity-worker-{w.index}",
                                args=(self.spec, w.index, self.count, child_end, self.writer))
        proc.start()
        child_end.close()
        parent_end.setblocking(False)
        w.process, w.channel, w.ready, w.started_at = proc, parent_end, False, time.monotonic()
        w.writing = False
        self.loop.add_reader(parent_end.fileno(), self._from_worker, w)
        self.loop.add_reader(proc.sentinel, self._exited, w)
        logger.info("started worker %d [%d]", w.index, proc.pid)

    def _from_worker(self, w: Worker) -> None:
        while w.channel is not None:
            try:
                data, fds, _flags, _addr = socket.recv_fds(w.channel, MAX_HANDOFF + 16, 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data and not fds:  # the worker is gone (its sentinel says how)
                self._close_channel(w)
                return
            if data == READY and not w.ready:
                w.ready = True
                self._flush(w)
                if not self.accepting and all(x.ready for x in self.workers):
                    self._accept_start()
            elif data[:1] == HANDOFF and len(data) >= 3 and len(fds) == 1:
                # A connection another worker owns (see `WorkerServer.hand_over`).
                target = int.from_bytes(data[1:3], "big")
                conn = socket.socket(fileno=fds[0])
                if target < self.count and not self.stopping:
                    self._send(conn, target, HANDOFF + data[3:])
                else:
                    conn.close()
            else:
                for fd in fds:
                    os.close(fd)

    def _close_channel(self, w: Worker) -> None:
        assert self.loop is not None
        if w.channel is not None:
            self.loop.remove_reader(w.channel.fileno())
            if w.writing:
                self.loop.remove_writer(w.channel.fileno())
            w.channel.close()
            w.channel, w.ready, w.writing = None, False, False

    def _exited(self, w: Worker) -> None:
        assert self.loop is not None and w.process is not None
        proc = w.process
        self.loop.remove_reader(proc.sentinel)
        proc.join(0)
        self._close_channel(w)
        w.process = None
        if self.stopping:
            self._all_stopped()
            return
        code = proc.exitcode
        if not self.accepting or code == STARTUP_FAILURE:
            self._fail(f"worker {w.index} [{proc.pid}] exited with code {code} before it was "
                       "ready (see its log above)")
            return
        # One that keeps dying at once is started again at most once a second.
        pause = 0.0 if time.monotonic() - w.started_at > 5 else 1.0
        logger.warning("worker %d [%d] exited with code %s: starting it again",
                       w.index, proc.pid, code)
        self.loop.call_later(pause, self._restart, w)

    def _restart(self, w: Worker) -> None:
        if not self.stopping and w.process is None:
            self._start(w)

    def _fail(self, message: str) -> None:
        if self.failure is None:
            self.failure = message
        self.stop()

    def _startup_deadline(self) -> None:
        if not self.accepting and not self.stopping:
            late = [str(w.index) for w in self.workers if not w.ready]
            self._fail(f"worker(s) {', '.join(late)} not ready after {STARTUP_TIMEOUT_S:.0f} s")

    # Connections

    def _accept_start(self) -> None:
        assert self.loop is not None
        self.accepting = True
        self.listener.setblocking(False)
        self.loop.add_reader(self.listener.fileno(), self._accept)
        logger.info("dispatching connections to %d workers", self.count)

    def _accept(self) -> None:
        for _ in range(256):
            try:
                conn, _addr = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: try again on the next wake-up
                logger.warning("accept failed: %s", exc)
                return
            conn.setblocking(False)
            self._peek(conn, time.monotonic())

    def _peek(self, conn: socket.socket, since: float) -> None:
        try:
            head = conn.recv(PEEK_BYTES, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            self._wait(conn, since, readable=True)
            return
        except OSError:
            conn.close()
            return
        if not head:  # closed before it sent anything
            conn.close()
            return
        if undecided(head):
            self._wait(conn, since, readable=False)
            return
        conv = route(head)
        self._send(conn, owner(conv, self.count) if conv is not None else self._round_robin())

    def _wait(self, conn: socket.socket, since: float, *, readable: bool) -> None:
        """Look again once bytes come (`readable`) or (some bytes but not the request line's
        start: the socket stays readable) after a short while; close after PEEK_TIMEOUT_S."""
        assert self.loop is not None
        fd = conn.fileno()
        if len(self.undecided) >= MAX_UNDECIDED:
            self._send(conn, self._round_robin())
            return
        waited = time.monotonic() - since
        if waited >= self.peek_timeout:
            conn.close()
            return
        if readable:
            timer = self.loop.call_later(self.peek_timeout - waited, self._expire, fd)
            self.loop.add_reader(fd, self._again, fd)
        else:
            timer = self.loop.call_later(min(0.01 * 2 ** min(int(waited * 10), 5), 0.5),
                                         self._again, fd)
        self.undecided[fd] = (conn, timer, since)

    def _again(self, fd: int) -> None:
        assert self.loop is not None
        entry = self.undecided.pop(fd, None)
        if entry is None:
            return
        conn, timer, since = entry
        timer.cancel()
        self.loop.remove_reader(fd)
        self._peek(conn, since)

    def _expire(self, fd: int) -> None:
        assert self.loop is not None
        entry = self.undecided.pop(fd, None)
        if entry is not None:
            self.loop.remove_reader(fd)
            entry[0].close()

    def _round_robin(self) -> int:
        i = self.next
        self.next = (i + 1) % self.count
        return i

    def _send(self, conn: socket.socket, index: int, message: bytes = NEW) -> None:
        w = self.workers[index]
        if w.queue or not w.ready or w.channel is None:
            if len(w.queue) >= MAX_QUEUED:
                conn.close()
                return
            w.queue.append((conn, message))
            return
        try:
            socket.send_fds(w.channel, [message], [conn.fileno()])
        except (BlockingIOError, InterruptedError):
            w.queue.append((conn, message))
            self._want_write(w)
            return
        except OSError:  # the worker is going away: it is started again, and then this goes
            w.queue.append((conn, message))
            return
        conn.close()

    def _want_write(self, w: Worker) -> None:
        assert self.loop is not None and w.channel is not None
        if not w.writing:
            w.writing = True
            self.loop.add_writer(w.channel.fileno(), self._flush, w)

    def _flush(self, w: Worker) -> None:
        assert self.loop is not None
        while w.queue and w.ready and w.channel is not None:
            conn, message = w.queue[0]
            try:
                socket.send_fds(w.channel, [message], [conn.fileno()])
            except (BlockingIOError, InterruptedError):
                self._want_write(w)
                return
            except OSError:
                return
            w.queue.popleft()
            conn.close()
        if w.writing and w.channel is not None:
            self.loop.remove_writer(w.channel.fileno())
        w.writing = False

    # Running

    loop: asyncio.AbstractEventLoop | None = None

    def stop(self) -> None:
        assert self.loop is not None
        if self.stopping:
            return
        self.stopping = True
        logger.info("stopping the workers")
        if self.accepting:
            self.loop.remove_reader(self.listener.fileno())
        self.listener.close()
        for fd, (conn, timer, _since) in list(self.undecided.items()):
            timer.cancel()
            self.loop.remove_reader(fd)
            conn.close()
        self.undecided.clear()
        for w in self.workers:
            while w.queue:
                w.queue.popleft()[0].close()
            if w.process is not None and w.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.process.pid, signal.SIGTERM)
        # uvicorn drains open connections (sockets are closed with 1012); a worker still there
        # after that is killed.
        grace = float(self.spec.config.get("timeout_graceful_shutdown") or STOP_GRACE_S)
        self.loop.call_later(grace + 5, self._kill_all)
        self._all_stopped()

    def _kill_all(self) -> None:
        for w in self.workers:
            if w.process is not None and w.process.is_alive():
                logger.warning("worker %d [%s] did not stop in time: killed", w.index,
                               w.process.pid)
                w.process.kill()

    def _all_stopped(self) -> None:
        if (all(w.process is None for w in self.workers) and self.done is not None
                and not self.done.done()):
            self.done.set_result(None)

    async def run(self) -> int:
        self.loop = loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        if self.host_url is not None:
            self._start_host()
        for w in self.workers:
            self._start(w)
        deadline = loop.call_later(STARTUP_TIMEOUT_S, self._startup_deadline)
        await self.done
        deadline.cancel()
        for w in self.workers:  # the sentinels said so; make sure before leaving
            if w.process is not None:
                w.process.join(5)
                if w.process.is_alive():
                    w.process.kill()
                    w.process.join()
        self._stop_host()
        if self.failure:
            logger.error("%s", self.failure)
            return 1
        return 0


def host_url() -> str | None:
    """The database URL the chat writer host serves: the workers' database when it is a
    SQLite file, unless ``PROBITY_CHAT_WRITER_HOST`` is off; None otherwise (PostgreSQL's
    writers need no host: row locks, not one lock for the database)."""
    from sqlalchemy.engine import make_url

    from probity.config import get_settings

    settings = get_settings()
    url = make_url(settings.database_url)
    if (not settings.chat_writer_host or url.get_backend_name() != "sqlite"
            or url.database in (None, "", ":memory:")):
        return None
    return settings.database_url


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket (as uvicorn binds it: SO_REUSEADDR, IPv6 when the host is one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


def serve(spec: WorkerSpec, workers: int, host: str, port: int, *,
          peek_timeout: float = PEEK_TIMEOUT_S) -> int:
    """Bind, start the workers and dispatch until SIGINT/SIGTERM; the exit code."""
    try:
        listener = bind(host, port, int(spec.config.get("backlog", 2048)))
    except OSError as exc:
        logger.error("cannot listen on %s:%d: %s", host, port, exc)
        return 1
    logger.info("Probity dispatcher [%d] on http://%s:%d with %d workers", os.getpid(), host,
                listener.getsockname()[1], workers)
    return asyncio.run(Dispatcher(spec, workers, listener, peek_timeout=peek_timeout).run())


def main(argv: list[str] | None = None) -> int:
    from probity.config import SOCKET_PROTOCOL

    ap = argparse.ArgumentParser(prog="python -m probity.dispatch", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    # uvicorn's spelling of the app, accepted so that a uvicorn command line runs here as it is
    # with `-m uvicorn` replaced (only Probity's app is served).
    ap.add_argument("app", nargs="?", default=APP, choices=[APP])
    ap.add_argument("--factory", action="store_true", help="(always: the app is a factory)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--ws-max-queue", type=int, default=32)
    ap.add_argument("--ws", default=SOCKET_PROTOCOL)
    ap.add_argument("--ws-per-message-deflate", default="false", choices=["true", "false"])
    ap.add_argument("--peek-timeout", type=float, default=PEEK_TIMEOUT_S,
                    help="close a connection that sent no request line within this many s")
    args = ap.parse_args(argv)
    if args.workers < 1:
        ap.error("--workers must be at least 1")
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s: %(message)s")
    spec = WorkerSpec({"app": APP, "factory": True,
                       "log_level": args.log_level, "proxy_headers": True,
                       "ws": args.ws, "ws_max_queue": args.ws_max_queue,
                       "ws_per_message_deflate": args.ws_per_message_deflate == "true"})
    return serve(spec, args.workers, args.host, args.port, peek_timeout=args.peek_timeout)


if __name__ == "__main__":
    # The workers unpickle this module's functions and classes by their module's name.
    from probity.dispatch import main as _main

    sys.exit(_main())
