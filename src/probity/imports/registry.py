"""Import kinds: the one place a domain declares what can be imported and how.

Registering a new kind (e.g. salaries) is one module with one ``register_kind(...)`` call, and
one line in :data:`IMPORT_MODULES`::

    from probity.imports import Field, ImportContext, ImportKind, register_kind, parsers as p

    async def resolve(ctx: ImportContext, rows: list[Row]) -> None:
        existing = await ctx.lookup(SalaryStructure.grade, {r["grade"] for _, r in rows},
                                    SalaryStructure.id, SalaryStructure.base,
                                    where=SalaryStructure.tenant_id == ctx.tenant_id)
        for n, r in rows:
            old = existing.get(r["grade"])
            if old is None:
                ctx.plan.insert(n, r)                    # new row
            elif old.base == r["base"]:
                ctx.plan.same()                          # idempotent re-import
            else:
                ctx.plan.update(n, r, id=old.id)         # or ctx.plan.error(n, "base", …)

    async def apply(ctx: ImportContext) -> None:
        await ctx.insert(SalaryStructure, [{"tenant_id": ctx.tenant_id, **r}
                                           for r in ctx.plan.inserts])
        await ctx.update(SalaryStructure, ctx.plan.updates)

    register_kind(ImportKind(
        name="salary_structures", title="Salary structures", perm=Perm.payroll_manage,
        key=("grade",), fields=(
            Field("grade", p.text(16), aliases=("职级",)),
            Field("base", p.amount(), aliases=("基本工资",)),
        ), resolve=resolve, apply=apply, export=None))

The framework does everything else: reading (CSV/XLSX/JSONL, encoding detection), column
mapping and saved templates, per-row validation with row numbers, duplicate natural keys within
the file, the row cap, dry run, the all-or-nothing write, the audit row, the ledger entry, the
job with progress, the HTTP API, the pages and the CLI.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.i18n import Msgid

if TYPE_CHECKING:
    from probity.auth.permissions import Perm
    from probity.imports.engine import ImportContext

__all__ = [
    "IMPORT_MODULES",
    "KINDS",
    "Env",
    "Field",
    "ImportKind",
    "Row",
    "RowError",
    "get_kind",
    "load_kinds",
    "register_kind",
    "stream_rows",
]

# Registration point: every module that registers import kinds (one line per domain).
IMPORT_MODULES: list[str] = [
    "probity.imports.kinds.org",
    "probity.imports.kinds.commerce",
    "probity.imports.kinds.hr",
    "probity.imports.kinds.transcripts",
    "probity.payroll.importer",
]

MAX_ROWS = 200_000
Row = tuple[int, dict[str, Any]]  # (row number as the user counts it, parsed values)


class RowError(ValueError):
    """A value a field refuses: an English msgid with {named} parameters (translated for the
    row-error list into every UI language)."""

    def __init__(self, template: Msgid, **params: Any) -> None:
        super().__init__(template.format(**params) if params else template)
        self.template = template
        self.params = params


@dataclass(frozen=True)
class Env:
    """What parsing a value may need: the tenant's zone and the time of the import."""

    tz: ZoneInfo
    now: datetime


Parser = Callable[[Any, Env], Any]
# A whole column at once: the raw values (all ``str``, none blank, no NUL) → the parsed values,
# exactly what ``parse`` gives for each, or None when any value needs ``parse`` (an error, an
# unusual form); the row loop then does the file row by row (imports.engine.validate_rows).
ColumnParser = Callable[[list[str], Env], list[Any] | None]


@dataclass(frozen=True)
class Field:
    name: str  # the field's code (a column of the import file, or the target of a mapping)
    parse: Parser
    required: bool = True
    default: Any = None
    aliases: tuple[str, ...] = ()  # other headers recognised without a mapping (zh and en)
    column: ColumnParser | None = None  # optional: the fast, column-wise form of ``parse``


Resolver = Callable[["ImportContext", list[Row]], Awaitable[None]]
Applier = Callable[["ImportContext"], Awaitable[None]]
Exporter = Callable[[AsyncSession, int], AsyncIterator[dict[str, Any]]]


@dataclass(frozen=True)
class ImportKind:
    name: str
    title: str  # an English msgid (translate it in a catalog)
    perm: Perm  # needed over the tenant, besides data.import
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # the natural key: unique within a file, found again on re-import
    resolve: Resolver  # reads the database, sorts rows into insert / update / unchanged / error
    apply: Applier  # writes what resolve planned (flush only, the caller's transaction)
    # The tenant's rows in this kind's own field names (the tenant export; and the package
    # import reads them back through this kind, so every exported kind round-trips).
    export: Exporter | None = None
    order: int = 100  # a package is imported in this order (org units before employees …)
    max_rows: int = MAX_ROWS

    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}


KINDS: dict[str, ImportKind] = {}


EXPORT_BATCH_ROWS = 1000  # rows fetched per round trip while an export streams a query


async def stream_rows(session: AsyncSession, query: Select[*tuple[Any, ...]]
                      ) -> AsyncIterator[Any]:
    """The rows of ``query``, fetched ``EXPORT_BATCH_ROWS`` at a time (a server-side cursor
    where the driver has one) — what an ``export`` of a kind that can grow large iterates, so
    the tenant export's memory stays bounded by a batch however large the tenant."""
    result = await session.stream(query.execution_options(yield_per=EXPORT_BATCH_ROWS))
    async for part in result.partitions():
        for row in part:
            yield row


