"""The job page says what a background job is and where it stands in the reader's language
(issue 15: it showed `payroll.compute`, `validate` and English errors)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.jobs.registry import TASKS, load_tasks
from probity.models import User
from probity.models.base import utcnow
from probity.models.jobs import Job


async def _job(db: AsyncSession, **values: Any) -> int:
    admin = await db.scalar(select(User.id).where(User.username == "admin"))
    job = Job(started_by_user_id=admin, params={}, attempts=1, progress_done=0,
              created_at=utcnow(), **values)
    db.add(job)
    await db.flush()
    return job.id


@pytest.mark.parametrize(("lang", "task", "stage", "detail"), [
    ("zh_CN", "薪资计算", "计算", "已写入"),
    ("en", "Payroll calculation", "Calculating", "Written"),
])
async def test_a_running_job_in_words(as_user: Any, db: AsyncSession, lang: str, task: str,
                                      stage: str, detail: str) -> None:
    job_id = await _job(db, task="payroll.compute", state="running", stage="compute",
                        progress_total=10, progress_detail={"written": 3})
    client: httpx.AsyncClient = await as_user("admin")
    client.cookies.set("lang", lang)
    page = (await client.get(f"/jobs/{job_id}")).text
    assert task in page and stage in page and f"{detail}: 3" in page
    assert "payroll.compute" not in page and ">compute<" not in page


async def test_a_failed_job_says_why_in_chinese(as_user: Any, db: AsyncSession) -> None:
    job_id = await _job(db, task="payroll.compute", state="failed", finished_at=utcnow(),
                        error={"code": "reason_required", "detail": "a reason is required",
                               "template": "{count} row(s) have errors; nothing was imported.",
                               "params": {"count": 2}})
    client: httpx.AsyncClient = await as_user("admin")
    page = (await client.get(f"/jobs/{job_id}")).text
    assert 'data-testid="job-error"' in page
    from probity.i18n import translator

    said = translator("zh_CN")("{count} row(s) have errors; nothing was imported.", count=2)
    assert said in page and "2" in said
    assert "nothing was imported" not in page and "a reason is required" not in page


def test_every_task_has_words() -> None:
    load_tasks()
    from probity.i18n import catalog

    # The product's tasks; `tests.*` are registered by the job tests (tests/jobs/slow_tasks.py)
    # when they ran earlier in the same worker.
    product = [t for t in TASKS if not t.startswith("tests.")]
    assert product
    for locale in ("zh_CN", "en"):
        missing = [t for t in product if f"task.{t}" not in catalog(locale)]
        assert not missing, (locale, missing)
