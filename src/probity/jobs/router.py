"""Job API and page: the user who started a job (and holders of the task's read permission over
its tenant) follow its progress; anyone else gets 404."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from probity.auth.deps import CurrentPrincipal, Session
from probity.jobs import service
from probity.jobs.schemas import JobRead
from probity.web.render import render, use_tenant_timezone

router = APIRouter()


@router.get("/api/v1/jobs", response_model=list[JobRead], tags=["jobs"])
async def my_jobs(session: Session, principal: CurrentPrincipal) -> list[JobRead]:
    """The jobs the caller started, newest first."""
    return [JobRead(**service.job_view(j)) for j in await service.list_jobs(session, principal)]


@router.get("/api/v1/jobs/{job_id}", response_model=JobRead, tags=["jobs"])
async def read_job(job_id: int, session: Session, principal: CurrentPrincipal) -> JobRead:
    """A job's state and progress (poll it); 404 for a job outside the caller's scope."""
    return JobRead(**service.job_view(await service.get_job(session, principal, job_id)))


@router.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[Depends(use_tenant_timezone)])
async def job_page(request: Request, job_id: int, session: Session,
                   principal: CurrentPrincipal) -> Response:
    """The job page; with htmx the progress block polls itself every second until it ends."""
    job = service.job_view(await service.get_job(session, principal, job_id))
    template = "jobs/_progress.html" if request.headers.get("hx-request") else "jobs/job.html"
    return render(request, template, job=job)
