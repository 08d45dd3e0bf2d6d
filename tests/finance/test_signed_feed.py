"""The HMAC-signed finance feed: batches signed with the tenant's feed secret (Standard Webhooks
headers, signed here with the `standardwebhooks` reference library), timestamp tolerance,
replay protection by id, and a 401 that says which check failed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook
from tests.cases.helpers import customers, tenant


def signed(secret: str, msg_id: str, body: bytes, at: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if at is None else at
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, UTC), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature,
            "content-type": "application/json"}


async def test_signed_feed(db: AsyncSession, as_user: Any, client: httpx.AsyncClient) -> None:
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    finance = await as_user("finance")
    assert (await finance.get(f"/api/v1/finance/feed/secrets/{t.id}")).json()["configured"] \
        is False
    r = await finance.post(f"/api/v1/finance/feed/secrets/{t.id}")
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    assert secret.startswith("whsec_")
    home = await tenant(db, "HOME")  # finance's scope is ECOM
    assert (await finance.post(f"/api/v1/finance/feed/secrets/{home.id}")).status_code == 404
    compliance = await as_user("compliance")
    assert (await compliance.post(f"/api/v1/finance/feed/secrets/{t.id}")).status_code == 403
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    url = f"/api/v1/finance/feed/signed/{t.id}"
    rows = [{"order_no": "S-1", "customer_no": c.customer_no, "amount": "88.00",
             "status": "paid", "placed_at": "2026-11-20T10:00:00+08:00"}]
    body = json.dumps({"kind": "orders", "rows": rows}).encode()
    # Signed by the reference implementation, no session or token: imported.
    r = await client.post(url, content=body, headers=signed(secret, "feed-0001", body))
    assert r.status_code == 200, r.text
    assert r.json()["insert"] == 1 and r.json()["import_id"]
    # The same message again (a replay): 409, nothing imported twice.
    r = await client.post(url, content=body, headers=signed(secret, "feed-0001", body))
    assert r.status_code == 409 and r.json()["code"] == "feed_replayed"
    # A wrong signature, an altered body, a stale timestamp, missing headers: 401, saying why.
    bad = signed(secret, "feed-0002", body)
    bad["webhook-signature"] = "v1,AAAA"
    r = await client.post(url, content=body, headers=bad)
    assert r.status_code == 401 and r.json()["code"] == "signature_invalid"
    assert "签名不匹配" in r.json()["detail"]
    r = await client.post(url, content=body + b" ", headers=signed(secret, "feed-0003", body))
    assert r.status_code == 401 and r.json()["code"] == "signature_invalid"
    old = int(time.time()) - 3600
    r = await client.post(url, content=body, headers={
        **signed(secret, "feed-0004", body, at=old), "accept-language": "en"})
    assert r.status_code == 401 and r.json()["code"] == "timestamp_out_of_tolerance"
    assert "seconds away from the server's clock" in r.json()["detail"]
    r = await client.post(url, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 401 and r.json()["code"] == "signature_missing"
    r = await client.post(url, content=body,
                          headers={**signed(secret, "feed-0005", body), "webhook-timestamp": "x"})
    assert r.status_code == 401 and r.json()["code"] == "timestamp_invalid"
    # Another tenant's URL with this secret: that tenant has no feed secret.
    r = await client.post(f"/api/v1/finance/feed/signed/{home.id}", content=body,
                          headers=signed(secret, "feed-0006", body))
    assert r.status_code == 401 and r.json()["code"] == "feed_not_configured"
    # A well-signed but invalid batch: 422 (and the id is spent only when it was accepted).
    junk = json.dumps({"kind": "nope", "rows": rows}).encode()
    r = await client.post(url, content=junk, headers=signed(secret, "feed-0007", junk))
    assert r.status_code == 422
    # Rotating the secret: the old one stops working at once.
    finance = await as_user("finance")
    new_secret = (await finance.post(f"/api/v1/finance/feed/secrets/{t.id}")).json()["secret"]
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    r = await client.post(url, content=body, headers=signed(secret, "feed-0008", body))
    assert r.status_code == 401
    r = await client.post(url, content=body, headers=signed(new_secret, "feed-0009", body))
    assert r.status_code == 200 and r.json()["unchanged"] == 1
