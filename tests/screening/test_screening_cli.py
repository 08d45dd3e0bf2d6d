"""The `probity screen` command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import typer
from screening_helpers import qr_png
from typer.testing import CliRunner

from probity.screening.cli import screen, screen_stream

app = typer.Typer()
app.command("screen")(screen)
app.command("noop")(lambda: None)  # two commands, as in the main CLI


def lines(n: int) -> str:
    texts = ["加我微信", "订单什么时候到", "给你发个红包帮我加急", "平台红包怎么用",
             "不走平台直接转我"]
    return "".join(
        json.dumps({"id": i, "role": "customer", "text": texts[i % len(texts)]},
                   ensure_ascii=False) + "\n"
        for i in range(n)
    )


def test_screen_json_lines() -> None:
    result = CliRunner().invoke(app, ["screen", "--workers", "1"], input=lines(5) + "oops\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(x) for x in result.output.splitlines()]
    assert [o["id"] for o in out] == [0, 1, 2, 3, 4, None]
    # The learned layer adds its scores and who decided (rules | model | context).
    assert set(out[0]) - {"drivers"} == {"id", "decision", "categories", "severity", "spans",
                                         "masked", "source", "model"}
    assert [o.get("decision") for o in out[:5]] == ["block", "allow", "block", "allow", "block"]
    assert "error" in out[5]


def test_batch_with_workers_keeps_order() -> None:
    out = io.StringIO()
    n = screen_stream(io.StringIO(lines(257)), out, workers=2, chunk_lines=10)
    assert n == 257
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == list(range(257))
    assert rows[2]["categories"] == ["bribe"]


def test_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"lexicon": [{"term": "暗号", "category": "contact"}]}),
                      encoding="utf-8")
    data = json.dumps({"id": "a", "role": "agent", "text": "对暗号"}, ensure_ascii=False)
    result = CliRunner().invoke(app, ["screen", "--policy", str(policy), "--workers", "2"],
                                input=data + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["decision"] == "block"


def test_image_option(tmp_path: Path) -> None:
    path = tmp_path / "qr.png"
    path.write_bytes(qr_png("wxp://f2f0abc123"))
    result = CliRunner().invoke(app, ["screen", "--image", str(path), "--no-ocr"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["decision"] == "block"


def test_small_input_without_workers_is_screened_in_process(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`probity screen` with no --workers and an input that fits in one chunk starts no pool
    (a one-line check would otherwise pay for forking workers); a bigger input still does."""
    import multiprocessing

    started: list[int] = []
    real = multiprocessing.get_context

    def spy(*a: object, **kw: object) -> object:
        started.append(1)
        return real(*a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(multiprocessing, "get_context", spy)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    out = io.StringIO()
    assert screen_stream(io.StringIO(lines(3)), out, workers=0, chunk_lines=10) == 3
    assert [json.loads(x)["decision"] for x in out.getvalue().splitlines()] == [
        "block", "allow", "block"]
    assert started == []
    out = io.StringIO()
    assert screen_stream(io.StringIO(lines(25)), out, workers=0, chunk_lines=10) == 25
    assert [json.loads(x)["id"] for x in out.getvalue().splitlines()] == list(range(25))
    assert started == [1]
    assert screen_stream(io.StringIO(""), io.StringIO(), workers=0) == 0
