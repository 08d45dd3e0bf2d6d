"""Batch screening without the command-line framework: JSON lines in, JSON lines out.

`probity screen` (see `probity.entry`) comes here directly for stdin and --image, so it starts
without importing typer or the web app; JSON goes through orjson when it is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

from probity.screening.policy import CompiledPolicy, PolicySpec, compile_policy, default_policy

try:
    import orjson

    def _loads(line: str) -> Any:
        return orjson.loads(line)

    def _dumps(obj: Any) -> str:
        text: str = orjson.dumps(obj).decode()
        return text

    _DECODE_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - orjson is a dependency; the fallback keeps it optional
    def _loads(line: str) -> Any:
        return json.loads(line)

    def _dumps(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    _DECODE_ERRORS = (json.JSONDecodeError,)

CHUNK_LINES = 2000

_WORKER_POLICY: CompiledPolicy | None = None


def load_policy(path: Path | None) -> CompiledPolicy:
    if path is None:
        return default_policy()
    return compile_policy(PolicySpec.from_json(path.read_text(encoding="utf-8")))


def _parse(line: str) -> tuple[Any, str, str] | str:
    """(id, role, text) of one input line, or the JSON error line to write instead."""
    try:
        obj = _loads(line)
    except _DECODE_ERRORS as exc:
        return _dumps({"id": None, "error": f"invalid JSON: {getattr(exc, 'msg', exc)}"})
    if not isinstance(obj, dict):
        return _dumps({"id": None, "error": "each line must be a JSON object"})
    ident = obj.get("id")
    text = obj.get("text")
    role = obj.get("role", "customer")
    if not isinstance(text, str):
        return _dumps({"id": ident, "error": "missing text"})
    if role not in ("customer", "agent"):
        return _dumps({"id": ident, "error": f"unknown role {role!r}"})
    return ident, role, text


def screen_lines(lines: list[str], policy: CompiledPolicy) -> list[str]:
    """Input JSON lines -> output JSON lines, in order (errors are reported, never raised)."""
    from probity.screening.engine import screen_batch

    parsed = [_parse(ln) for ln in lines]
    items = [(p[2], p[1]) for p in parsed if not isinstance(p, str)]
    results = iter(screen_batch(items, policy))
    out: list[str] = []
    for p in parsed:
        if isinstance(p, str):
            out.append(p)
            continue
        row: dict[str, Any] = {"id": p[0]}
        row.update(next(results).to_dict())
        out.append(_dumps(row))
    return out


def screen_line(line: str, policy: CompiledPolicy) -> str:
    """One input JSON line -> one output JSON line."""
    return screen_lines([line], policy)[0]


def _init_worker(spec: dict[str, Any] | None) -> None:
    global _WORKER_POLICY
    if spec is None:
        _WORKER_POLICY = default_policy()
    else:
        _WORKER_POLICY = compile_policy(PolicySpec.from_dict(spec))


def _screen_chunk(lines: list[str]) -> list[str]:
    policy = _WORKER_POLICY if _WORKER_POLICY is not None else default_policy()
    return screen_lines(lines, policy)


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    it = (ln for ln in lines if ln.strip())
    while True:
        chunk = list(islice(it, size))
        if not chunk:
            return
        yield chunk


def screen_stream(
    lines: Iterable[str],
    out: IO[str],
    policy_path: Path | None = None,
    workers: int = 0,
    chunk_lines: int = CHUNK_LINES,
) -> int:
    """Screen JSON lines from ``lines`` into ``out``; returns the number of lines written."""
    n_workers = workers if workers > 0 else (os.cpu_count() or 1)
    written = 0
    chunks = _chunks(lines, chunk_lines)
    first = next(chunks, None)
    if first is None:
        return 0
    if n_workers == 1 or (workers <= 0 and len(first) < chunk_lines):
        # One worker asked for, or (workers not set) an input that fits in one chunk: no
        # pool to start (a one-line check starts in a fraction of the time).
        policy = load_policy(policy_path)
        for chunk in chain([first], chunks):
            out.write("\n".join(screen_lines(chunk, policy)) + "\n")
            written += len(chunk)
        return written
    import multiprocessing as mp

    spec = None
    if policy_path is not None:
        spec = PolicySpec.from_json(policy_path.read_text(encoding="utf-8")).to_dict()
    else:
        default_policy()  # build tables before forking so workers inherit them
    ctx = mp.get_context("fork") if sys.platform != "win32" else mp.get_context()
    with ctx.Pool(n_workers, initializer=_init_worker, initargs=(spec,)) as pool:
        for result in pool.imap(_screen_chunk, chain([first], chunks)):
            out.write("\n".join(result) + "\n")
            written += len(result)
    return written


def screen_image_file(image: Path, policy_path: Path | None, role: str, ocr: bool,
                      out: IO[str]) -> int:
    """--image: one JSON object; exit code 2 when OCR is wanted but not installed."""
    from probity.screening.media import OCRUnavailable, screen_image

    compiled = load_policy(policy_path)
    try:
        res = screen_image(image.read_bytes(), role, compiled, ocr=ocr)
    except OCRUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 2
    out.write(_dumps({"image": str(image), **res.to_dict()}) + "\n")
    return 0


def run(argv: list[str]) -> int:
    """`probity screen [--policy F] [--workers N] [--image F --role R --no-ocr]`."""
    ap = argparse.ArgumentParser(prog="probity screen", add_help=False)
    ap.add_argument("--policy", type=Path, default=None)
    ap.add_argument("--image", type=Path, default=None)
    ap.add_argument("--role", default="customer")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--no-ocr", action="store_true")
    args = ap.parse_args(argv)
    if args.image is not None:
        return screen_image_file(args.image, args.policy, args.role, not args.no_ocr,
                                 sys.stdout)
    screen_stream(sys.stdin, sys.stdout, args.policy, args.workers)
    sys.stdout.flush()
    return 0
