"""`probity screen`: JSON lines in, JSON lines out; or one image.

    echo '{"id": 1, "role": "customer", "text": "加我薇信"}' | probity screen
    probity screen --policy tenant.json --workers 8 < history.jsonl > decisions.jsonl
    probity screen --image photo.png

Batch mode reads stdin in chunks and screens them on all cores (``--workers``, default all),
writing results in input order. Each worker compiles the policy once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from probity.screening.batch import (  # noqa: F401 - re-exported (tests, callers)
    CHUNK_LINES,
    _chunks,
    _init_worker,
    _parse,
    _screen_chunk,
    load_policy,
    screen_line,
    screen_lines,
    screen_stream,
)


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
    from probity.screening.train import (
        CALIBRATED,
        TrainingDataError,
        sources_from,
        train_files,
    )

    try:
        paths = list(data) if data else sources_from(DEFAULT_SOURCES)
        paths += list(feedback or [])
        result = train_files(paths, out, version, iterations=iterations,
                             thresholds=dict(CALIBRATED))
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
