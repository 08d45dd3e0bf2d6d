"""Notifications: platform signatures, and a case event delivered in-app, by e-mail to a local
SMTP receiver, and to WeCom/DingTalk/Feishu robots on a local HTTP receiver — after commit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, make_alert, team_agents, tenant

from probity.config import Settings
from probity.models import Case
from probity.models.base import utcnow
from probity.notify import service
from probity.notify.service import dingtalk_signed_url, feishu_sign, robot_request


def test_dingtalk_signature() -> None:
    url = dingtalk_signed_url("https://oapi.example/robot/send?access_token=abc", "SECxyz",
                              1700000000000)
    q = parse_qs(urlparse(url).query)
    expected = base64.b64encode(hmac.new(b"SECxyz", b"1700000000000\nSECxyz",
                                         hashlib.sha256).digest()).decode()
    assert q["timestamp"] == ["1700000000000"] and q["sign"] == [expected]
    assert q["access_token"] == ["abc"]


def test_feishu_signature_and_wecom_body() -> None:
    expected = base64.b64encode(hmac.new(b"1700000000\nsek", b"", hashlib.sha256).digest())
    assert feishu_sign("sek", 1700000000) == expected.decode()
    url, body = robot_request("feishu", "https://open.example/hook/x", "sek", "hi",
                              now=1700000000.5)
    assert body["timestamp"] == "1700000000" and body["sign"] == expected.decode()
    assert body["msg_type"] == "text" and body["content"] == {"text": "hi"}
    url, body = robot_request("wecom", "https://qyapi.example/send?key=K", None, "hi")
    assert url.endswith("key=K") and body == {"msgtype": "text", "text": {"content": "hi"}}


class _Http(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        n = int(self.headers.get("content-length", 0))
        _Http.received.append({"path": self.path, "body": json.loads(self.rfile.read(n))})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"errcode":0}')

    def log_message(self, *args: Any) -> None:
        pass


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greets, accepts one message per DATA, stores it."""

    messages: ClassVar[list[dict[str, Any]]] = []

    def _say(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self._say("220 test SMTP")
        env: dict[str, Any] = {"rcpt": []}
        while True:
            line = self.rfile.readline().decode(errors="replace").strip()
            if not line:
                return
            cmd = line.split(" ", 1)[0].upper()
            if cmd in ("EHLO", "HELO"):
                self._say("250 test")
            elif cmd == "MAIL":
                env["from"] = line
                self._say("250 ok")
            elif cmd == "RCPT":
                env["rcpt"].append(line)
                self._say("250 ok")
            elif cmd == "DATA":
                self._say("354 go ahead")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk.decode(errors="replace"))
                _Smtp.messages.append({**env, "data": "".join(data)})
                env = {"rcpt": []}
                self._say("250 queued")
            elif cmd == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")


@pytest.fixture
def receivers() -> Iterator[tuple[str, int]]:
    _Http.received, _Smtp.messages = [], []
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Http)
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    for srv in (http, smtp):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}", smtp.server_address[1]
    finally:
        for srv in (http, smtp):
            srv.shutdown()
            srv.server_close()


