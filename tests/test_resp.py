"""The bus's own Redis client (`probity.resp`) over TLS: a `rediss://` URL's `ssl_*` options
mean what they mean to redis-py, which carries the bus's registrations for the same URL. The
Redis is the real one, behind a TLS terminator with a self-signed certificate made here."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import redis.asyncio as aioredis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from probity.resp import RespClient

REDIS_URL = os.environ.get("PROBITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.redis


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probity-test-redis")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "redis.crt", tmp / "redis.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
async def tls_redis(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """`rediss://127.0.0.1:<port>/<db>` terminating TLS in front of the test Redis, and the
    certificate it presents."""
    probe = aioredis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await probe.ping()
    except (OSError, aioredis.RedisError):
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    finally:
        await probe.aclose()
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    target = urlsplit(REDIS_URL)
    pipes: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target.hostname,
                                                             target.port or 6379)
        for task in (pipe(reader, up_writer), pipe(up_reader, writer)):
            pipes.add(asyncio.ensure_future(task))

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    yield f"rediss://127.0.0.1:{port}{target.path or '/0'}", cert
    server.close()
    for task in pipes:
        task.cancel()
    await asyncio.gather(*pipes, return_exceptions=True)


async def _resp_ping(url: str) -> object:
    client = RespClient(url, timeout=5.0)
    try:
        return await client.call(b"PING")
    finally:
        client.close()


async def _redis_py_ping(url: str) -> object:
    client = aioredis.from_url(url, socket_connect_timeout=5)
    try:
        return await client.ping()
    finally:
        await client.aclose()


async def test_an_unverified_certificate_is_refused_by_default_as_by_redis_py(
        tls_redis: tuple[str, Path]) -> None:
    url, _ = tls_redis
    with pytest.raises(ssl.SSLCertVerificationError):
        await _resp_ping(url)
    with pytest.raises(aioredis.ConnectionError):
        await _redis_py_ping(url)


async def test_ssl_cert_reqs_none_connects_as_with_redis_py(
        tls_redis: tuple[str, Path]) -> None:
    url = tls_redis[0] + "?ssl_cert_reqs=none"
    assert await _resp_ping(url) in (b"PONG", "PONG")
    assert await _redis_py_ping(url) is True


async def test_ssl_ca_certs_verifies_the_server_and_its_address(
        tls_redis: tuple[str, Path]) -> None:
    url, cert = tls_redis
    trusted = f"{url}?ssl_ca_certs={quote(str(cert))}"
    assert await _resp_ping(trusted) in (b"PONG", "PONG")
    assert await _redis_py_ping(trusted) is True
