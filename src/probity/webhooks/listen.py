"""`probity webhooks listen`: a local receiver for trying webhooks without any outside service
(air-gapped demos, a receiver being developed). It answers every POST, checks the Standard
Webhooks signature with the endpoint's secret (when given) and the timestamp's age, and prints
one line per delivery: 2xx when the signature holds, 400 when it does not — so Probity's
delivery log shows what a real receiver would see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from probity.webhooks.signing import verify

__all__ = ["TOLERANCE_S", "check_delivery", "make_server"]

TOLERANCE_S = 300  # the spec's suggested window for webhook-timestamp
MAX_BODY = 1 << 20


def check_delivery(secret: str | None, headers: dict[str, str], body: bytes,
                   now: float | None = None) -> tuple[bool, str]:
    """(accepted, one line describing the delivery)."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    try:
        event = json.loads(body)
        kind = str(event.get("type")) if isinstance(event, dict) else "?"
    except ValueError:
        kind = "(not JSON)"
    if secret is None:
        return True, f"{kind} {msg_id} (signature not checked: no --secret)"
    if not msg_id or not stamp.isdigit():
        return False, f"{kind}: missing webhook-id / webhook-timestamp"
    if abs((now if now is not None else time.time()) - int(stamp)) > TOLERANCE_S:
        return False, f"{kind} {msg_id}: timestamp outside ±{TOLERANCE_S} s"
    if not verify(secret, msg_id, int(stamp), body, headers.get("webhook-signature", "")):
        return False, f"{kind} {msg_id}: BAD signature"
    return True, f"{kind} {msg_id}: signature OK"


def make_server(host: str, port: int, secret: str | None, say: Callable[[str], None]
                ) -> ThreadingHTTPServer:
    """The receiver (call ``serve_forever``); ``say`` gets one line per delivery."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if not 0 <= length <= MAX_BODY:
                self.send_error(413)
                return
            body = self.rfile.read(length)
            ok, line = check_delivery(secret, {k.lower(): v for k, v in self.headers.items()},
                                      body)
            say(("✓ " if ok else "✗ ") + line)
            self.send_response(204 if ok else 400)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    return ThreadingHTTPServer((host, port), Handler)
