"""Evidence packs from the database: exported through the API, verified offline by the CLI with
only the public key; one changed byte is caught and the file named."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.config import Settings
from probity.ledger import (
    generate_signing_key,
    load_private_key,
    public_key_text,
    verify_pack,
)
from probity.ledger.service import default_keyring
from probity.models import AccessEntry

CLI = [sys.executable, "-m", "probity.cli"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("PROBITY_REDIS_URL", None)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 230)).save(buf, format="PNG")
    return buf.getvalue()


async def _conversation(as_user: Any) -> tuple[int, str]:
    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    for body in ("你好，订单什么时候到？", "加我vx abc12345，私下聊"):
        r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages", json={"text": body})
        assert r.status_code == 201, r.text
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/attachments",
                     files={"file": ("a.png", _png(), "image/png")}, data={"kind": "image"})
    assert r.status_code == 201, r.text
    a = await as_user("agent")
    r = await a.post(f"/api/v1/chat/conversations/{conv_id}/messages",
                     json={"text": "您好，预计明天送达。"})
    assert r.status_code == 201, r.text
    return conv_id, r.json()["message"]["body"]


def _rewrite(data: bytes, name: str, change: Any) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            dst.writestr(info, change(body) if info.filename == name else body)
    return out.getvalue()


async def test_pack_exported_by_api_verifies_offline_and_catches_tampering(
        as_user: Any, db: AsyncSession, tmp_path: Path, settings: Settings) -> None:
    conv_id, agent_text = await _conversation(as_user)
    comp = await as_user("compliance")
    url = f"/api/v1/conversations/{conv_id}/evidence-pack"
    r = await comp.get(url)
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await comp.get(url, params={"reason": "案件 C-7 取证"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    pack = r.content
    entry = await db.scalar(select(AccessEntry).where(
        AccessEntry.target_id == str(conv_id), AccessEntry.action == "export"))
    assert entry is not None and entry.reason == "案件 C-7 取证"

    files = zipfile.ZipFile(io.BytesIO(pack)).namelist()
    assert any(n.startswith("attachments/") for n in files)
    transcript = json.loads(zipfile.ZipFile(io.BytesIO(pack)).read("transcript.json"))
    assert [t["text"] for t in transcript][-1] == agent_text
    entries = json.loads(zipfile.ZipFile(io.BytesIO(pack)).read("entries.json"))
    assert {e["type"] for e in entries} == {"chat.message", "alert.raised"}
    keyring = default_keyring()
    assert verify_pack(pack, keyring).ok

    # Offline: the CLI with only the public key printed by `probity ledger public-key`.
    printed = _cli("ledger", "public-key")
    assert printed.returncode == 0, printed.stderr
    current = keyring.current_key_id
    assert current is not None
    assert printed.stdout.strip() == keyring.export_public_keys()[current]
    key_file = tmp_path / "ledger.pub"
    key_file.write_text(printed.stdout)
    pack_file = tmp_path / "pack.zip"
    pack_file.write_bytes(pack)
    ok = _cli("evidence", "verify", str(pack_file), "--key", str(key_file))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout

    # One byte changed in the transcript: exit 1, naming the file.
    def flip(body: bytes) -> bytes:
        i = body.index(b"text")
        return body[:i] + b"T" + body[i + 1:]

    bad = tmp_path / "bad.zip"
    bad.write_bytes(_rewrite(pack, "transcript.json", flip))
    res = _cli("evidence", "verify", str(bad), "--key", str(key_file))
    assert res.returncode == 1, res.stdout
    assert "transcript.json" in res.stdout
    # A changed attachment byte: named too.
    name = next(n for n in files if n.startswith("attachments/"))
    bad.write_bytes(_rewrite(pack, name, lambda b: b[:-1] + bytes([b[-1] ^ 1])))
    res = _cli("evidence", "verify", str(bad), "--key", str(key_file))
    assert res.returncode == 1 and name in res.stdout
    # Another key: refused.
    other = tmp_path / "other.pub"
    other.write_text(public_key_text(load_private_key(generate_signing_key()).public_key()))
    res = _cli("evidence", "verify", str(pack_file), "--key", str(other))
    assert res.returncode == 1 and "manifest.sig" in res.stdout


async def test_pack_access_rules(as_user: Any, db: AsyncSession) -> None:
    conv_id, _ = await _conversation(as_user)
    url = f"/api/v1/conversations/{conv_id}/evidence-pack"
    aud = await as_user("auditor")
    r = await aud.get(url)  # the auditor needs no reason by default; the export is logged
    assert r.status_code == 200, r.text
    rows = (await aud.get("/api/v1/access-log", params={"target_id": str(conv_id)})).json()
    assert [(x["actor_name"], x["action"]) for x in rows] == [("auditor", "export")]
    for who in ("agent", "lead", "hr", "finance"):
        c = await as_user(who)
        assert (await c.get(url)).status_code == 403, who
    aud = await as_user("auditor")
    assert (await aud.get("/api/v1/conversations/999999/evidence-pack")).status_code == 404
