"""Webhooks end to end: subscriptions and their scope, SSRF refusals, signed deliveries to a
real HTTP receiver (verified with the `standardwebhooks` reference library), backoff and retry,
disabling after repeated failures with a notification, replay, secret rotation, pages."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook
from tests.cases.helpers import tenant
from tests.webhooks.conftest import Receiver

from probity import webhooks
from probity.config import Settings
from probity.jobs import enqueue
from probity.jobs.runtime import InlineRuntime
from probity.models import Notification
from probity.models.base import utcnow
from probity.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint


async def subscribe(client: Any, tenant_id: int, url: str, events: list[str]) -> dict[str, Any]:
    r = await client.post("/api/v1/webhooks/endpoints",
                          json={"tenant_id": tenant_id, "url": url, "events": events})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("url", "code"), [
    ("ftp://hooks.example.com/x", "webhook_url_scheme"),
    ("javascript:alert(1)", "webhook_url_scheme"),
    ("http://127.0.0.1:8000/x", "webhook_url_private"),
    ("http://localhost/x", "webhook_url_private"),
    ("http://10.1.2.3/x", "webhook_url_private"),
    ("http://192.168.0.10/x", "webhook_url_private"),
    ("http://169.254.169.254/latest/meta-data", "webhook_url_private"),
    ("http://[::1]/x", "webhook_url_private"),
    ("http://[::ffff:127.0.0.1]/x", "webhook_url_private"),
    ("http://0.0.0.0/x", "webhook_url_private"),
    ("http://user:pw@93.184.216.34/x", "webhook_url_credentials"),
    ("http://no-such-host.invalid/x", "webhook_url_unresolvable"),
    ("http:///x", "webhook_url_invalid"),
])
async def test_unsafe_urls_are_422(db: AsyncSession, as_user: Any, url: str, code: str) -> None:
    hq = await tenant(db, "HQ")
    admin = await as_user("admin")
    before = set((await db.scalars(select(WebhookEndpoint.id))).all())
    r = await admin.post("/api/v1/webhooks/endpoints",
                         json={"tenant_id": hq.id, "url": url, "events": ["alert.created"]})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert r.json()["detail"]  # a message in the caller's language
    assert set((await db.scalars(select(WebhookEndpoint.id))).all()) == before


async def test_every_resolved_address_is_checked(db: AsyncSession, as_user: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A name answering one public and one private address is refused."""
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "mixed.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    hq = await tenant(db, "HQ")
    admin = await as_user("admin")
    r = await admin.post("/api/v1/webhooks/endpoints", json={
        "tenant_id": hq.id, "url": "https://mixed.example.test/h", "events": ["*"]})
    assert r.status_code == 422 and r.json()["address"] == "10.0.0.5"
    # In English when asked.
    r = await admin.post("/api/v1/webhooks/endpoints", headers={"accept-language": "en"}, json={
        "tenant_id": hq.id, "url": "https://mixed.example.test/h", "events": ["*"]})
    assert "public addresses" in r.json()["detail"] or "公网" in r.json()["detail"]


async def test_signed_delivery_to_a_real_receiver(db: AsyncSession, as_user: Any,
                                                  receiver: Receiver, jobs: InlineRuntime,
                                                  webhook_settings: Settings) -> None:
    hq, ecom = await tenant(db, "HQ"), await tenant(db, "ECOM")
    admin = await as_user("admin")
    ep = await subscribe(admin, hq.id, receiver.url, ["alert.created", "case.changed"])
    secret = ep["secret"]
    # An agent's self-report in ECOM: an alert, grouped into a new case (HQ hears its subtree).
    agent = await as_user("agent")
    r = await agent.post("/api/v1/reports/self", json={"text": "客户说给我发个红包，我拒绝了"})
    assert r.status_code == 201, r.text
    await jobs.wait()
    types = sorted(json.loads(g.body)["type"] for g in receiver.got)
    assert types == ["alert.created", "case.changed"], types
    for got in receiver.got:
        assert got.path == "/hooks/probity"
        assert got.headers["webhook-id"].startswith("msg_")
        payload = Webhook(secret).verify(got.body, got.headers)  # the reference verifier
        assert payload["tenant_id"] == ecom.id
        assert "text" not in payload["data"]  # ids and codes, no message text
    delivered = (await db.scalars(select(WebhookDelivery))).all()
    assert {d.state for d in delivered} == {"delivered"}
    attempts = (await db.scalars(select(WebhookAttempt))).all()
    assert len(attempts) == 2 and all(a.status_code == 200 for a in attempts)
    # The delivery log through the API.
    admin = await as_user("admin")
    log = await admin.get(f"/api/v1/webhooks/endpoints/{ep['id']}/deliveries")
    assert log.status_code == 200 and len(log.json()) == 2
    detail = await admin.get(f"/api/v1/webhooks/deliveries/{log.json()[0]['id']}")
    assert detail.json()["attempts_log"][0]["status_code"] == 200


