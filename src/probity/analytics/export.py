"""Every chart's data as a table, for CSV (UTF-8 with BOM, formula-guarded) and XLSX."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from probity.csvexport import cell, to_csv

CHARTS = ("heatmap", "tenure", "league", "subsidiaries", "trends", "findings", "outcome")

RATE_COLS = ("messages", "agent_messages", "conversations", "attempts", "violations", "blocks",
             "contact_attempts", "attempt_rate", "violation_rate", "attempts_per_conversation")
# Volumes from the rota: agent-hours on shift and the rates per agent-hour (heat-map, league).
STAFF_COLS = ("agent_hours", "attempts_per_agent_hour", "violations_per_agent_hour")


def table(chart: str, data: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of one chart's data (the JSON the chart is drawn from)."""
    if chart == "heatmap":
        header = ["local_weekday", "local_hour", *RATE_COLS, *STAFF_COLS]
        rows = [[c["local_dow"], c["local_hour"], *(c.get(k) for k in (*RATE_COLS, *STAFF_COLS))]
                for c in sorted(data["cells"], key=lambda c: (c["local_dow"], c["local_hour"]))]
    elif chart == "tenure":
        header = ["tenure_band", *RATE_COLS, "ci_low", "ci_high"]
        rows = [[b["tenure_band"], *(b.get(k) for k in RATE_COLS), b["ci_low"], b["ci_high"]]
                for b in data["bands"]]
    elif chart in ("league", "subsidiaries"):
        key = "teams" if chart == "league" else "subsidiaries"
        header = ["name", "tenant_id", *RATE_COLS, "ci_low", "ci_high", *STAFF_COLS]
        rows = [[r["name"], r["tenant_id"], *(r.get(k) for k in RATE_COLS), r["ci_low"],
                 r["ci_high"], *(r.get(k) for k in STAFF_COLS)] for r in data[key]]
    elif chart == "trends":
        header = ["day", *RATE_COLS]
        rows = [[d["day"], *(d.get(k) for k in RATE_COLS)] for d in data["days"]]
    elif chart == "findings":
        header = ["key", "text", "metric", "events", "exposure", "rate", "baseline_rate",
                  "ratio", "ci_low", "ci_high", "p_value", "p_adjusted"]
        rows = [[f["key"], f["text"], f["metric"], f["events"], f["exposure"], f["rate"],
                 f["baseline_rate"], f["ratio"], f["ci_low"], f["ci_high"], f["p_value"],
                 f["p_adjusted"]] for f in data["findings"]]
    elif chart == "outcome":
        header = ["figure", "value", "numerator", "denominator"]
        rows = [[f["key"], f["value"], f.get("numerator"), f.get("denominator")]
                for f in data["figures"]]
    else:  # pragma: no cover - the router refuses unknown charts
        raise KeyError(chart)
    return header, rows


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    return to_csv(header, rows).encode()


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]], title: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "data")
    ws.append(list(header))
    guard: Callable[[Any], Any] = lambda v: cell(v) if isinstance(v, str) else v  # noqa: E731
    for row in rows:
        ws.append([guard(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
