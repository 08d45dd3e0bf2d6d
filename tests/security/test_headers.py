"""Security headers on every response (issue 16): CSP with frame-ancestors, nosniff,
Referrer-Policy, X-Frame-Options; HSTS only in production."""

from __future__ import annotations

from typing import Any

import httpx

from probity.app import create_app
from probity.config import Settings
from probity.db import Database


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    for path, accept in [("/login", "text/html"), ("/api/v1/health", "application/json"),
                         ("/api/v1/me", "application/json"), ("/nowhere", "text/html")]:
        r = await client.get(path, headers={"Accept": accept})
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in r.headers  # not in development/test


async def test_hsts_in_production(database_url: str) -> None:
    settings = Settings(env="production", secret_key="p" * 40, ledger_signing_key="k",
                        database_url=database_url)
    database = Database(database_url)
    app: Any = create_app(settings, database=database)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            r = await c.get("/api/v1/health")
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    finally:
        await database.dispose()


def test_templates_carry_no_inline_script_or_style() -> None:
    """What the CSP would refuse in a browser: inline handlers, style attributes, and script
    blocks that execute (JSON data blocks are fine)."""
    import re
    from pathlib import Path

    import probity

    root = Path(probity.__file__).parent / "web" / "templates"
    bad = []
    for path in root.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\son[a-z]+\s*=\s*[\"']", r"\sstyle\s*=\s*[\"']", r"<style[\s>]",
                        r"<script(?![^>]*(\bsrc=|type=\"application/json\"))[^>]*>"):
            for m in re.finditer(pattern, text):
                bad.append(f"{path.relative_to(root)}: {m.group(0)}")
    assert not bad, "\n".join(bad)
