"""Liveness, readiness, Prometheus metrics and JSON logs with request ids."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from probity.ops.logs import JsonFormatter, RequestIdFilter


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    r = await client.get("/health/live")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = await client.get("/health/ready")
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["database"] == "ok"


async def test_not_ready_names_the_failing_dependency(app: Any, client: httpx.AsyncClient
                                                      ) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"broker_url": "redis://127.0.0.1:1/0"})  # nothing listens on port 1
    r = await client.get("/health/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["code"] == "not_ready" and body["checks"]["broker"].startswith("unreachable")
    assert body["checks"]["database"] == "ok"


async def test_metrics_expose_latency_decisions_queue_and_sockets(
        as_user: Any, app: Any) -> None:
    client = await as_user("compliance")
    assert (await client.get("/api/v1/ledger/status")).status_code == 200
    from probity.ops.metrics import screening_decision

    screening_decision("block")
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert ('probity_http_request_duration_seconds_count{method="GET",'
            'route="/api/v1/ledger/status",status="200"}') in text
    assert 'probity_screening_decisions_total{decision="block"}' in text
    assert "probity_queue_depth " in text and 'probity_jobs{state="queued"}' in text
    assert "probity_chat_writer_batches_total" in text
    assert "# TYPE probity_websocket_connections gauge" in text
    # With a token configured, /metrics wants it.
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": "s3cret"})
    assert (await client.get("/metrics")).status_code == 401
    ok = await client.get("/metrics", headers={"authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_json_log_lines_carry_the_request_id() -> None:
    from probity.context import request_id_var

    record = logging.LogRecord("probity.x", logging.INFO, __file__, 1, "hello %s", ("there",),
                               None)
    token = request_id_var.set("rid-123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    record.route = "/api/v1/x"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello there" and line["request_id"] == "rid-123"
    assert line["level"] == "info" and line["route"] == "/api/v1/x"
