"""The server's WebSocket protocol: uvicorn's websockets-sansio one, with a shorter path for the
frames chat sockets exchange (issue 17: the event loop's CPU per message).

`probity serve` runs it (``ws=``); a bare ``uvicorn probity.app:create_app`` serves with
``--ws probity.socket_protocol:ChatSocketProtocol`` (the tests' and the benchmark's servers do).
Without it the app runs on uvicorn's own protocol, unchanged.

What is shorter, and why it is the same protocol:

- **Receiving.** websockets parses each frame through generator coroutines (`Frame.parse`,
  `read_exact`), a `Frame` object and the protocol's checks, and uvicorn then dispatches the
  event. Here each frame is delimited by its header first; a complete, final, masked text frame
  with no reserved bits, on an open connection with no extension and no fragmented message in
  progress, is unmasked (websockets' own C `apply_mask`) and decoded here and queued as uvicorn
  queues it. Every other frame — control frames, fragments, anything invalid, anything after a
  close — is handed to websockets whole and handled by uvicorn as before; from anything it
  cannot delimit (an unmasked frame, a frame past the size limit) on, websockets gets every byte
  as it came and does all the parsing, so every error is websockets' own. websockets only ever
  sees whole frames, at frame boundaries, so its parser's state is what it would have been.
- **Back-pressure.** Reading pauses once the application has a received message it has not
  taken (uvicorn: once any is queued, so every frame paused and resumed the socket); it resumes,
  as in uvicorn, when the application has taken them all.
- **Control frames.** A client's complete, final, masked ping of at most 125 bytes on an open
  connection is answered here with the pong websockets would send (the same bytes); a pong is
  given to uvicorn's `handle_pong` as websockets would have delivered it. The benchmark's and the
  SDK's clients ping every 20 s, as the server pings them: at 500 idle sockets that traffic
  through websockets' parser and uvicorn's dispatch was ~1.5 % of a core (issue 17).
- **Keepalive.** uvicorn pings every socket every `ws_ping_interval` and closes it when no pong
  comes within `ws_ping_timeout`. Here the ping is sent only to a peer that sent nothing since
  the last ping was due: any frame received proves the connection alive as a pong would, so a
  socket in use (a chat exchanging messages and receipts) is not pinged at all, and a peer that
  goes silent is pinged at most one interval later than by uvicorn (then closed as uvicorn
  closes it).
- **Sending.** `send_text_now` writes a text frame's header and payload straight to the
  transport (a server's frames are not masked), when the connection is open and writable and
  uvicorn's `send` would have done just that through websockets' `send_text`; otherwise it
  returns False and the caller uses the ASGI send. `Connection.emit` (chat/ws.py) calls it
  synchronously: no ASGI message dict, no coroutine per frame.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets without its C extension
    from websockets.utils import apply_mask

# A frame's payload up to this size may wait in this protocol's own buffer for the rest
# of its bytes; anything larger goes to websockets (chat frames are at most 64 Ki characters).
FAST_FRAME_LIMIT = 512 * 1024
# What a client may send before its handshake is accepted that is searched for the request's end
# (the headers websockets accepts are far smaller).
HANDSHAKE_LIMIT = 64 * 1024
_OPEN = State.OPEN
_TEXT_FINAL = 0x81  # FIN, no reserved bits, opcode 1 (text)
_PING_FINAL = 0x89  # FIN, no reserved bits, opcode 9 (ping)
_PONG_FINAL = 0x8A  # FIN, no reserved bits, opcode 10 (pong)
_CONTROL_MAX = 125  # a control frame's largest payload (RFC 6455, 5.5)


class ChatSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with the fast paths described in the module."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # None: not decided yet (the handshake is not complete); True: frames are delimited
        # here; False: websockets gets every byte (uvicorn's own path).
        self._fast: bool | None = None
        self._handshake_bytes = bytearray()  # everything received before the handshake ended
        self._partial = b""  # the start of a frame whose other bytes have not come yet
        self._limit = FAST_FRAME_LIMIT  # the largest payload delimited here (see `data_received`)
        self._heard = False  # bytes came from the peer since the last keepalive ping was due

    # Receiving

    def data_received(self, data: bytes) -> None:
        self._heard = True
        fast = self._fast
        if fast is None:
            if not self.handshake_complete:
                self._remember_handshake(data)
                super().data_received(data)
                return
            fast = self._fast = self._may_take_over()
            self._handshake_bytes = bytearray()
            # websockets' own limits on a frame's payload (--ws-max-size), and this buffer's.
            limits = [FAST_FRAME_LIMIT, self.conn.max_message_size, self.conn.max_fragment_size]
            self._limit = min(n for n in limits if n is not None)
        if not fast:
            super().data_received(data)
            return
        self._frames_received(self._partial + data if self._partial else data)

    def _remember_handshake(self, data: bytes) -> None:
        seen = self._handshake_bytes
        if len(seen) <= HANDSHAKE_LIMIT:
            seen += data

    def _may_take_over(self) -> bool:
        """Frames may be delimited here only if websockets' parser stands at a frame boundary:
        nothing but the opening request came before the handshake ended (a client must wait for
        the server's answer before it sends anything more: RFC 6455, 4.1), the connection is
        open and no extension (permessage-deflate) was agreed."""
        seen = self._handshake_bytes
        if len(seen) > HANDSHAKE_LIMIT:
            return False
        end = seen.find(b"\r\n\r\n")
        conn = self.conn
        return (end >= 0 and end + 4 == len(seen) and not conn.reader.buffer
                and conn.state is _OPEN and not conn.extensions and self.initial_response is None)

    def _frames_received(self, buf: bytes) -> None:
        conn = self.conn
        size = len(buf)
        pos = 0
        while size - pos >= 2:
            head1 = buf[pos]
            head2 = buf[pos + 1]
            length = head2 & 0x7F
            start = pos + 2
            if length == 126:
                start += 2
                if size < start:
                    break
                length = int.from_bytes(buf[pos + 2:start], "big")
            elif length == 127:
                start += 8
                if size < start:
                    break
                length = int.from_bytes(buf[pos + 2:start], "big")
            if not head2 & 0x80 or length > self._limit:
                # Not a client's frame (unmasked), or larger than websockets allows or than is
                # kept here: websockets takes every byte from this one on and refuses what it
                # must.
                self._partial = b""
                self._fast = False
                super().data_received(buf[pos:] if pos else buf)
                return
            start += 4
            end = start + length
            if end > size:
                break
            if (_PING_FINAL <= head1 <= _PONG_FINAL and length <= _CONTROL_MAX
                    and conn.state is _OPEN and not self.close_sent):
                # A ping, answered with its payload as websockets answers it; a pong, to
                # uvicorn's handler as websockets delivers it (both valid inside a
                # fragmented message too).
                payload = apply_mask(buf[start:end], buf[start - 4:start])
                if head1 == _PING_FINAL:
                    self.transport.write(bytes((_PONG_FINAL, length)) + payload)
                else:
                    self.handle_pong(Frame(Opcode.PONG, payload))
                pos = end
                continue
            if (head1 == _TEXT_FINAL and conn.state is _OPEN and conn.current_size is None
                    and not self.close_sent):
                payload = apply_mask(buf[start:end], buf[start - 4:start])
                try:
                    text = payload.decode()
                except UnicodeDecodeError:
                    text = None
                if text is not None:
                    # Reading pauses while the application has a message it has not taken yet
                    # (the back-pressure uvicorn gives), not for the one it is waiting for:
                    # uvicorn paused and resumed the socket for every message, two changes of
                    # the loop's epoll set per frame (issue 17).
                    queue = self.queue
                    if not self.read_paused and not queue.empty():
                        self.read_paused = True
                        self.transport.pause_reading()
                    queue.put_nowait({"type": "websocket.receive", "text": text})
                    pos = end
                    continue
            # Anything else, whole, through websockets and uvicorn's handlers (which close the
            # connection for invalid UTF-8 as before).
            super().data_received(buf[pos:end])
            pos = end
            if conn.state is not _OPEN or self.transport.is_closing():
                # Closing: websockets takes the rest as it came (it discards what follows a
                # close), as it would have in one piece.
                self._partial = b""
                self._fast = False
                if pos < size:
                    super().data_received(buf[pos:])
                return
        self._partial = buf[pos:] if pos < size else b""

    # Keepalive

    def send_keepalive_ping(self) -> None:
        """uvicorn's keepalive ping, only for a peer that sent nothing since the last one was
        due: for the others, the next one is scheduled instead."""
        if self._heard:
            self._heard = False
            self.ping_timer = None
            if not (self.close_sent or self.transport.is_closing()):
                self.schedule_ping()
            return
        super().send_keepalive_ping()

    # Sending

    def send_text_now(self, text: str) -> bool:
        """Write one text frame now, if the connection is open and writable (what uvicorn's
        `send` of a ``websocket.send`` message would do without waiting); False: nothing was
        written, the caller sends it through the ASGI send."""
        conn = self.conn
        if (self.disconnected or self.close_sent or not self.handshake_complete
                or self.initial_response is not None or not self.writable.is_set()
                or conn.state is not _OPEN or conn.expect_continuation_frame or conn.extensions
                or self.transport.is_closing()):
            return False
        payload = text.encode()
        length = len(payload)
        if length < 126:
            header = bytes((_TEXT_FINAL, length))
        elif length < 65536:
            header = b"\x81\x7e" + length.to_bytes(2, "big")
        else:
            header = b"\x81\x7f" + length.to_bytes(8, "big")
        self.transport.write(header + payload)
        return True