async def test_backoff_retry_disable_notify_and_replay(db: AsyncSession, as_user: Any,
                                                       receiver: Receiver, jobs: InlineRuntime,
                                                       webhook_settings: Settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from probity.webhooks import delivery

    monkeypatch.setattr(delivery, "get_settings",
                        lambda: webhook_settings.model_copy(update={"webhook_disable_after": 3}))
    hq = await tenant(db, "HQ")
    admin = await as_user("admin")
    ep = await subscribe(admin, hq.id, receiver.url, ["cycle.closed"])
    receiver.statuses = [500]
    assert await webhooks.emit(db, hq.id, "cycle.closed", {"cycle_id": 1}) == 1
    await db.flush()
    from probity.auth.deps import commit

    await commit(db)
    await jobs.wait()
    d = await db.scalar(select(WebhookDelivery))
    assert d is not None and d.state == "retrying" and d.attempts == 1 and d.last_status == 500
    assert d.next_attempt_at is not None
    first_wait = d.next_attempt_at - utcnow()
    assert timedelta(seconds=50) < first_wait < timedelta(seconds=70)  # 60 s ± 10 %

    async def retry_due() -> None:
        await db.execute(update(WebhookDelivery).where(WebhookDelivery.state == "retrying")
                         .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        await enqueue(db, "webhooks.retry_due")
        await commit(db)
        await jobs.wait()
        await db.refresh(d)

    await retry_due()
    assert d.attempts == 2 and d.state == "retrying"
    assert timedelta(seconds=250) < d.next_attempt_at - utcnow() < timedelta(seconds=350)
    # Not due yet: the sweep sends nothing.
    await enqueue(db, "webhooks.retry_due")
    await commit(db)
    await jobs.wait()
    assert len(receiver.got) == 2
    await retry_due()  # third consecutive failure: disabled, managers notified
    endpoint = await db.get(WebhookEndpoint, ep["id"])
    assert endpoint is not None
    await db.refresh(endpoint)
    assert not endpoint.active and endpoint.disabled_reason == "failing"
    assert d.state == "skipped"
    notes = (await db.scalars(select(Notification).where(
        Notification.event == "webhook.disabled"))).all()
    assert notes and any(n.user_id == endpoint.created_by_user_id for n in notes)
    assert len(receiver.got) == 3
    assert (await admin.get(f"/api/v1/webhooks/endpoints/{ep['id']}")).json()["active"] is False
    # While disabled, replay is refused; events are not queued.
    assert (await admin.post(f"/api/v1/webhooks/deliveries/{d.id}/replay")).status_code == 409
    assert await webhooks.emit(db, hq.id, "cycle.closed", {"cycle_id": 2}) == 0
    # The receiver is fixed; re-enable and replay: same message id, delivered.
    receiver.statuses = [204]
    r = await admin.patch(f"/api/v1/webhooks/endpoints/{ep['id']}", json={"active": True})
    assert r.status_code == 200 and r.json()["consecutive_failures"] == 0
    r = await admin.post(f"/api/v1/webhooks/deliveries/{d.id}/replay")
    assert r.status_code == 202, r.text
    assert r.json()["msg_id"] == d.msg_id and r.json()["replay_of_id"] == d.id
    await jobs.wait()
    replay = await db.get(WebhookDelivery, r.json()["id"])
    assert replay is not None
    await db.refresh(replay)
    assert replay.state == "delivered"
    assert receiver.got[-1].headers["webhook-id"] == d.msg_id
    Webhook(ep["secret"]).verify(receiver.got[-1].body, receiver.got[-1].headers)
    # Replay-all of failed/skipped since a time.
    r = await admin.post(f"/api/v1/webhooks/endpoints/{ep['id']}/replay",
                         json={"since": (utcnow() - timedelta(hours=1)).isoformat()})
    assert r.status_code == 202 and r.json()["replayed"] == 1
    r = await admin.post(f"/api/v1/webhooks/endpoints/{ep['id']}/replay",
                         json={"since": "2026-01-01T00:00:00"})
    assert r.status_code == 422  # a time without a zone


async def test_dns_rebinding_is_refused_at_delivery(db: AsyncSession, as_user: Any,
                                                    receiver: Receiver, jobs: InlineRuntime,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The name resolved to a public address when saved, to loopback when sending: the
    delivery is refused and nothing is sent."""
    answers = {"hooks.example.test": "93.184.216.34"}
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    hq = await tenant(db, "HQ")
    admin = await as_user("admin")
    port = receiver.url.split(":")[2].split("/")[0]
    ep = await subscribe(admin, hq.id, f"http://hooks.example.test:{port}/hooks/probity",
                         ["webhook.test"])
    answers["hooks.example.test"] = "127.0.0.1"
    assert (await admin.post(f"/api/v1/webhooks/endpoints/{ep['id']}/test")).status_code == 202
    await jobs.wait()
    d = await db.scalar(select(WebhookDelivery))
    assert d is not None
    await db.refresh(d)
    assert d.state == "retrying" and d.last_error and "webhook_url_private" in d.last_error
    assert receiver.got == []


async def test_rotation_signs_with_both_secrets(db: AsyncSession, as_user: Any,
                                                receiver: Receiver, jobs: InlineRuntime,
                                                webhook_settings: Settings) -> None:
    hq = await tenant(db, "HQ")
    admin = await as_user("admin")
    ep = await subscribe(admin, hq.id, receiver.url, ["webhook.test"])
    r = await admin.post(f"/api/v1/webhooks/endpoints/{ep['id']}/rotate-secret")
    assert r.status_code == 200 and r.json()["secret"] != ep["secret"]
    assert r.json()["previous_secret_valid_until"]
    assert (await admin.get(f"/api/v1/webhooks/endpoints/{ep['id']}/secret")
            ).json()["secret"] == r.json()["secret"]
    assert (await admin.post(f"/api/v1/webhooks/endpoints/{ep['id']}/test")).status_code == 202
    await jobs.wait()
    (got,) = receiver.got
    Webhook(r.json()["secret"]).verify(got.body, got.headers)
    Webhook(ep["secret"]).verify(got.body, got.headers)  # the old one, during the grace period


async def test_scope_and_permissions(db: AsyncSession, as_user: Any,
                                     webhook_settings: Settings) -> None:
    hq, ecom, home = [await tenant(db, c) for c in ("HQ", "ECOM", "HOME")]
    admin = await as_user("admin")
    hq_ep = await subscribe(admin, hq.id, "http://93.184.216.34/h", ["alert.created"])
    ecom_ep = await subscribe(admin, ecom.id, "http://93.184.216.34/e", ["*"])
    # Events of HOME reach HQ's endpoint, not ECOM's; unknown event types are refused.
    assert await webhooks.emit(db, home.id, "alert.created", {"id": 1}) == 1
    assert await webhooks.emit(db, ecom.id, "alert.created", {"id": 2}) == 2
    with pytest.raises(ValueError, match="unknown webhook event"):
        await webhooks.emit(db, ecom.id, "no.such", {})
    r = await admin.post("/api/v1/webhooks/endpoints", json={
        "tenant_id": hq.id, "url": "http://93.184.216.34/h", "events": ["no.such"]})
    assert r.status_code == 422 and r.json()["code"] == "unknown_event"
    # ecadmin administers ECOM only: HQ's endpoint is 404, creating for HQ is 422.
    ecadmin = await as_user("ecadmin")
    assert (await ecadmin.get(f"/api/v1/webhooks/endpoints/{hq_ep['id']}")).status_code == 404
    assert (await ecadmin.get(f"/api/v1/webhooks/endpoints/{ecom_ep['id']}")).status_code == 200
    assert [e["id"] for e in (await ecadmin.get("/api/v1/webhooks/endpoints")).json()] == [
        ecom_ep["id"]]
    r = await ecadmin.post("/api/v1/webhooks/endpoints", json={
        "tenant_id": hq.id, "url": "http://93.184.216.34/x", "events": ["*"]})
    assert r.status_code == 422 and r.json()["code"] == "unknown_tenant"
    hq_deliveries = await db.scalar(select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == hq_ep["id"]))
    assert (await ecadmin.get(f"/api/v1/webhooks/deliveries/{hq_deliveries}")).status_code == 404
    # The auditor reads, never writes or sees the secret; compliance has no access.
    auditor = await as_user("auditor")
    assert (await auditor.get(f"/api/v1/webhooks/endpoints/{hq_ep['id']}")).status_code == 200
    assert (await auditor.get(f"/api/v1/webhooks/endpoints/{hq_ep['id']}/secret")
            ).status_code == 403
    assert (await auditor.post(f"/api/v1/webhooks/endpoints/{hq_ep['id']}/test")
            ).status_code == 403
    compliance = await as_user("compliance")
    assert (await compliance.get("/api/v1/webhooks/endpoints")).status_code == 403


async def test_admin_pages(db: AsyncSession, as_user: Any, receiver: Receiver,
                           jobs: InlineRuntime, webhook_settings: Settings) -> None:
    hq = await tenant(db, "HQ")
    admin = await as_user("admin")
    html = {"accept": "text/html"}
    page = await admin.get("/webhooks", headers=html)
    assert page.status_code == 200 and "事件推送" in page.text and "订阅新端点" in page.text
    csrf = admin.headers["X-CSRF-Token"]
    r = await admin.post("/webhooks", headers=html, data={
        "csrf_token": csrf, "tenant_id": str(hq.id), "url": "http://127.0.0.2:1/x",
        "events": ["webhook.test"]})
    assert r.status_code == 422 and "推送地址解析为 127.0.0.2" in r.text
    r = await admin.post("/webhooks", headers=html, data={
        "csrf_token": csrf, "tenant_id": str(hq.id), "url": receiver.url,
        "events": ["webhook.test", "case.decided"]})
    assert r.status_code == 303, r.text
    ep_url = r.headers["location"]
    r = await admin.post(f"{ep_url}/test", headers=html, data={"csrf_token": csrf})
    assert r.status_code == 303
    await jobs.wait()
    page = await admin.get(ep_url, headers=html)
    assert page.status_code == 200 and "已送达" in page.text and "whsec_" in page.text
    delivery_id = await db.scalar(select(WebhookDelivery.id))
    page = await admin.get(f"/webhooks/deliveries/{delivery_id}", headers=html)
    assert page.status_code == 200 and "重新投递" in page.text
    r = await admin.post(f"/webhooks/deliveries/{delivery_id}/replay", headers=html,
                         data={"csrf_token": csrf})
    assert r.status_code == 303
    en = await admin.get(ep_url, headers={**html, "accept-language": "en"})
    auditor = await as_user("auditor")
    page = await auditor.get(ep_url, headers=html)
    assert page.status_code == 200 and "whsec_" not in page.text
    assert en.status_code == 200


async def test_demo_ships_a_disabled_example_endpoint(db: AsyncSession, as_user: Any) -> None:
    """The demo's `/webhooks` page is not empty, and the demo sends nothing anywhere."""
    from probity.webhooks.demo import DEMO_URL

    hq = await tenant(db, "HQ")
    demo = await db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.url == DEMO_URL))
    assert demo is not None and demo.tenant_id == hq.id
    assert demo.active is False and "training.overdue" in demo.events
    assert await webhooks.emit(db, hq.id, "training.overdue", {"assignment_id": 0}) == 0
    admin = await as_user("admin")
    page = await admin.get("/webhooks")
    assert page.status_code == 200 and "127.0.0.1:8099" in page.text
    assert "probity webhooks listen" in demo.description
