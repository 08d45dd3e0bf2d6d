"""Translation coverage: every msgid the pages use has Chinese, and every key-style msgid
(`case_status.new`, `order_code.shipped`) has English too; plain English msgids are their own
English. Codes the pages turn into words are enumerated from the code, so a new status or rule
without words fails here before a user sees it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from probity.i18n import _DIR, LOCALES, catalog
from probity.models import CaseStatus, OrderStatus, PaymentMethod, Role
from probity.screening.policy import CATEGORIES, DECISIONS
from probity.web import WEB_DIR
from probity.web.nav import MENU
from probity.web.pages import ROLE_CARDS

KEY = re.compile(r"^[a-z_]+\.[A-Za-z0-9_.]+$")
CALL = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<id>(?:(?!(?P=q)).)+)(?P=q)""")


def template_msgids() -> set[str]:
    ids: set[str] = set()
    for path in (WEB_DIR / "templates").rglob("*.html"):
        ids |= {m.group("id") for m in CALL.finditer(path.read_text(encoding="utf-8"))}
    return ids


def code_msgids() -> set[str]:
    from probity.finance.rules import RULES

    ids = {item.label for item in MENU}
    ids |= {text for cards in ROLE_CARDS.values() for card in cards for text in card[:2]}
    ids |= {f"case_status.{s.value}" for s in CaseStatus}
    ids |= {f"order_code.{s.value}" for s in OrderStatus}
    ids |= {f"payment_code.{m.value}" for m in PaymentMethod}
    ids |= {f"role.{r.value}" for r in Role}
    ids |= {f"category.{c}" for c in CATEGORIES}
    ids |= {f"decision.{d}" for d in DECISIONS}
    ids |= {f"rule.{r}" for r in RULES}
    ids |= {f"source.{s}" for s in ("screening", "finance", "customer_report", "self_report")}
    from probity.models.analytics import TENURE_BANDS
    from probity.monitoring.qa import CHECKLIST, OUTCOMES

    ids |= {f"tenure.{b}" for b in (*TENURE_BANDS, "none")}
    ids |= {f"rule_status.{s}" for s in ("in_force", "review_due", "expired", "ended")}
    ids |= {f"qa_item.{i}" for i in CHECKLIST} | {f"qa_outcome.{o}" for o in OUTCOMES}
    ids |= {f"qa_status.{s}" for s in ("open", "done", "all")}
    ids |= {f"outcome.{k}" for k in ("attempts_per_conversation", "stopped_share",
                                      "substantiation_rate", "complaint_substantiation_rate",
                                      "median_hours_to_verification", "complaints_received",
                                      "complaints_substantiated", "open_cases",
                                      "open_qa_reviews")}
    return ids


def entries(locale: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with Path(path).open("rb") as fh:
            for m in read_po(fh, locale=locale):
                if m.id:
                    out[str(m.id)] = str(m.string or "")
    return out


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_the_pages_use_is_translated(locale: str) -> None:
    table = catalog(locale)
    used = template_msgids() | code_msgids()
    # Dynamic keys built in templates (`_("case_status." ~ s)`) are covered by code_msgids.
    used = {m for m in used if not m.endswith((".", " "))}
    missing = sorted(m for m in used if m not in table and (locale == "zh_CN" or KEY.match(m)))
    assert not missing, f"{len(missing)} msgids without {locale}: {missing[:40]}"


def test_the_catalogs_agree() -> None:
    zh, en = entries("zh_CN"), entries("en")
    empty_zh = sorted(k for k, v in zh.items() if not v)
    assert not empty_zh, f"msgids with no Chinese: {empty_zh[:40]}"
    keys_without_en = sorted(k for k in zh if KEY.match(k) and not en.get(k))
    assert not keys_without_en, f"key msgids with no English: {keys_without_en[:40]}"
    en_only = sorted(k for k in en if k not in zh)
    assert not en_only, f"msgids translated to English only: {en_only[:40]}"


def test_chinese_is_chinese() -> None:
    """A zh-CN translation that is still English is not a translation."""
    latin = [k for k, v in entries("zh_CN").items()
             if v and not re.search(r"[\u4e00-\u9fff]", v) and re.search(r"[a-z]{4,}", v)]
    assert not latin, f"zh-CN entries still in English: {latin[:40]}"
