"""Shared test fixtures.

The database is migrated with Alembic and seeded with the demo group once per run (SQLite in a
temp dir by default, or PROBITY_TEST_DATABASE_URL, e.g. PostgreSQL in CI); pytest-xdist workers
each get a copy (SQLite) or a clone (PostgreSQL) of that seeded template. Each test then
runs inside a transaction that is rolled back, so tests never see each other's writes.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from probity.app import create_app
from probity.auth.deps import get_session
from probity.config import Settings
from probity.db import Database, make_engine, sync_url
from probity.demo import DEMO_PASSWORD

TEST_SECRET = "test-secret-key-0123456789abcdef0123456789"


def _cheap_password_hashing() -> None:
    """argon2id at low cost for the test run, as test settings usually make it (argon2's own
    docs keep a cheapest profile for tests). The product's parameters (64 MiB, 3 passes, 4 lanes)
    cost ~0.1 s of CPU per hash or check, and the suite signs in some 2,000 times; the algorithm,
    the `$argon2id$` format and every check are the same. The seeded template's demo accounts
    are hashed with these parameters, and a hash carries its parameters, so the live servers
    (tests/browser) check them at this cost too."""
    from argon2 import PasswordHasher

    from probity.auth import passwords

    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._DUMMY_HASH = passwords._hasher.hash("not-a-real-password-1A!")


_cheap_password_hashing()


DURATIONS = Path(__file__).with_name("durations.json")


def _file_cost(path: str, items: list[pytest.Item], known: dict[str, float]) -> float:
    """A file's expected seconds: measured (tests/durations.json), else a guess from its size."""
    if path in known:
        return known[path]
    browser = any(item.get_closest_marker("browser") for item in items)
    return 0.5 * len(items) + (20.0 if browser else 0.0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first. `make test` runs `-n 2 --dist loadfile --no-loadscope-reorder`: each
    file goes whole to the next idle worker in this order, so the run ends on short files
    instead of waiting for one worker's long file (xdist's own order, by number of tests, put
    the one-test files that start a server or a browser last). Within a file, the order is
    the file's. The expected times are tests/durations.json (seconds per file, measured with
    PROBITY_TEST_DURATIONS=write; a file not in it is estimated from its number of tests).
    A browser test module holds Playwright's event loop only while its module-scoped browser
    is open, so browser files may run between async ones.

    PROBITY_TEST_DB_ONLY=1 (CI's second run, against PostgreSQL and Redis) keeps only the tests
    whose outcome can depend on the database or a service: those using the `database_url`
    fixture and those marked `postgres` or `redis`. The rest are pure and already ran."""
    if os.environ.get("PROBITY_TEST_DB_ONLY") == "1":
        keep, drop = [], []
        for item in items:
            uses_db = "database_url" in getattr(item, "fixturenames", ())
            service = item.get_closest_marker("postgres") or item.get_closest_marker("redis")
            (keep if uses_db or service else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    cost = {path: _file_cost(path, group, known) for path, group in by_file.items()}
    items.sort(key=lambda item: -cost[item.nodeid.split("::", 1)[0]])  # stable: file order kept


_measured: dict[str, float] = {}
# Read once and taken out of the environment: a test that runs pytest in a subprocess
# (tests/screening/test_screening_compiled.py) must not write its own figures.
_WRITE_DURATIONS = os.environ.pop("PROBITY_TEST_DURATIONS", "") == "write"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _WRITE_DURATIONS:
        path = report.nodeid.split("::", 1)[0]
        _measured[path] = _measured.get(path, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """PROBITY_TEST_DURATIONS=write: this run's seconds per file into tests/durations.json
    (files this run did not reach keep their figure). Written by the xdist controller, which
    sees every worker's reports, or by a run without xdist."""
    if not _measured or hasattr(session.config, "workerinput"):
        return
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    known.update({path: round(seconds, 1) for path, seconds in _measured.items()})
    DURATIONS.write_text(json.dumps(dict(sorted(known.items())), indent=0) + "\n")


def _reset_postgres(url: str) -> None:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _migrate_and_seed(url: str) -> None:
    from probity.demo import seed_demo
    from probity.migrate import upgrade

    upgrade(url)
    asyncio.run(seed_demo(Settings(database_url=url, secret_key=TEST_SECRET), if_empty=False))


@contextmanager
def _run_lock(root: Path) -> Iterator[None]:
    """One lock for the whole run: pytest-xdist workers share `root`, the first one in builds
    what the others then reuse."""
    with open(root / "probity-template.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _worker_id() -> str:
    """`gw0`, `gw1`… under pytest-xdist, `master` without it."""
    return os.environ.get("PYTEST_XDIST_WORKER", "master")


def _run_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """This run's directory: shared by all xdist workers (their base temps are its children);
    without xdist, the run's own base temp."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file seeded with the demo group, built once per run (the seed takes
    tens of seconds) and copied by every fixture that needs a database of its own."""
    root = _run_root(tmp_path_factory, _worker_id())
    template = root / "seeded-template.db"
    with _run_lock(root):
        if not template.exists():
            building = root / "seeded-template.building.db"
            building.unlink(missing_ok=True)
            _migrate_and_seed(f"sqlite+aiosqlite:///{building}")
            building.rename(template)
    return template


def copy_seeded(template: Path, target: Path) -> str:
    """A private copy of the seeded template; returns its URL."""
    shutil.copy(template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture(scope="session")
def fresh_sqlite(seeded_sqlite: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> Callable[[str], str]:
    """Makes private copies of the seeded template, for fixtures of any scope that need a
    database of their own (a live server's, a module's): `fresh_sqlite("chat")` is the URL of a
    new copy in a new temp dir. A copy takes milliseconds; migrating and seeding again (`probity
    migrate` + `probity demo seed`) takes tens of seconds of CPU and hashes every demo password
    at the product's argon2 cost."""

    def make(name: str) -> str:
        return copy_seeded(seeded_sqlite, tmp_path_factory.mktemp(name) / f"{name}.db")

    return make


def seed_postgres(url: str) -> None:
    """Empty, migrate and seed the PostgreSQL database at `url` as the test run does. `.ci/run`
    calls it in the background (niced) while the SQLite run goes on, then starts the PostgreSQL
    run with PROBITY_TEST_DATABASE_SEEDED=1 so that run only clones it."""
    _reset_postgres(url)
    _migrate_and_seed(url)


def _postgres_for_worker(url: str, root: Path, worker_id: str) -> str:
    """The CI database is migrated and seeded once (here, or before the run: see
    seed_postgres); each xdist worker gets a clone of it (CREATE DATABASE … TEMPLATE), so
    workers never share rows or transactions."""
    with _run_lock(root):
        marker = root / "postgres-seeded"
        if not marker.exists():
            if os.environ.get("PROBITY_TEST_DATABASE_SEEDED") != "1":
                seed_postgres(url)
            marker.touch()
        if worker_id == "master":
            return url
        base = make_url(url)
        name = f"{base.database}_{worker_id}"
        admin = create_engine(sync_url(url), poolclass=pool.NullPool,
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"'))
        admin.dispose()
        return base.set(database=name).render_as_string(hide_password=False)


def pg_admin(url: str, *statements: str) -> None:
    """Runs `statements` in autocommit on the PostgreSQL server of `url`, connected to its
    maintenance database ``postgres``: never to the run's seeded database, which must have no
    other connection while it is cloned (`fresh_postgres`)."""
    admin = create_engine(sync_url(make_url(url).set(database="postgres")
                                   .render_as_string(hide_password=False)),
                          poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def fresh_postgres(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[Callable[[str], str]]:
    """The PostgreSQL twin of `fresh_sqlite`, for fixtures that commit (live servers, the chat
    writer): `fresh_postgres("chat")` is the URL of a new database on PROBITY_TEST_DATABASE_URL's
    server holding the run's migrated and seeded demo group. Under xdist it is a clone of the
    run's seeded database (CREATE DATABASE … TEMPLATE, under the run's lock, which every other
    connection to that database is made under too); without xdist that database is this
    process's own and connected, so the copy is migrated and seeded afresh. Dropped at the end
    of the session (or earlier by the caller, `pg_admin(url, 'DROP DATABASE …')`)."""
    url = os.environ.get("PROBITY_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: PROBITY_TEST_DATABASE_URL is not a PostgreSQL URL")
    request.getfixturevalue("database_url")  # the run's database is seeded (once per run)
    worker = _worker_id()
    root = _run_root(tmp_path_factory, worker)
    base = make_url(url)
    made: list[str] = []

    def make(name: str) -> str:
        database = f"{base.database}_{name}_{uuid.uuid4().hex[:8]}"
        made.append(database)
        if worker == "master":
            pg_admin(url, f'CREATE DATABASE "{database}"')
            copy = base.set(database=database).render_as_string(hide_password=False)
            _migrate_and_seed(copy)
            return copy
        with _run_lock(root):
            pg_admin(url, f'CREATE DATABASE "{database}" TEMPLATE "{base.database}"')
        return base.set(database=database).render_as_string(hide_password=False)

    yield make
    if made:
        pg_admin(url, *(f'DROP DATABASE IF EXISTS "{d}" WITH (FORCE)' for d in made))


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[str]:
    url = os.environ.get("PROBITY_TEST_DATABASE_URL")
    if url:
        worker = _worker_id()
        yield _postgres_for_worker(url, _run_root(tmp_path_factory, worker), worker)
        return
    template: Path = request.getfixturevalue("seeded_sqlite")
    yield copy_seeded(template, tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(autouse=True)
def _fresh_process_state() -> None:
    """Per-process caches and counters start empty: a test's rolled-back policy change, or its
    failed guest sign-ins, must not leak into the next test."""
    from probity import ratelimit
    from probity.policy import registry

    registry.reset()
    ratelimit.reset()
    from probity.chat.screening import forget_contexts

    forget_contexts()  # conversation ids repeat across rolled-back tests
    from probity.governance.service import reset_cache

    reset_cache()
    from probity.monitoring import enforce

    enforce.reset()  # monitoring rules are cached per process (5 s): another test's database


@pytest.fixture(scope="session")
def dialect(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_SECRET, env="test",
                    attachments_dir=tmp_path / "attachments")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back after the test. Commits made
    by the code under test release savepoints instead."""
    engine = make_engine(database_url, poolclass=pool.NullPool)
    conn = await engine.connect()
    outer = await conn.begin()
    session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    try:
        yield session
    finally:
        await session.close()
        if outer.is_active:
            await outer.rollback()
        await conn.close()
        await engine.dispose()


@pytest.fixture
def app(settings: Settings, db: AsyncSession, database_url: str):  # type: ignore[no-untyped-def]
    application = create_app(settings, database=Database(database_url))

    async def test_session() -> AsyncIterator[AsyncSession]:
        yield db

    application.dependency_overrides[get_session] = test_session
    return application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def login(client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD
                ) -> dict[str, object]:
    """Sign in through the API and arm the client with the session's CSRF token."""
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    csrf = (await client.get("/api/v1/auth/csrf")).json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def as_user(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    async def _as(username: str) -> httpx.AsyncClient:
        client.cookies.clear()
        client.headers.pop("X-CSRF-Token", None)
        await login(client, username)
        return client

    return _as
