"""The import pipeline, for every kind: map columns → validate rows (a worker thread) → resolve
natural keys against the database (the kind's ``resolve``) → a dry-run summary, or an
all-or-nothing write (the kind's ``apply``), audited and ledgered as one batch."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Principal
from probity.bulk import in_values
from probity.errors import InvalidInput
from probity.imports.plan import Plan
from probity.imports.reading import Table
from probity.imports.registry import MAX_ROWS, Env, Field, ImportKind, Row, RowError, get_kind
from probity.ledger.service import append_entry
from probity.models import ImportRun
from probity.models.base import utcnow

__all__ = ["ImportContext", "ParsedColumns", "Plan", "Progress", "RowTexts", "apply_import",
           "collector_paused", "digest", "plan_import", "resolve_columns",
           "validate_column_values", "validate_columns", "validate_rows"]

CHUNK = 2000
Progress = Callable[[str, int, int | None], None]


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while a bulk import builds its rows. An import
    allocates millions of small containers (rows, dicts, tuples) and no reference cycles; each
    allocation burst triggers collections that walk the whole heap of the process, which cost a
    quarter of a 100,000-row payments import's CPU (benchmarks/finance_import.py, same run with
    and without). Reference counting still frees everything; cyclic garbage made meanwhile by
    other requests waits for the collector's next pass. Nested and concurrent holders (the
    worker thread and the event loop) share one pause: the collector is re-enabled, if it was
    enabled, when the last holder leaves."""
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


