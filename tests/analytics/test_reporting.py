"""The read-only reporting schema (docs/REPORTING.md): every documented view exists with
exactly the documented columns, in that order, and its figures are the product's own."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Alert, Case, RollupHourly

DOC = Path(__file__).resolve().parents[2] / "docs" / "REPORTING.md"
ROW = re.compile(r"^\| `(rpt_[a-z_]+)` \| [^|]+ \| (.+) \|$")


def documented() -> dict[str, list[str]]:
    """View → its columns, from the table in docs/REPORTING.md (the backticked names, their
    explanations in parentheses left out)."""
    views: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            cols = re.sub(r"\([^()]*\)", "", m.group(2))
            views[m.group(1)] = re.findall(r"`([a-z_]+)`", cols)
    return views


async def test_the_views_have_the_documented_columns(db: AsyncSession) -> None:
    views = documented()
    assert set(views) == {"rpt_activity_hourly", "rpt_alerts", "rpt_cases",
                          "rpt_monitoring_rules", "rpt_qa_reviews"}
    for view, cols in views.items():
        result = await db.execute(text(f"SELECT * FROM {view} LIMIT 1"))
        assert list(result.keys()) == cols, view


async def test_the_views_carry_the_products_figures(db: AsyncSession) -> None:
    # The demo's six weeks of activity went through the send path: the hourly view sums to
    # the rollups, the alert and case views hold every row.
    row = (await db.execute(text(
        "SELECT count(*), coalesce(sum(messages), 0), coalesce(sum(attempts), 0) "
        "FROM rpt_activity_hourly"))).one()
    want = (await db.execute(select(func.count(), func.coalesce(func.sum(RollupHourly.messages), 0),
                                    func.coalesce(func.sum(RollupHourly.attempts), 0)))).one()
    assert tuple(row) == tuple(want) and row[1] > 0
    assert (await db.scalar(text("SELECT count(*) FROM rpt_alerts"))) == (
        await db.scalar(select(func.count()).select_from(Alert)))
    assert (await db.scalar(text("SELECT count(*) FROM rpt_cases"))) == (
        await db.scalar(select(func.count()).select_from(Case)))