def register_kind(kind: ImportKind) -> ImportKind:
    existing = KINDS.get(kind.name)
    if existing is not None and existing.resolve is not kind.resolve:
        raise ValueError(f"import kind {kind.name!r} is registered twice")
    missing = [k for k in kind.key if k not in kind.by_name()]
    if missing:
        raise ValueError(f"import kind {kind.name!r}: key fields {missing} are not fields")
    KINDS[kind.name] = kind
    return kind


def load_kinds(extra: Sequence[str] = ()) -> dict[str, ImportKind]:
    for module in (*IMPORT_MODULES, *extra):
        importlib.import_module(module)
    return KINDS


def get_kind(name: str) -> ImportKind:
    from probity.errors import InvalidInput

    kind = load_kinds().get(name)
    if kind is None:
        raise InvalidInput(f"unknown import kind {name!r}: {', '.join(sorted(KINDS))}",
                           code="unknown_kind", template="Unknown import kind {kind}.",
                           params={"kind": name})
    return kind


# --- value parsers (``parsers as p``) ---------------------------------------------------------


class parsers:  # a namespace: p.text(…), p.day(), …
    @staticmethod
    def text(max_len: int) -> Parser:
        def parse(v: Any, env: Env) -> str:
            s = str(v).strip()
            if len(s) > max_len:
                raise RowError("Longer than {limit} characters.", limit=max_len)
            return s
        return parse

    @staticmethod
    def body(max_len: int = 20_000) -> Parser:
        """Text kept as given (line breaks and leading spaces matter in a message)."""
        def parse(v: Any, env: Env) -> str:
            s = str(v)
            if len(s) > max_len:
                raise RowError("Longer than {limit} characters.", limit=max_len)
            return s
        return parse

    @staticmethod
    def choice(values: Iterable[str]) -> Parser:
        allowed = tuple(values)

        def parse(v: Any, env: Env) -> str:
            s = str(v).strip().lower()
            if s not in allowed:
                raise RowError("{value} is not one of: {allowed}.", value=s[:30],
                               allowed=", ".join(allowed))
            return s
        return parse

    @staticmethod
    def integer(low: int = 0, high: int = 2**31 - 1) -> Parser:
        def parse(v: Any, env: Env) -> int:
            try:
                d = Decimal(str(v).strip())
                if d != d.to_integral_value():
                    raise InvalidOperation
                n = int(d)
            except (InvalidOperation, ValueError):
                raise RowError("Not a whole number: {value}.", value=str(v)[:30]) from None
            if not low <= n <= high:
                raise RowError("Must be between {low} and {high}.", low=low, high=high)
            return n
        return parse

    @staticmethod
    def decimal(places: int = 2, low: Decimal = Decimal(0),
                high: Decimal = Decimal("1e12")) -> Parser:
        quantum = Decimal(1).scaleb(-places)

        def parse(v: Any, env: Env) -> Decimal:
            try:
                d = Decimal(str(v).strip().replace(",", "").replace("¥", "").replace("￥", ""))
            except InvalidOperation:
                raise RowError("Not a number: {value}.", value=str(v)[:30]) from None
            if not d.is_finite() or d != d.quantize(quantum):
                raise RowError("At most {places} decimal places.", places=places)
            if not low <= d < high:
                raise RowError("Must be between {low} and {high}.", low=low, high=high)
            return d.quantize(quantum)
        return parse

    @staticmethod
    def boolean() -> Parser:
        def parse(v: Any, env: Env) -> bool:
            s = str(v).strip().lower()
            if s in ("true", "1", "yes", "y", "是"):
                return True
            if s in ("false", "0", "no", "n", "否"):
                return False
            raise RowError("Not yes/no: {value}.", value=s[:30])
        return parse

    @staticmethod
    def day() -> Parser:
        def parse(v: Any, env: Env) -> date:
            if isinstance(v, datetime):
                return v.date()
            if isinstance(v, date):
                return v
            s = str(v).strip().replace("/", "-")
            try:
                d = date.fromisoformat(s[:10]) if len(s) >= 10 else date.fromisoformat(s)
            except ValueError:
                raise RowError("Not a date: {value} (use YYYY-MM-DD).", value=s[:30]) from None
            if not date(1950, 1, 1) <= d <= date(2100, 12, 31):
                raise RowError("Date out of range: {value}.", value=s[:30])
            return d
        return parse

    @staticmethod
    def clock() -> Parser:
        def parse(v: Any, env: Env) -> time:
            if isinstance(v, time):
                return v
            s = str(v).strip()
            try:
                return time.fromisoformat(s if len(s) > 4 else s.zfill(5))
            except ValueError:
                raise RowError("Not a time of day: {value} (use HH:MM).", value=s[:30]) from None
        return parse

    @staticmethod
    def instant(future_days: int = 1) -> Parser:
        """A date and time; without a zone it is the tenant's local time."""
        def parse(v: Any, env: Env) -> datetime:
            if isinstance(v, datetime):
                dt = v
            elif isinstance(v, date):
                dt = datetime(v.year, v.month, v.day)
            else:
                s = str(v).strip()
                try:
                    dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("/", "-"))
                except ValueError:
                    raise RowError("Not a date and time: {value} (use YYYY-MM-DD HH:MM:SS).",
                                   value=s[:40]) from None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=env.tz)
            dt = dt.astimezone(UTC)
            if dt.year < 2000 or dt > env.now + timedelta(days=future_days):
                raise RowError("Out of range: {value} (2000-01-01 … tomorrow).",
                               value=f"{dt:%Y-%m-%d}")
            return dt
        return parse

    @staticmethod
    def wrap(fn: Callable[[Any], Any]) -> Parser:
        """Another domain's one-argument parser (its ValueError message becomes the error)."""
        def parse(v: Any, env: Env) -> Any:
            return fn(v)
        return parse