@dataclass
class ImportContext:
    """What a kind's ``resolve`` and ``apply`` get."""

    session: AsyncSession
    tenant_id: int
    tz: ZoneInfo
    plan: Plan
    kind: ImportKind
    actor: Principal | None = None
    run: ImportRun | None = None  # set before ``apply``
    state: dict[str, Any] = field(default_factory=dict)  # resolve → apply hand-over
    progress: Progress | None = None

    async def lookup(self, column: Any, keys: Iterable[Any], *extra: Any, where: Any
                     ) -> dict[Any, Any]:
        """Rows whose ``column`` is one of ``keys``: {key: row}. Text or integer keys go in ONE
        statement with the keys as one parameter (`probity.bulk.in_values`); others in
        chunks of ``IN``."""
        out: dict[Any, Any] = {}
        ks = sorted(set(keys))
        if not ks:
            return out
        if all(type(k) in (str, int) for k in ks):
            dialect = self.session.get_bind().dialect.name
            q = select(column, *extra).where(where, in_values(dialect, column, ks))
            return {row[0]: row for row in (await self.session.execute(q)).all()}
        for i in range(0, len(ks), CHUNK):
            q = select(column, *extra).where(where, column.in_(ks[i:i + CHUNK]))
            for row in (await self.session.execute(q)).all():
                out[row[0]] = row
        return out

    async def insert(self, model: Any, rows: list[dict[str, Any]]) -> None:
        now = utcnow()
        cols = model.__table__.columns
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i:i + CHUNK]
            if "created_at" in cols:
                for r in chunk:
                    r.setdefault("created_at", now)
            await self.session.execute(insert(model), chunk)
            if self.progress:
                self.progress("write", i + len(chunk), len(rows))

    async def update(self, model: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(update(model), rows)


def resolve_columns(kind: ImportKind, headers: list[str], mapping: dict[str, str] | None,
                    ignore: Iterable[str] = ()) -> list[str | None]:
    """Each header's field (None: ignored). Unknown, duplicate or missing columns → 422."""
    fields = kind.by_name()
    mapping = {str(k).strip(): str(v).strip() for k, v in (mapping or {}).items()}
    bad = [dst for dst in mapping.values() if dst and dst not in fields]
    if bad:
        raise InvalidInput(f"{kind.name} have no field {bad[0]!r}", code="unknown_field",
                           template="{kind} have no field {field}.",
                           params={"kind": kind.name, "field": bad[0]}, field=bad[0])
    alias = {a.lower(): f.name for f in kind.fields for a in (f.name, *f.aliases)}
    ignored = {i.strip().lower() for i in ignore}
    out: list[str | None] = []
    unknown: list[str] = []
    for h in headers:
        if h in mapping:
            out.append(mapping[h] or None)  # mapped to "": ignored
        elif h.lower() in ignored or h == "":
            out.append(None)
        elif h.lower() in alias:
            out.append(alias[h.lower()])
        else:
            unknown.append(h)
            out.append(None)
    if unknown:
        cols = ", ".join(unknown)
        raise InvalidInput(
            f"unknown column(s): {cols} — map them to a field or ignore them",
            code="unknown_columns", columns=unknown,
            template="Unknown column(s): {columns}. Map each to a field or ignore it.",
            params={"columns": cols})
    dupes = sorted({c for c in out if c is not None and out.count(c) > 1})
    if dupes:
        raise InvalidInput(f"more than one column maps to {', '.join(dupes)}",
                           code="duplicate_columns", columns=dupes,
                           template="More than one column maps to {fields}.",
                           params={"fields": ", ".join(dupes)})
    missing = [f.name for f in kind.fields if f.required and f.name not in out]
    if missing:
        raise InvalidInput(f"missing required column(s): {', '.join(missing)}",
                           code="missing_columns", columns=missing,
                           template="Missing required column(s): {columns}.",
                           params={"columns": ", ".join(missing)})
    return out


@dataclass(frozen=True)
class RowTexts:
    """The loop's own row errors, as English msgids of the caller's catalog (finance keeps
    its established wording; the parameters are the same for every caller)."""

    required: str = "Required."
    duplicate: str = "Duplicate of row {first}."  # also given: field, value
    width: str = "{count} values for {width} columns."


@dataclass
class ParsedColumns:
    """A clean file's parsed values column by column (what :func:`validate_columns` returns):
    ``numbers[i]`` is row i's number as the user counts it, ``values[name][i]`` its parsed
    value of field ``name`` (fields in the row loop's key order). :meth:`rows` gives exactly
    the row loop's rows."""

    numbers: list[int]
    values: dict[str, list[Any]]

    def __len__(self) -> int:
        return len(self.numbers)

    def rows(self, limit: int | None = None) -> list[Row]:
        """The rows (the first *limit* of them) as the row loop gives them."""
        names = list(self.values)
        numbers = self.numbers if limit is None else self.numbers[:limit]
        columns = (self.values.values() if limit is None
                   else [v[:limit] for v in self.values.values()])
        return [(n, dict(zip(names, row, strict=True)))
                for n, row in zip(numbers, zip(*columns, strict=True), strict=True)]


def validate_columns(fields: Sequence[Field], key: Sequence[str], columns: list[str | None],
                     numbered: list[tuple[int, list[Any]]], env: Env, max_rows: int
                     ) -> ParsedColumns | None:
    """The whole file column by column, when it is clean: every row as wide as the header,
    every mapped value a non-blank ``str`` without NUL, every mapped field with a column
    parser that takes its whole column, every absent field optional, no duplicate key. Then
    the values are exactly those of the row loop (:meth:`ParsedColumns.rows`); else None and
    nothing is decided (the row loop does the file, with its row errors). Adds nothing to a
    plan (the caller counts the rows)."""
    if not numbered or len(numbered) > max_rows:
        return None
    raws = [raw for _, raw in numbered]
    if set(map(len, raws)) != {len(columns)}:
        return None
    return validate_column_values(fields, key, columns, [n for n, _ in numbered],
                                  list(map(list, zip(*raws, strict=True))), env, max_rows)


def validate_column_values(fields: Sequence[Field], key: Sequence[str],
                           columns: list[str | None], numbers: list[int],
                           cols: list[list[Any]], env: Env, max_rows: int, *,
                           split_text: bool = False) -> ParsedColumns | None:
    """:func:`validate_columns` of a file given as its columns (``cols[i]``: the raw values
    under header ``columns[i]``, one per row; ``numbers``: the rows' numbers): the same
    result, without building rows first (a reader that splits a clean text into columns).
    ``split_text``: the columns were split from one text without NUL characters, so every
    value is a ``str`` without NUL (not checked again, column by column)."""
    by_name = {f.name: f for f in fields}
    mapped = [(i, by_name[c]) for i, c in enumerate(columns) if c is not None]
    if (not numbers or len(numbers) > max_rows or not mapped or len(cols) != len(columns)
            or any(f.column is None for _, f in mapped)
            or any(len(col) != len(numbers) for col in cols)):
        return None
    values: dict[str, list[Any]] = {}
    for i, f in mapped:
        col = cols[i]
        if not split_text and (set(map(type, col)) != {str} or "\x00" in "".join(col)):
            return None
        if not all(map(str.strip, col)):
            return None
        parsed = f.column(col, env)  # type: ignore[misc]
        if parsed is None or len(parsed) != len(col):
            return None
        values[f.name] = parsed
    for f in fields:
        if f.name not in values:
            if f.required:
                return None
            values[f.name] = [f.default] * len(numbers)
    keys = (list(zip(*(values[k] for k in key), strict=True)) if len(key) > 1
            else values[key[0]])
    if len(set(keys)) != len(keys):
        return None
    return ParsedColumns(numbers, values)


def validate_rows(fields: Sequence[Field], key: Sequence[str], columns: list[str | None],
                  rows: Iterable[tuple[int, list[Any]]], env: Env, plan: Plan, *,
                  max_rows: int = MAX_ROWS, progress: Progress | None = None,
                  texts: RowTexts = RowTexts(), keep_blank: Iterable[str] = ("body",),
                  columnwise: bool = True) -> list[Row]:
    """Parse and check every row (CPU only; run it in a worker thread): row errors go to
    ``plan``, the parsed rows are returned. The one row loop of every importer (the kinds'
    engine and finance's pipeline): blank lines skipped, the row cap, surplus values, NUL
    characters, each field's parser, required fields and defaults, duplicate natural keys
    within the file. ``keep_blank``: columns whose whitespace-only values are values.
    ``columnwise=False``: straight to the row loop (the caller tried :func:`validate_columns`)."""
    by_name = {f.name: f for f in fields}
    blank_ok = frozenset(keep_blank)
    if columnwise and any(f.column is not None for f in fields):
        # Fields with column parsers: a clean file is checked column by column (C-level map
        # over each column), the same rows as below; any doubt, and the loop below decides.
        numbered = list(rows)
        rows = numbered
        fast = validate_columns(fields, key, columns, numbered, env, max_rows)
        if fast is not None:
            plan.rows += len(fast)
            if progress:
                progress("validate", plan.rows, None)
            return fast.rows()
    parsed: list[Row] = []
    seen: dict[tuple[Any, ...], int] = {}
    width = len(columns)
    for n, raw in rows:
        if not any(str(v).strip() for v in raw):
            continue  # a blank line
        plan.rows += 1
        if plan.rows > max_rows:
            raise InvalidInput(f"more than {max_rows:,} rows: split the file",
                               code="too_many_rows", limit=max_rows,
                               template="The file has more than {limit} rows: split it.",
                               params={"limit": max_rows})
        if len(raw) > width and any(str(v).strip() for v in raw[width:]):
            plan.error(n, None, texts.width, count=len(raw), width=width)
            continue
        rec: dict[str, Any] = {}
        bad: set[str] = set()
        for col, value in zip(columns, raw, strict=False):
            if col is None or value is None or (isinstance(value, str) and not value.strip()
                                                and col not in blank_ok):
                continue
            if isinstance(value, str) and "\x00" in value:  # a JSONL "\u0000" or an XLSX cell
                plan.error(n, col, "Contains a NUL character.")
                bad.add(col)
                continue
            try:
                rec[col] = by_name[col].parse(value, env)
            except RowError as exc:
                plan.error(n, col, exc.template, **exc.params)
                bad.add(col)
            except (ValueError, TypeError) as exc:  # another domain's parser
                plan.error(n, col, "{detail}", detail=str(exc))
                bad.add(col)
        for f in fields:
            if f.name not in rec and f.name not in bad:
                if f.required:
                    plan.error(n, f.name, texts.required)
                    bad.add(f.name)
                else:
                    rec[f.name] = f.default
        if bad:
            continue
        k = tuple(rec[x] for x in key)
        first = seen.get(k)
        if first is not None:
            plan.error(n, key[0], texts.duplicate, first=first, field=key[0],
                       value=rec[key[0]])
            continue
        seen[k] = n
        parsed.append((n, rec))
        if progress and plan.rows % 5000 == 0:
            progress("validate", plan.rows, None)
    return parsed


def _validate(kind: ImportKind, columns: list[str | None], rows: Iterator[tuple[int, list[Any]]],
              env: Env, tenant_id: int, progress: Progress | None) -> tuple[Plan, list[Row]]:
    plan = Plan(kind=kind.name, tenant_id=tenant_id)
    parsed = validate_rows(kind.fields, kind.key, columns, rows, env, plan,
                           max_rows=kind.max_rows, progress=progress)
    return plan, parsed


async def tenant_zone(session: AsyncSession, tenant_id: int) -> ZoneInfo:
    """The tenant's display zone (group standard, else its own): imported local times mean it."""
    from probity.governance.accessors import display_timezone

    return ZoneInfo(await display_timezone(session, tenant_id))


async def plan_import(session: AsyncSession, kind_name: str, tenant_id: int, table: Table, *,
                      mapping: dict[str, str] | None = None, ignore: Iterable[str] = (),
                      actor: Principal | None = None, progress: Progress | None = None
                      ) -> ImportContext:
    """Everything short of writing: the returned context's ``plan`` is the dry run."""
    kind = get_kind(kind_name)
    columns = resolve_columns(kind, table.headers, mapping, ignore)
    tz = await tenant_zone(session, tenant_id)
    env = Env(tz=tz, now=utcnow())
    # Reading (an XLSX is parsed as it is read) and checking rows is CPU work: a worker thread.
    with collector_paused():  # bulk rows, no cycles
        plan, parsed = await asyncio.to_thread(_validate, kind, columns, table.rows, env,
                                               tenant_id, progress)
        if progress:
            progress("validate", plan.rows, plan.rows)
        ctx = ImportContext(session=session, tenant_id=tenant_id, tz=tz, plan=plan, kind=kind,
                            actor=actor, progress=progress)
        await kind.resolve(ctx, parsed)
    return ctx


async def apply_import(ctx: ImportContext, *, source: str, filename: str | None, sha256: str,
                       upload_id: int | None = None, job_id: int | None = None,
                       mapping: dict[str, Any] | None = None) -> ImportRun:
    """Write a plan without errors in the caller's transaction (flush only): all rows or none.
    One audit row and one ledger entry (``import.batch``, with the file's SHA-256) per run."""
    plan = ctx.plan
    if plan.error_count:
        raise InvalidInput(f"{plan.error_count} row(s) have errors; nothing was imported",
                           code="row_errors", template="{count} row(s) have errors; nothing "
                           "was imported.", params={"count": plan.error_count},
                           **plan.summary())
    actor = ctx.actor
    run = ImportRun(tenant_id=ctx.tenant_id, kind=plan.kind, source=source, upload_id=upload_id,
                    job_id=job_id, filename=(filename or "")[:200] or None, sha256=sha256,
                    rows=plan.rows, inserted=len(plan.inserts), updated=len(plan.updates),
                    unchanged=plan.unchanged, mapping=mapping,
                    actor_user_id=actor.user_id if actor else None, created_at=utcnow())
    ctx.session.add(run)
    await ctx.session.flush()
    ctx.run = run
    if plan.inserts or plan.updates:
        with collector_paused():  # bulk rows, no cycles
            await ctx.kind.apply(ctx)
    counts = {"kind": plan.kind, "source": source, "filename": run.filename, "rows": plan.rows,
              "inserted": run.inserted, "updated": run.updated, "unchanged": plan.unchanged,
              **plan.extra}
    record_audit(ctx.session, actor, "import.run", target_type="import_run", target_id=run.id,
                 tenant_id=ctx.tenant_id, after={**counts, "sha256": sha256})
    # One entry per run: the file's SHA-256 fixes every row it carried.
    await append_entry(ctx.session, ctx.tenant_id, "import.batch",
                       {"import_run_id": run.id, "sha256": sha256, **counts})
    await ctx.session.flush()
    return run


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