async def test_case_opened_is_delivered_everywhere(db: AsyncSession, as_user: Any,
                                                   receivers: tuple[str, int],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    base, smtp_port = receivers
    monkeypatch.setattr(service, "mail_settings", lambda: Settings(
        smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_from="probity@test"))
    t = await tenant(db, "ECOM")
    client = await as_user("compliance")
    rules = [
        {"channel": "in_app", "role": "compliance", "min_severity": 1},
        {"channel": "email", "target": "duty@example.com", "min_severity": 2},
        {"channel": "wecom", "target": f"{base}/wecom?key=K1"},
        {"channel": "dingtalk", "target": f"{base}/ding?access_token=T", "secret": "SEC-D"},
        {"channel": "feishu", "target": f"{base}/feishu/hook", "secret": "SEC-F"},
        {"channel": "email", "target": "ceo@example.com", "min_severity": 4},  # too high
    ]
    for rule in rules:
        r = await client.post("/api/v1/notify/rules", json={"tenant_id": t.id, **rule})
        assert r.status_code == 201, r.text
    listed = (await client.get("/api/v1/notify/rules")).json()
    assert all("secret" not in r for r in listed) and any(r["has_secret"] for r in listed)
    bad = await client.post("/api/v1/notify/rules", json={"tenant_id": t.id,
                                                          "channel": "dingtalk"})
    assert bad.status_code == 422

    agent, _ = await team_agents(db, t.id)
    (cust,) = await customers(db, t.id, 1)
    alert = await make_alert(db, t, agent, cust, severity=3)
    r = await client.post("/api/v1/cases", json={"alert_ids": [alert.id]})
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]

    paths = {urlparse(x["path"]).path: x for x in _Http.received}
    assert set(paths) == {"/wecom", "/ding", "/feishu/hook"}
    assert f"case #{case_id}" in paths["/wecom"]["body"]["text"]["content"]
    ding_q = parse_qs(urlparse(paths["/ding"]["path"]).query)
    ts = ding_q["timestamp"][0]
    assert ding_q["sign"][0] == base64.b64encode(hmac.new(
        b"SEC-D", f"{ts}\nSEC-D".encode(), hashlib.sha256).digest()).decode()
    fs = paths["/feishu/hook"]["body"]
    assert fs["sign"] == feishu_sign("SEC-F", int(fs["timestamp"]))
    assert len(_Smtp.messages) == 1
    mail = _Smtp.messages[0]
    assert "duty@example.com" in mail["rcpt"][0] and f"case #{case_id}" in mail["data"]
    inbox = (await client.get("/api/v1/notifications?unread=true")).json()
    mine = [n for n in inbox if n["case_id"] == case_id]
    assert len(mine) == 1 and mine[0]["event"] == "case.opened"
    r = await client.post(f"/api/v1/notifications/{mine[0]['id']}/read")
    assert r.status_code == 200 and r.json()["read_at"]
    # Another user cannot read or mark it.
    hr = await as_user("hr")
    assert (await hr.post(f"/api/v1/notifications/{mine[0]['id']}/read")).status_code == 404


async def test_nothing_is_sent_for_a_refused_change(db: AsyncSession, as_user: Any,
                                                    receivers: tuple[str, int]) -> None:
    base, _ = receivers
    t = await tenant(db, "ECOM")
    client = await as_user("compliance")
    await client.post("/api/v1/notify/rules", json={
        "tenant_id": t.id, "channel": "wecom", "target": f"{base}/wecom?key=K",
        "events": "case.opened,case.decided"})
    agent, _ = await team_agents(db, t.id)
    (cust,) = await customers(db, t.id, 1)
    alert = await make_alert(db, t, agent, cust)
    case_id = (await client.post("/api/v1/cases", json={"alert_ids": [alert.id]})).json()["id"]
    _Http.received.clear()
    # A decision without a reason is refused: no notification goes out.
    await client.post(f"/api/v1/cases/{case_id}/transition", json={"to": "triage"})
    r = await client.post(f"/api/v1/cases/{case_id}/transition", json={"to": "false_positive"})
    assert r.status_code == 422
    assert _Http.received == []
    r = await client.post(f"/api/v1/cases/{case_id}/transition",
                          json={"to": "false_positive", "reason": "official coupon"})
    assert r.status_code == 200
    assert len(_Http.received) == 1 and "decided" in \
        _Http.received[0]["body"]["text"]["content"]


