"""`probity screen`: JSON lines in, JSON lines out; or one image.

    echo '{"id": 1, "role": "customer", "text": "加我薇信"}' | probity screen
    probity screen --policy tenant.json --workers 8 < history.jsonl > decisions.jsonl
    probity screen --image photo.png

Batch mode reads stdin in chunks and screens them on all cores (``--workers``, default all),
writing results in input order. Each worker compiles the policy once.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from probity.screening.policy import CompiledPolicy, PolicySpec, compile_policy, default_policy

CHUNK_LINES = 2000

_WORKER_POLICY: CompiledPolicy | None = None


def load_policy(path: Path | None) -> CompiledPolicy:
    if path is None:
        return default_policy()
    return compile_policy(PolicySpec.from_json(path.read_text(encoding="utf-8")))


def _parse(line: str) -> tuple[Any, str, str] | str:
    """(id, role, text) of one input line, or the JSON error line to write instead."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return json.dumps({"id": None, "error": f"invalid JSON: {exc.msg}"})
    if not isinstance(obj, dict):
        return json.dumps({"id": None, "error": "each line must be a JSON object"})
    ident = obj.get("id")
    text = obj.get("text")
    role = obj.get("role", "customer")
    if not isinstance(text, str):
        return json.dumps({"id": ident, "error": "missing text"}, ensure_ascii=False)
    if role not in ("customer", "agent"):
        return json.dumps({"id": ident, "error": f"unknown role {role!r}"}, ensure_ascii=False)
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
        out.append(json.dumps(row, ensure_ascii=False))
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
    if n_workers == 1:
        policy = load_policy(policy_path)
        for chunk in _chunks(lines, chunk_lines):
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
        for result in pool.imap(_screen_chunk, _chunks(lines, chunk_lines)):
            out.write("\n".join(result) + "\n")
            written += len(result)
    return written


def screen(
    ctx: typer.Context,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy JSON file (default: built-in).")
    ] = None,
    image: Annotated[
        Path | None, typer.Option("--image", help="Screen this image instead of stdin.")
    ] = None,
    role: Annotated[str, typer.Option("--role", help="Sender role for --image.")] = "customer",
    workers: Annotated[
        int, typer.Option("--workers", help="Processes for batch mode (0 = all cores).")
    ] = 0,
    no_ocr: Annotated[bool, typer.Option("--no-ocr", help="Only decode QR codes.")] = False,
) -> None:
    """Screen chat messages (JSON lines on stdin) or an image (--image FILE)."""
    if ctx.invoked_subcommand is not None:
        return  # `probity screen train …`
    if image is not None:
        from probity.screening.media import OCRUnavailable, screen_image

        compiled = load_policy(policy)
        try:
            res = screen_image(image.read_bytes(), role, compiled, ocr=not no_ocr)
        except OCRUnavailable as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        typer.echo(json.dumps({"image": str(image), **res.to_dict()}, ensure_ascii=False))
        return
    screen_stream(sys.stdin, sys.stdout, policy, workers)
    sys.stdout.flush()


DEFAULT_SOURCES = Path("training/screening/sources.txt")


def train(
    data: Annotated[list[Path] | None, typer.Option(
        "--data", help="Labelled JSON lines (repeatable). Default: the files listed in "
                       "training/screening/sources.txt.")] = None,
    feedback: Annotated[list[Path] | None, typer.Option(
        "--feedback", help="Reviewer labels exported by `probity screen labels`.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Model file to write.")] = Path(
        "intent_model.json"),
    version: Annotated[int, typer.Option("--version", help="Model version (the policy names "
                                                           "it).")] = 1,
    iterations: Annotated[int, typer.Option("--iterations")] = 300,
) -> None:
    """Train the learned intent layer from labelled lines; writes a checksum-verified model."""
    from probity.screening.train import TrainingDataError, sources_from, train_files

    try:
        paths = list(data) if data else sources_from(DEFAULT_SOURCES)
        paths += list(feedback or [])
        result = train_files(paths, out, version, iterations=iterations)
    except TrainingDataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    meta = result.payload["meta"]
    typer.echo(json.dumps({"model": str(out), "version": version, "examples": meta["examples"],
                           "features": meta["features"], "seconds": round(result.seconds, 1),
                           "dev": result.dev}, ensure_ascii=False))


def screen_app() -> typer.Typer:
    """`probity screen` (stdin / --image) with the `train` subcommand."""
    app = typer.Typer(add_completion=False, invoke_without_command=True,
                      help="Screen messages; `train` fits the learned intent layer.")
    app.callback()(screen)
    app.command("train")(train)
    return app


def main() -> None:
    args = sys.argv[1:]
    screen_app()(args[1:] if args[:1] == ["screen"] else args)


if __name__ == "__main__":
    main()
