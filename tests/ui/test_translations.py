"""Translation coverage (issue 15.8): every msgid the product uses has Chinese and English.

"Used" means, all found from the source so a new string without words fails here before a user
sees it:

* every literal `_("…")` in a template;
* every literal msgid in the Python code: the arguments of every parameter annotated
  `probity.i18n.Msgid` (`_("…")`, `N_`, `deferred`, a domain error's `template="…"`,
  `fail(kind, "…")`, `RowError("…")`, `plan.error(row, column, "…")`, …), found from the
  annotations themselves, so no list of helper names is kept here;
* every word for a stored code the pages build from a prefix (`_("case_status." ~ s)`,
  `labels.code("decision", d)`), enumerated from the code's own enumerations and registries
  (statuses, roles, rules, background tasks and their stages …); a prefix a template uses must
  have words in both catalogs.

English msgids are English already, but the English catalog still lists them (msgstr = msgid):
the two catalogs hold the same msgids, so "is it translated?" has one answer per language.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from probity.i18n import _DIR, LOCALES, catalog
from probity.models import (
    AwardStatus,
    CandidateStage,
    CaseStatus,
    CaseStudyStatus,
    CourseStatus,
    CycleStatus,
    EmploymentStatus,
    LeaveType,
    MessageKind,
    OrderStatus,
    PaymentMethod,
    RequestStatus,
    RequisitionStatus,
    Role,
    RunStatus,
)
from probity.screening.policy import CATEGORIES, DECISIONS
from probity.web import WEB_DIR
from probity.web.nav import MENU
from probity.web.pages import ROLE_CARDS

SRC = Path(__file__).resolve().parents[2] / "src" / "probity"
KEY = re.compile(r"^[a-z_]+\.[A-Za-z0-9_.]+$")
CALL = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<id>(?:(?!(?P=q)).)+)(?P=q)""")
# `_("prefix." ~ value)` and `labels.code("prefix", value)` in templates.
DYNAMIC = re.compile(r"""\b_\(\s*["'](?P<p>[a-z_]+\.)["']\s*~""")
LABELS = re.compile(r"""labels\.code\(\s*["'](?P<p>[a-z_.]+)["']""")

# Placeholders that pass another message through unchanged are not words to translate.
PASS_THROUGH = re.compile(r"^\{[a-z_]+\}$")


def _is_msgid(annotation: ast.expr | None) -> bool:
    """`Msgid`, `Msgid | None`, `"Msgid"`."""
    if annotation is None:
        return False
    return any(isinstance(n, ast.Name) and n.id == "Msgid" for n in ast.walk(annotation)) or (
        isinstance(annotation, ast.Constant) and "Msgid" in str(annotation.value))


def msgid_parameters() -> dict[str, tuple[set[int], set[str]]]:
    """Every callable in the source that takes a msgid, found by its parameter's annotation
    (`probity.i18n.Msgid`): name -> (positional indexes, keyword names). A class counts under
    its own name with its `__init__`'s, and so do its subclasses; `x = translator(…)` makes
    `x` a gettext. Nothing to list by hand: a new helper is covered once its parameter says
    `Msgid`."""
    found: dict[str, tuple[set[int], set[str]]] = {}
    bases: dict[str, list[str]] = {}
    gettexts: set[str] = set()

    def record(name: str, fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> None:
        params = [*fn.args.posonlyargs, *fn.args.args]
        if method and params and params[0].arg in ("self", "cls"):
            params = params[1:]
        pos = {i for i, a in enumerate(params) if _is_msgid(a.annotation)}
        kw = {a.arg for a in [*fn.args.args, *fn.args.kwonlyargs] if _is_msgid(a.annotation)}
        if pos or kw:
            have = found.setdefault(name, (set(), set()))
            have[0].update(pos)
            have[1].update(kw)

    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        methods: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [b.id for b in node.bases if isinstance(b, ast.Name)]
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        methods.add(id(item))
                        record(node.name if item.name == "__init__" else item.name, item, True)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if id(node) not in methods:
                    record(node.name, node, False)
            elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                  and isinstance(node.value.func, ast.Name)
                  and node.value.func.id == "translator"):
                gettexts |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    # Subclasses take their base's msgid parameters (InvalidInput(…, template="…")).
    changed = True
    while changed:
        changed = False
        for cls, parents in bases.items():
            for parent in parents:
                if parent in found and cls not in found:
                    found[cls] = found[parent]
                    changed = True
    for name in gettexts:
        found.setdefault(name, found.get("gettext", ({0}, set())))
    return found


