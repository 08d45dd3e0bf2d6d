"""Dependency hygiene: the OCR extra is optional, and its absence is explained, not a crash."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

import probity.chat.screening as chat_screening
from probity.screening import media

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if `pip install probity` without the [ocr] extra."""
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import raises
    monkeypatch.setattr(media, "_OCR", None)
    monkeypatch.setattr(chat_screening, "_ocr_warned", False)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(buf, format="PNG")
    return buf.getvalue()


def test_images_without_the_ocr_extra_are_marked_unscreened(
        no_ocr: None, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(media.OCRUnavailable, match=r"probity\[ocr\]"):
        media.ocr_engine()
    result, status = chat_screening.screen_image_bytes(_png(), "customer")
    assert status == "unscreened" and result is not None and result.decision == "allow"
    assert "QR codes only" in caplog.text and "probity[ocr]" in caplog.text


def test_the_lock_files_pin_every_dependency_with_hashes() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        lines = (REPO / name).read_text().splitlines()
        pins = [ln for ln in lines if ln and not ln.startswith((" ", "#"))]
        assert pins and all("==" in p for p in pins), name
        assert sum("--hash=sha256:" in ln for ln in lines) >= len(pins), name
    runtime = (REPO / "requirements.lock").read_text()
    assert "pyahocorasick" not in runtime  # removed: nothing imports it
    assert "rapidocr-onnxruntime==" in runtime  # `make run` keeps OCR (the extra is opted in)


def test_every_declared_dependency_is_in_the_lock() -> None:
    """Adding a dependency to pyproject.toml needs `make lock` (make installs from the lock)."""
    import re
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    locked = {re.split(r"==", ln)[0].lower().replace("_", "-")
              for ln in (REPO / "requirements-dev.lock").read_text().splitlines()
              if ln and not ln.startswith((" ", "#"))}
    declared = [*project["dependencies"],
                *(d for extra in project["optional-dependencies"].values() for d in extra)]
    names = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower().replace("_", "-")
             for d in declared}
    missing = sorted(n for n in names if n not in locked)
    assert not missing, f"not in requirements*.lock, run `make lock`: {missing}"


def test_the_display_zone_has_one_source() -> None:
    """Times are shown in the tenant's display zone (`governance.accessors.display_timezone`);
    the deployment default is written once, in `probity.config` (demo data may name a zone)."""
    literal = '"Asia/' + 'Shanghai"'
    offenders = [str(path.relative_to(REPO)) for path in (REPO / "src" / "probity").rglob("*.py")
                 if literal in path.read_text(encoding="utf-8")
                 and path.name != "demo.py" and path.name != "config.py"]
    assert offenders == [], f"use display_timezone() or config.DEFAULT_TIMEZONE in {offenders}"
