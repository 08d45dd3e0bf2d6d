"""Prometheus metrics (prometheus-client), served at ``/metrics``.

Per process (scrape every app process: one per container, or set ``PROMETHEUS_MULTIPROC_DIR``
for ``serve --workers``): request latency by route template, screening decisions, open
WebSocket connections, the chat writer's batches. System-wide, read from the job table at scrape
time: jobs by state and the queue depth.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "REGISTRY",
    "MetricsMiddleware",
    "render_metrics",
    "screening_decision",
]

log = logging.getLogger("probity.access")

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_LATENCY = Histogram(
    "probity_http_request_duration_seconds", "HTTP request latency by route template",
    ["method", "route", "status"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
SCREENING_DECISIONS = Counter(
    "probity_screening_decisions", "Messages screened, by decision (allow, warn, block)",
    ["decision"], registry=REGISTRY)
OPEN_SOCKETS = Gauge(
    "probity_websocket_connections", "Open WebSocket connections (chat, agent inbox, alerts)",
    ["route"], registry=REGISTRY)
JOBS = Gauge("probity_jobs", "Background jobs by state (whole system, from the job table)",
             ["state"], registry=REGISTRY)
QUEUE_DEPTH = Gauge("probity_queue_depth",
                    "Background jobs waiting for a worker (whole system)", registry=REGISTRY)

_DIGITS = re.compile(r"/\d+")


_DECISION_COUNTERS: dict[str, Any] = {}


def screening_decision(decision: str) -> None:
    """Counted for every message sent: the labelled child is looked up once per decision."""
    counter = _DECISION_COUNTERS.get(decision)
    if counter is None:
        counter = _DECISION_COUNTERS[decision] = SCREENING_DECISIONS.labels(decision)
    counter.inc()


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "unmatched"  # never the raw path: one label value per URL would explode


class MetricsMiddleware:
    """Times HTTP requests (and logs one access line with the request id); counts open
    WebSockets. Sits inside the request-id middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            took = time.perf_counter() - start
            route = _route(scope)
            REQUEST_LATENCY.labels(scope["method"], route, str(status)).observe(took)
            log.info("%s %s %s %.1fms", scope["method"], route, status, took * 1000,
                     extra={"method": scope["method"], "route": route, "status": status,
                            "duration_ms": round(took * 1000, 1)})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        gauge: Any = None

        async def counting_send(message: Message) -> None:
            nonlocal gauge
            if message["type"] == "websocket.accept" and gauge is None:
                gauge = OPEN_SOCKETS.labels(_route(scope) if scope.get("route") else
                                            _DIGITS.sub("/{id}", scope.get("path", "")))
                gauge.inc()
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if gauge is not None:
                gauge.dec()


class _WriterCollector(Collector):
    """The chat group-commit writers' counters (batches, messages, largest batch): the mean
    batch size is rate(messages) / rate(batches)."""

    def collect(self) -> Iterator[Metric]:
        from probity.chat.writer import _WRITERS

        writers = list(_WRITERS.values())
        batches = CounterMetricFamily("probity_chat_writer_batches",
                                      "Transactions committed by the chat writer")
        messages = CounterMetricFamily("probity_chat_writer_messages",
                                       "Messages stored by the chat writer")
        largest = GaugeMetricFamily("probity_chat_writer_largest_batch",
                                    "Largest batch the chat writer has committed")
        batches.add_metric([], sum(w.batches for w in writers))
        messages.add_metric([], sum(w.messages for w in writers))
        largest.add_metric([], max((w.largest_batch for w in writers), default=0))
        yield batches
        yield messages
        yield largest

    def describe(self) -> Iterator[Metric]:
        return iter(())


REGISTRY.register(_WriterCollector())


async def render_metrics(session: AsyncSession) -> bytes:
    """The exposition text, with the job gauges read from the database now."""
    from probity.models.jobs import JOB_STATES, Job

    counts = dict((await session.execute(
        select(Job.state, func.count()).where(Job.state.in_(("queued", "running")))
        .group_by(Job.state))).all())
    for state in JOB_STATES[:2]:
        JOBS.labels(state).set(int(counts.get(state, 0)))
    QUEUE_DEPTH.set(int(counts.get("queued", 0)))
    return generate_latest(REGISTRY)