def template_msgids() -> set[str]:
    ids: set[str] = set()
    for path in (WEB_DIR / "templates").rglob("*.html"):
        ids |= {m.group("id") for m in CALL.finditer(path.read_text(encoding="utf-8"))}
    # Prefixes joined to a value (`_("case_status." ~ s)`) are checked by code_msgids().
    return {m for m in ids if not m.endswith((".", " "))}


def template_prefixes() -> set[str]:
    found: set[str] = set()
    for path in (WEB_DIR / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        found |= {m.group("p") for m in DYNAMIC.finditer(text)}
        found |= {m.group("p") + "." for m in LABELS.finditer(text)}
    return found


def _literals(node: ast.expr) -> list[str]:
    """A string constant, or both of `"a" if … else "b"`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def python_msgids() -> dict[str, str]:
    """Literal msgids in the source, each with the file it was first found in: the arguments
    that `msgid_parameters()` says are msgids, and `x._("…")` (a bound gettext)."""
    takes = msgid_parameters()
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else None)
            if name is None:
                continue
            positions, keywords = takes.get(name, (set(), set()))
            if name == "_":
                positions = {0}
            args = [node.args[i] for i in positions if i < len(node.args)
                    and not isinstance(node.args[i], ast.Starred)]
            args += [k.value for k in node.keywords if k.arg in keywords]
            for text in (t for arg in args for t in _literals(arg)):
                if text and not text.endswith(".html") and not PASS_THROUGH.match(text):
                    found.setdefault(text, str(path.relative_to(SRC)))
    return found


def _job_stages() -> set[str]:
    """`ctx.progress(…, stage="…")` literals, and the replay kinds used as stages."""
    stages = {"replay", "retro"}
    literal = re.compile(r"""\bstage=["']([a-z_]+)["']""")
    for path in SRC.rglob("*.py"):
        for line in path.read_text("utf-8").splitlines():
            if "progress(" in line:
                stages |= set(literal.findall(line))
    return stages


def code_msgids() -> set[str]:
    from probity.finance.rules import RULES
    from probity.jobs.registry import TASKS, load_tasks
    from probity.models.analytics import TENURE_BANDS
    from probity.monitoring.qa import CHECKLIST, OUTCOMES

    ids = {item.label for item in MENU}
    ids |= {text for cards in ROLE_CARDS.values() for card in cards for text in card[:2]}
    enums = {"case_status": CaseStatus, "order_code": OrderStatus, "payment_code": PaymentMethod,
             "role": Role, "award_status": AwardStatus, "stage": CandidateStage,
             "case_study_status": CaseStudyStatus, "course_status": CourseStatus,
             "cycle_status": CycleStatus, "status": EmploymentStatus, "leave": LeaveType,
             "request": RequestStatus, "requisition": RequisitionStatus, "run": RunStatus,
             "message_kind": MessageKind}
    for prefix, enum in enums.items():
        ids |= {f"{prefix}.{member.value}" for member in enum}
    ids |= {f"category.{c}" for c in CATEGORIES}
    ids |= {f"decision.{d}" for d in DECISIONS}
    ids |= {f"rule.{r}" for r in RULES}
    ids |= {f"source.{s}" for s in ("screening", "finance", "customer_report", "self_report")}
    ids |= {f"tenure.{b}" for b in (*TENURE_BANDS, "none")}
    ids |= {f"rule_status.{s}" for s in ("in_force", "review_due", "expired", "ended")}
    ids |= {f"qa_item.{i}" for i in CHECKLIST} | {f"qa_outcome.{o}" for o in OUTCOMES}
    ids |= {f"qa_status.{s}" for s in ("open", "done", "all")}
    ids |= {f"outcome.{k}" for k in ("attempts_per_conversation", "stopped_share",
                                      "substantiation_rate", "complaint_substantiation_rate",
                                      "median_hours_to_verification", "complaints_received",
                                      "complaints_substantiated", "open_cases",
                                      "open_qa_reviews")}
    ids |= {"separator.list", "separator.pairs", "separator.colon"}  # web/labels.py
    # The job page (issue 15): the task, its stage and its progress figures in words.
    load_tasks()
    # (`tests.*`: the job tests' own tasks, tests/jobs/slow_tasks.py, registered in this
    # process when a job test ran earlier in the same worker; not the product's)
    ids |= {f"task.{name}" for name in TASKS if not name.startswith("tests.")}
    ids |= {f"job_stage.{s}" for s in _job_stages()}
    ids |= {f"job_detail.{k}" for k in ("validated", "written", "to_write", "table")}
    return ids


def entries(locale: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with Path(path).open("rb") as fh:
            for m in read_po(fh, locale=locale):
                if m.id:
                    out[str(m.id)] = str(m.string or "")
    return out


def test_the_source_is_read() -> None:
    """The scanners find what they are meant to (a broken regex would pass everything)."""
    assert "Skip to main content" in template_msgids()
    found = python_msgids()
    assert "a reason is required for every change of group standards" in found
    assert "Contains a NUL character." in found  # import row errors (plan.error(row, col, msgid))
    assert "{detail}" not in found
    assert "Payroll runs waiting for approval: {n}" in found  # marked with N_()
    takes = msgid_parameters()
    assert takes["RowError"][0] == {0} and takes["error"][0] == {2}  # self is not counted
    assert "template" in takes["InvalidInput"][1]  # inherited from DomainError
    assert "Monitoring rule alert: {rule}" in found  # deferred(), for notifications
    assert {"case_status.", "decision."} <= template_prefixes()
    assert "task.payroll.compute" in code_msgids()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_the_templates_and_the_code_use_is_translated(locale: str) -> None:
    table = catalog(locale)
    used = {m: "templates" for m in template_msgids()}
    used |= {m: "code enumerations" for m in code_msgids()}
    used |= python_msgids()
    missing = sorted(f"{m!r} ({where})" for m, where in used.items() if m not in table)
    assert not missing, f"{len(missing)} msgids without {locale}:\n" + "\n".join(missing[:60])


@pytest.mark.parametrize("locale", LOCALES)
def test_every_prefix_a_template_builds_has_words(locale: str) -> None:
    """`_("leave." ~ x)` with no `leave.*` msgid at all is a typo or a missing catalog."""
    table = catalog(locale)
    bare = sorted(p for p in template_prefixes()
                  if not any(k.startswith(p) for k in table))
    assert not bare, f"prefixes without any {locale} words: {bare}"


def test_the_catalogs_agree() -> None:
    zh, en = entries("zh_CN"), entries("en")
    empty_zh = sorted(k for k, v in zh.items() if not v)
    assert not empty_zh, f"msgids with no Chinese: {empty_zh[:40]}"
    empty_en = sorted(k for k, v in en.items() if not v)
    assert not empty_en, f"msgids with no English: {empty_en[:40]}"
    zh_only = sorted(k for k in zh if k not in en)
    assert not zh_only, f"{len(zh_only)} msgids translated to Chinese only: {zh_only[:40]}"
    en_only = sorted(k for k in en if k not in zh)
    assert not en_only, f"msgids translated to English only: {en_only[:40]}"


def test_english_words_for_codes_are_words() -> None:
    """A key msgid's English is a word for the code, never the key itself."""
    lazy = sorted(k for k, v in entries("en").items() if KEY.match(k) and v == k)
    assert not lazy, f"English entries that repeat their key: {lazy[:40]}"


def test_chinese_is_chinese() -> None:
    """A zh-CN translation that is still English is not a translation."""
    latin = [k for k, v in entries("zh_CN").items()
             if v and not re.search(r"[\u4e00-\u9fff]", v) and re.search(r"[a-z]{4,}", v)]
    assert not latin, f"zh-CN entries still in English: {latin[:40]}"
