"""Words for codes: what a page shows instead of `shipped`, `auth.login`, `{"status": "active"}`.

Every stored code has a msgid `<kind>.<code>` in the catalogs (`order_status.shipped`,
`audit_action.auth.login`, `field.status`, …). `Labels` is given to every template as `labels`
(bound to the page's locale); a code without a msgid is shown as it is, so the crawl test
(tests/ui) finds it on a Chinese page.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from probity.config import DEFAULT_TIMEZONE

Gettext = Callable[..., str]
# A stored moment in a change's before/after (ISO 8601).
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass(frozen=True)
class DiffRow:
    field: str
    before: str | None
    after: str | None


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


class Labels:
    def __init__(self, gettext: Gettext, tz: str = DEFAULT_TIMEZONE) -> None:
        self._ = gettext
        self.tz = tz  # the page's zone: a moment stored in a change shows like every other time
        # Punctuation joining words: 、；： in Chinese, ", " "; " ": " in English.
        self.comma = self._text("separator.list", "、")
        self.semicolon = self._text("separator.pairs", "；")
        self.colon = self._text("separator.colon", "：")
        # Brackets around words: （） in Chinese, () in English (issue 15.8).
        self.lparen = self._text("separator.open", "（")
        self.rparen = self._text("separator.close", "）")

    def _text(self, msgid: str, default: str) -> str:
        text = self._(msgid)
        return default if text == msgid else text

    def paren(self, text: object) -> str:
        """`text` in the reader's brackets."""
        return f"{self.lparen}{text}{self.rparen}"

    def notice(self, n: Any) -> str:
        """An in-app notification's title in the reader's language (`probity.notify.text`);
        rows written before it was kept as msgids show their event's word, else the title."""
        from probity.i18n import render_deferred

        spec = (getattr(n, "message", None) or {}).get("title")
        if spec:
            return render_deferred(spec, self._)
        if self.has(f"notify_event.{n.event}"):
            return self._(f"notify_event.{n.event}")
        return str(n.title)

    def has(self, msgid: str) -> bool:
        return self._(msgid) != msgid

    def code(self, kind: str, value: object) -> str:
        """`kind.value` translated; the value itself when the catalogs have no word for it."""
        if value is None or value == "":
            return "—"
        raw = str(getattr(value, "value", value))
        key = f"{kind}.{raw}"
        text = self._(key)
        return raw if text == key else text

    def action(self, action: str) -> str:
        """An audit action (`case.opened`, `employee.left`): its own msgid, else object + verb."""
        if self.has(f"audit_action.{action}"):
            return self._(f"audit_action.{action}")
        obj, _, verb = action.partition(".")
        if verb and self.has(f"object.{obj}") and self.has(f"verb.{verb}"):
            return f"{self._(f'object.{obj}')} · {self._(f'verb.{verb}')}"
        return action

    def target(self, target_type: str | None, target_id: object) -> str:
        if not target_type:
            return "—"
        name = self.code("object", target_type)
        return f"{name} #{target_id}" if target_id not in (None, "") else name

    def cell(self, field: str, value: Any, tz: str = DEFAULT_TIMEZONE) -> str:
        """One cell of an import preview: times in the zone, codes in words."""
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return self._("Yes") if value else self._("No")
        if isinstance(value, str) and field.endswith("_at"):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
        kind = {"status": "order_code", "method": "payment_code", "kind": "refund_code",
                "account_type": "account_type"}.get(field)
        if kind and isinstance(value, str) and self.has(f"{kind}.{value}"):
            return self._(f"{kind}.{value}")
        return str(value)

    def option(self, value: object) -> str:
        """A setting's option (a channel, an event, a media kind, a grouping): `option.<v>`."""
        return self.code("option", value)

    def setting(self, value: Any) -> str:
        """A setting's value as a person reads it (the form shows the raw value to edit)."""
        if isinstance(value, bool):
            return "✓" if value else "✗"
        if value is None or value == "":
            return "—"
        if isinstance(value, list):
            return self.comma.join(self.setting(v) for v in value) or "—"
        if isinstance(value, dict):
            return self.semicolon.join(f"{self.option(k)}{self.colon}{self.setting(v)}"
                                       for k, v in value.items())
        if isinstance(value, str):
            # A weekly window such as "sat 18:00-21:00": the day word in the reader's language.
            head, sep, rest = value.partition(" ")
            if sep and rest[:1].isdigit() and self.has(f"option.{head}"):
                return f"{self.option(head)} {rest}"
            return self.option(value)
        return str(value)

    def reason(self, text: str | None) -> str:
        """An access reason: "case #12" written by the system reads "案件 #12"; a person's own
        reason is shown as written."""
        if not text:
            return "—"
        obj, sep, num = text.partition(" #")
        if sep and num.isdigit() and self.has(f"object.{obj}"):
            return self.target(obj, num)
        return text

    def value(self, field: str, value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return self._("Yes") if value else self._("No")
        if isinstance(value, list):
            return self.comma.join(self.value(field, v) for v in value) or "—"
        if isinstance(value, dict):
            return self.semicolon.join(f"{self.code('field', k)}{self.colon}{self.value(k, v)}"
                                       for k, v in value.items())
        if isinstance(value, str) and ISO_MOMENT.match(value):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(ZoneInfo(self.tz)).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, str):
            keys = [f"value.{field}.{value}", f"value.{value}", f"field.{value}"]
            if field in ("status", "decision", "from_status", "to_status"):
                keys.insert(1, f"case_status.{value}")
            for key in keys:
                if self.has(key):
                    return self._(key)
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def diff(self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
             ) -> list[DiffRow]:
        """The fields a change touched, each as "field: before → after" in words; an unchanged
        field is left out (a creation lists everything it set)."""
        before = before if isinstance(before, Mapping) else {}
        after = after if isinstance(after, Mapping) else {}
        rows = []
        for key in list(dict.fromkeys([*before, *after])):
            old, new = before.get(key), after.get(key)
            if key in before and key in after and old == new:
                continue
            rows.append(DiffRow(self.code("field", key),
                                self.value(key, old) if key in before else None,
                                self.value(key, new) if key in after else None))
        return rows

    def remaining(self, due: datetime | None, done: datetime | None = None) -> str:
        """An SLA countdown: "3 h 20 min left", or "overdue by 2 h", or "" once done."""
        if due is None or done is not None:
            return ""
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        seconds = int((due - datetime.now(UTC)).total_seconds())
        minutes = abs(seconds) // 60
        days, rest = divmod(minutes, 24 * 60)
        hours, mins = divmod(rest, 60)
        if days:
            span = self._("{d} d {h} h", d=days, h=hours)
        elif hours:
            span = self._("{h} h {m} min", h=hours, m=mins)
        else:
            span = self._("{m} min", m=mins)
        return self._("{span} left", span=span) if seconds >= 0 else self._(
            "overdue by {span}", span=span)

    def case_title(self, title: str) -> str:
        """Default case titles are `<source>: <category or rule>`; anything else is a person's."""
        source, sep, what = title.partition(": ")
        if sep and self.has(f"source.{source}"):
            kind = "rule" if self.has(f"rule.{what}") else "category"
            return f"{self._(f'source.{source}')}{self.colon}{self.code(kind, what)}"
        return title

    def alert_text(self, source: str | None, rule: str | None, snippet: str,
                   evidence: Mapping[str, Any] | None) -> str:
        """A finance alert's explanation in the page's language, from its evidence; screening
        snippets are message text and stay as they are."""
        if source == "finance" and rule and self.has(f"rule_text.{rule}"):
            fields = _Safe({k: self.value(k, v) for k, v in (evidence or {}).items()})
            try:
                return string.Formatter().vformat(self._(f"rule_text.{rule}"), (), fields)
            except (IndexError, ValueError):
                return snippet
        return snippet