async def test_sla_sweep_records_and_notifies_once(db: AsyncSession, as_user: Any,
                                                   receivers: tuple[str, int]) -> None:
    base, _ = receivers
    t = await tenant(db, "ECOM")
    client = await as_user("compliance")
    await client.post("/api/v1/notify/rules", json={
        "tenant_id": t.id, "channel": "wecom", "target": f"{base}/wecom?key=K",
        "events": "case.sla_warning,case.sla_breached"})
    agent, _ = await team_agents(db, t.id)
    (cust,) = await customers(db, t.id, 1)
    alert = await make_alert(db, t, agent, cust)
    case_id = (await client.post("/api/v1/cases", json={"alert_ids": [alert.id]})).json()["id"]
    case = await db.get(Case, case_id)
    assert case is not None
    case.created_at = utcnow() - timedelta(hours=3)
    case.triage_due_at = utcnow() - timedelta(hours=1)
    await db.flush()
    r = await client.post("/api/v1/cases/sla-sweep")
    assert {"case_id": case_id, "clock": "triage", "state": "breached"} in r.json()
    assert sum("SLA breached" in x["body"]["text"]["content"] for x in _Http.received) >= 1
    again = await client.post("/api/v1/cases/sla-sweep")
    assert not [x for x in again.json() if x["case_id"] == case_id]
    kinds = [e["kind"] for e in (await client.get(f"/api/v1/cases/{case_id}/events")).json()]
    assert kinds.count("sla_breached") == 1


async def test_inbox_page(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    client = await as_user("compliance")
    r = await client.post("/api/v1/notify/rules", json={
        "tenant_id": t.id, "channel": "in_app", "role": "compliance"})
    assert r.status_code == 201
    agent, _ = await team_agents(db, t.id)
    (cust,) = await customers(db, t.id, 1)
    alert = await make_alert(db, t, agent, cust)
    case_id = (await client.post("/api/v1/cases", json={"alert_ids": [alert.id]})).json()["id"]
    page = await client.get("/notifications", headers={"accept": "text/html"})
    assert page.status_code == 200 and f"案件 #{case_id}" in page.text
    n = next(x for x in (await client.get("/api/v1/notifications")).json()
         if x["case_id"] == case_id)
    r = await client.post(f"/notifications/{n['id']}/read", data={
        "next": "case", "csrf_token": client.headers["X-CSRF-Token"]})
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case_id}"


async def test_the_group_standard_bounds_the_rules(db: AsyncSession, as_user: Any,
                                                  receivers: tuple[str, int]) -> None:
    """Section `notifications`: robots HQ does not allow stay silent (and cannot be added),
    nothing fires below the minimum severity, and the compliance events reach compliance
    in-app with no rule at all."""
    from sqlalchemy import select

    from probity.governance import change_settings
    from probity.models import Notification, Tenant, User

    base, _ = receivers
    t = await tenant(db, "ECOM")
    client = await as_user("compliance")
    r = await client.post("/api/v1/notify/rules", json={
        "tenant_id": t.id, "channel": "wecom", "target": f"{base}/wecom?key=K"})
    assert r.status_code == 201, r.text
    hq = await db.scalar(select(Tenant.id).where(Tenant.parent_id.is_(None)))
    assert hq is not None
    await change_settings(db, None, hq, "notifications",
                          {"allowed_robots": ["feishu"], "min_severity": 3},
                          reason="test", actor_name="test")
    r = await client.post("/api/v1/notify/rules", json={
        "tenant_id": t.id, "channel": "dingtalk", "target": f"{base}/ding?access_token=T"})
    assert r.status_code == 422 and r.json()["code"] == "robot_not_allowed"
    agent, _ = await team_agents(db, t.id)
    (cust,) = await customers(db, t.id, 1)
    low = await make_alert(db, t, agent, cust, severity=2)
    case_id = (await client.post("/api/v1/cases", json={"alert_ids": [low.id]})).json()["id"]
    assert _Http.received == []  # wecom is no longer allowed (and severity 2 < 3 anyway)
    me = await db.scalar(select(User.id).where(User.username == "compliance"))
    notes = (await db.scalars(select(Notification).where(
        Notification.user_id == me, Notification.case_id == case_id))).all()
    assert [n.event for n in notes] == ["case.opened"]  # a compliance event: always in-app
