"""Scale-out on this machine: 3 app processes and 2 workers against PostgreSQL and Redis.
Chat, alerts and jobs are correct whichever process a client reaches: a customer on app A talks
to an agent on app C, a block on A reaches the HR feed on B, a verification started on A runs
in a worker and is followed to the end on C."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url
from tests.chat.conftest import recv, recv_until, sign_in, ws_connect
from tests.conftest import pg_admin
from tests.jobs.conftest import Procs, wait_for

from probity.db import sync_url

PG_URL = os.environ.get("PROBITY_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("PROBITY_TEST_REDIS_URL", "")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(not PG_URL.startswith("postgresql") or not REDIS_URL,
                       reason="needs PostgreSQL (PROBITY_TEST_DATABASE_URL) and Redis "
                              "(PROBITY_TEST_REDIS_URL)"),
]


@pytest.fixture(scope="module")
def mp_db_url(fresh_postgres: Callable[[str], str]) -> Iterator[str]:
    """A database of this test's own next to the test database (a copy of the run's seeded
    one, never the test database itself), dropped afterwards."""
    url = fresh_postgres("mp")
    yield url
    pg_admin(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture
def cluster(procs: Procs, mp_db_url: str) -> Iterator[list[str]]:
    prefix = f"probity-mp-{uuid.uuid4().hex[:8]}"
    env = procs.env(mp_db_url, PROBITY_REDIS_URL=REDIS_URL, PROBITY_BROKER_URL=REDIS_URL,
                    PROBITY_REDIS_CHANNEL_PREFIX=prefix,
                    PROBITY_SCHEDULES='{"cases.sla_sweep": 0, "ledger.checkpoints": 0, '
                                      '"jobs.recover": 0, "ledger.retention_purge": 0}')
    for i in (1, 2):
        procs.start(["worker", "--threads", "2"], env, f"worker{i}")
    bases = [procs.serve(env, name=f"app{i}") for i in (1, 2, 3)]
    yield bases
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_three_apps_two_workers_chat_alerts_and_jobs(cluster: list[str], procs: Procs,
                                                     mp_db_url: str) -> None:
    app_a, app_b, app_c = cluster
    # Chat: the agent is available through C, the customer starts on A; sockets on A and C.
    agent = sign_in(app_c, "agent")
    assert agent.put("/api/v1/chat/agent/availability",
                     json={"available": True}).status_code == 200
    customer = sign_in(app_a, "customer")
    conv = customer.post("/api/v1/chat/conversations", json={}).json()["conversation"]
    hr = sign_in(app_b, "hr")
    cws = ws_connect(app_a, f"/ws/chat/{conv['id']}", customer)
    aws = ws_connect(app_c, f"/ws/chat/{conv['id']}", agent)
    feed = ws_connect(app_b, "/ws/alerts", hr)
    try:
        for ws in (cws, aws):
            recv_until(ws, "synced", timeout=30)
        assert recv(feed, timeout=30)["type"] == "ready"
        # The first message on a process compiles its screening policy: generous timeouts on
        # this shared 2-core machine running five servers.
        cws.send('{"type": "send", "client_id": "m1", "text": "您好，订单什么时候发货"}')
        ack, _ = recv_until(cws, "ack", timeout=60)
        got, _ = recv_until(aws, "message", timeout=30)
        assert got["seq"] == ack["seq"] and got["body"].startswith("您好")
        # A block on A: the HR feed on B gets the alert, the agent on C never the message.
        cws.send('{"type": "send", "client_id": "m2", "text": "加我vx abc12345 私下转账"}')
        blocked, _ = recv_until(cws, "ack", timeout=30)
        assert blocked["decision"] == "block"
        alert = recv(feed, timeout=30)
        assert alert["alert"]["conversation_id"] == conv["id"]
        aws.send('{"type": "ping"}')
        _pong, before = recv_until(aws, "pong", timeout=30)
        # The agent never gets the blocked message itself, only the customer_attempt notice.
        assert all(f.get("seq") != blocked["seq"] for f in before if f.get("type") == "message")
        # Metrics on A count its open socket.
        metrics = httpx.get(f"{app_a}/metrics", timeout=10).text
        assert 'probity_websocket_connections{route="/ws/chat/{conv_id}"} 1.0' in metrics
    finally:
        for ws in (cws, aws, feed):
            ws.close()

    # Jobs: verifications started on A and B run in the workers; C follows them to the end.
    comp_a, comp_b, comp_c = (sign_in(base, "compliance") for base in cluster)
    tenants = [s for s in comp_a.get("/api/v1/ledger/status").json() if s["size"] > 0]
    started = []
    for i, tenant in enumerate(tenants):
        client = comp_a if i % 2 == 0 else comp_b
        r = client.post("/api/v1/ledger/verify", json={"tenant_id": tenant["tenant_id"]})
        assert r.status_code == 202, r.text
        started.append((r.json()["id"], tenant))
    for vid, tenant in started:
        done = wait_for(lambda vid=vid: (v := comp_c.get(
            f"/api/v1/ledger/verifications/{vid}").json())["state"] != "running" and v,
            what=f"verification {vid}", timeout=120)
        assert done["state"] == "ok" and done["entries_checked"] >= tenant["size"], done
    jobs = [j for j in comp_c.get("/api/v1/jobs").json() if j["task"] == "ledger.verify"]
    assert len(jobs) == len(started) and all(j["state"] == "done" for j in jobs)
    assert all(j["attempts"] == 1 for j in jobs), "each ran once"
    worker_pids = {p.pid for p in procs.children[:2]}
    ran_on = {int(_worker_of(mp_db_url, j["id"]).rsplit(":", 1)[1]) for j in jobs}
    assert ran_on <= worker_pids, (ran_on, worker_pids)  # never in an app process
    depth = httpx.get(f"{app_b}/metrics", timeout=10).text
    assert "probity_queue_depth 0.0" in depth



def _worker_of(db_url: str, job_id: int) -> str:
    """The worker that ran a job (hostname:pid), from the job row."""
    engine = create_engine(sync_url(db_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        value: Any = conn.execute(text("SELECT worker FROM jobs WHERE id = :i"),
                                  {"i": job_id}).scalar_one()
    engine.dispose()
    return str(value)
