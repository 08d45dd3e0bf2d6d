"""Crawl every page a demo role can reach, as a phone in zh-CN (or English), and list what is
wrong with it.

A page is every same-origin link reachable from the menu within two clicks, one per URL shape
(`/cases/17` and `/cases/18` are one shape), so pages other domains add are crawled without
being listed here. Each page is checked for:

* server errors (any response >= 500, the page itself or its requests) and a page status >= 400;
* console errors and uncaught exceptions;
* untranslated text (zh-CN): a Latin word (letters, `_`, `.`, `-`, no digit) in the visible
  text, the document title or a placeholder / aria-label / title / alt, outside `<code>`,
  `[translate=no]` (people's data: names, usernames, message text) and `[lang=en]`, and not
  an allowed token (product name, API, CSV, brand names, units). Raw codes (`auth.login`,
  `wechat_pay`, `screening: contact`) are Latin words, so they are caught the same way;
* untranslated text (English): any CJK character (Chinese punctuation such as （） included)
  outside the same people's-data elements and `[lang=zh-CN]` (the brand 廉盾, the language
  switch's 中文);
* serious or critical axe-core violations (axe-core from npm, node_modules/axe-core). A page
  whose structure (elements, classes, roles, ARIA, which labels are empty — not its text) was
  already checked in this run is not checked again: the same template as another role or in
  the other language gives the same violations, and axe is most of a page's cost;
* a document wider than the 390 px viewport;
* a time not in the one display format (`YYYY-MM-DD HH:MM`, issue 15.8): a `<time>` element
  with other text, or visible text with an ISO `T` time, seconds, or a UTC offset.

A page counts as loaded at its `load` event once no fetch or XHR of its scripts is pending
(tracked by an init script), not after a fixed network-idle pause.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from probity.config import PROJECT_ROOT

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
TRACE = bool(os.environ.get("PROBITY_CRAWL_TRACE"))  # each page and its time on stderr

# Latin tokens allowed on a Chinese page: the product and its parts, file formats and protocols,
# brands, units and the abbreviations Chinese business text uses as they are.
ALLOWED = {
    "Probity", "API", "CSV", "XLSX", "JSON", "UTF", "GB", "SLA", "IP", "ID", "URL", "QR", "KPI",
    "HR", "HQ", "PDF", "ZIP", "OK", "SHA", "Merkle", "Ed", "WebSocket", "CNY", "RMB", "AI",
    "WeChat", "Alipay", "iPhone", "EN", "OpenAPI", "Swagger", "Excel", "HTTP", "HTTPS",
    "VIP", "App", "APP", "PIN", "QQ", "Bearer", "token", "SDK", "vs", "PII", "RFC", "CE", "EC",
    # "95% CI" as HR reads a finding (issue 11: "违规率为其他时段的 2.7 倍 (95% CI 2.1–3.4)").
    "CI",
}

# Elements whose text is not the UI's words: code, people's data, text in the other language.
SKIP = {"zh_CN": "script,style,code,pre,kbd,samp,template,noscript,[translate=no],[lang=en],svg",
        "en": "script,style,code,pre,kbd,samp,template,noscript,[translate=no],[lang=zh-CN],svg"}

TEXT_PROBE = r"""
(skip) => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || el.closest(skip)) continue;
    const text = node.textContent.trim();
    if (text) out.push([el.tagName.toLowerCase(), text]);
  }
  for (const el of document.querySelectorAll('[placeholder],[aria-label],[title],img[alt]')) {
    if (el.closest(skip)) continue;
    for (const a of ['placeholder', 'aria-label', 'title', 'alt']) {
      const v = el.getAttribute(a);
      if (v && v.trim()) out.push([`@${a}`, v.trim()]);
    }
  }
  for (const el of document.querySelectorAll('input[type=submit],input[type=button]')) {
    if (!el.closest(skip) && el.value) out.push(['@value', el.value]);
  }
  if (document.title) out.push(['title', document.title]);
  return out;
}
"""

# Pending fetch/XHR requests of the page's scripts, so that a page counts as loaded when they
# are done (its rows rendered, its errors logged) rather than after a fixed idle pause.
QUIET_INIT = """
(() => {
  let pending = 0, last = performance.now();
  const done = () => { pending -= 1; last = performance.now(); };
  const fetch0 = window.fetch;
  window.fetch = function (...args) {
    pending += 1; last = performance.now();
    return fetch0.apply(this, args).finally(done);
  };
  const send0 = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    pending += 1; last = performance.now();
    this.addEventListener('loadend', done);
    return send0.apply(this, args);
  };
  window.__crawlQuiet = (ms) => pending === 0 && performance.now() - last >= ms;
})();
"""

# The page's structure without its words: what axe-core's result depends on. Runs of siblings
# with the same structure (table rows, list items) count once, so a longer list is the same
# structure.
STRUCTURE_PROBE = r"""
() => {
  const keep = ['id', 'class', 'role', 'type', 'for', 'name', 'tabindex', 'lang', 'style',
                'scope', 'headers', 'disabled', 'hidden', 'open', 'multiple', 'required'];
  const filled = ['alt', 'title', 'placeholder', 'aria-label', 'value', 'href', 'src'];
  const hash = (str) => {
    let h = 2166136261;
    for (let i = 0; i < str.length; i++) { h ^= str.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0).toString(36);
  };
  const sig = (el) => {
    const parts = [el.tagName];
    // The language switch marks the page's language (aria-current on 中文 or on EN): a valid
    // attribute on a link either way, so the same structure for axe in both languages.
    const langLink = el.tagName === 'A' && (el.getAttribute('href') || '').startsWith('/lang/');
    for (const a of el.getAttributeNames().sort()) {
      if (langLink && a === 'aria-current') continue;
      const aria = a.startsWith('aria-') && a !== 'aria-label';
      if (keep.includes(a) || a.startsWith('data-bs') || aria) {
        parts.push(a.startsWith('aria-') && /^aria-(labelledby|describedby|controls)$/.test(a)
                   ? a : `${a}=${el.getAttribute(a)}`);
      } else if (filled.includes(a)) {
        parts.push(`${a}:${el.getAttribute(a).trim() ? 1 : 0}`);
      }
    }
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    parts.push(text ? 't' : '');
    let prev = null;
    for (const child of el.children) {
      const s = sig(child);
      if (s !== prev) parts.push(s);
      prev = s;
    }
    return hash(parts.join('|'));
  };
  return `${document.documentElement.lang ? 1 : 0}|${document.title ? 1 : 0}|${sig(document.body)}`;
}
"""
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


# Tables whose text the product writes itself (in the default language): never people's data.
PRODUCT_TEXT = {"notifications", "jobs", "alembic_version", "ledger_entries", "ledger_refs",
                "analytics_rollup_hourly", "analytics_rollup_cube", "data_export_parts"}


class DataWords:
    """The Chinese text people and tenants entered (names, org units, shifts, courses, notice
    texts, messages …): every text and JSON value of the crawled database outside the tables
    the product writes. On an English page such text is data, shown as entered; what is left
    of a text once it is taken out must hold no CJK character. (Templates also mark such data
    `translate="no"`; this covers the places they do not yet.)"""

    def __init__(self, db_path: str) -> None:
        import sqlite3

        import ahocorasick_rs

        words: set[str] = set()
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                if table in PRODUCT_TEXT:
                    continue
                cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')
                        if any(t in str(r[2]).upper() for t in ("CHAR", "TEXT", "JSON", "CLOB"))]
                for col in cols:
                    for (value,) in con.execute(
                            f'SELECT DISTINCT "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL'):
                        self._collect(value, words)
        finally:
            con.close()
        # The group standards' defaults a tenant has not changed are its settings all the same
        # (the notice texts customers and agents see, in the group's language).
        import importlib

        from probity.config import PROJECT_ROOT as root
        from probity.governance.registry import _SECTIONS

        for path in (root / "src" / "probity").rglob("*.py"):
            if "register_section(" in path.read_text(encoding="utf-8"):
                rel = path.relative_to(root / "src").with_suffix("")
                importlib.import_module(".".join(p for p in rel.parts if p != "__init__"))

        for spec in _SECTIONS.values():
            self._collect(spec.model().model_dump(mode="json"), words)
        self.words = sorted(words)
        self._ac = ahocorasick_rs.AhoCorasick(
            self.words, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest) if words else None

    @staticmethod
    def _collect(value: object, out: set[str]) -> None:
        if isinstance(value, str):
            if value[:1] in "[{" and "\\u" in value:  # JSON with escaped characters
                try:
                    DataWords._collect(json.loads(value), out)
                    return
                except ValueError:
                    pass
            if not CJK.search(value):
                return
            if value[:1] in "[{\"":
                try:
                    DataWords._collect(json.loads(value), out)
                    return
                except ValueError:
                    pass
            out.add(value.strip())
            out.update(line.strip() for line in value.splitlines() if CJK.search(line))
        elif isinstance(value, dict):
            for v in value.values():
                DataWords._collect(v, out)
        elif isinstance(value, list):
            for v in value:
                DataWords._collect(v, out)

    def strip(self, text: str) -> str:
        """`text` without the data in it."""
        if self._ac is None:
            return text
        chars = list(text)
        for _i, start, end in self._ac.find_matches_as_indexes(text):
            chars[start:end] = " " * (end - start)
        return "".join(chars)


def cjk_problems(tag: str, text: str, data: DataWords | None = None) -> list[str]:
    rest = data.strip(text) if data is not None else text
    found = CJK.findall(rest)
    if not found:
        return []
    return [f"Chinese on an English page in <{tag}>: {''.join(sorted(set(found)))[:20]} "
            f"({text[:60]!r})"]


TIME_PROBE = r"""
() => {
  const skip = 'script,style,code,pre,kbd,samp,template,noscript,svg';
  const times = [...document.querySelectorAll('time')].map((t) => t.textContent.trim());
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    const text = walker.currentNode.textContent.trim();
    if (el && text && !el.closest(skip)) texts.push([text, !!el.closest('[translate=no]')]);
  }
  return {times, texts};
}
"""
DISPLAY_TIME = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d\d:?\d\d)")
SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")


def time_problems(page: Any) -> list[str]:
    """Times shown outside the one display format."""
    found = page.evaluate(TIME_PROBE)
    out = [f"time not in the display format: {t!r}" for t in found["times"]
           if t and not DISPLAY_TIME.fullmatch(t)]
    for text, people in found["texts"]:
        # People's text (messages) may say "10:30:00"; a stored moment never shows as ISO.
        if ISO_TIME.search(text) or (not people and SECONDS.search(text)):
            out.append(f"time not in the display format in {text[:60]!r}")
    return out


WORD = re.compile(r"[A-Za-z0-9_.@:/\-]+")


def latin_words(text: str) -> list[str]:
    """The Latin words in a text that would need translating (identifiers with digits, such as
    order numbers, and allowed tokens pass)."""
    found = []
    for token in WORD.findall(text):
        if any(c.isdigit() for c in token) or not any(c.isalpha() for c in token):
            continue
        if token.startswith(("http://", "https://", "/")) or "@" in token:
            continue
        words = [w for w in re.split(r"[^A-Za-z]+", token) if w]
        if all(w in ALLOWED for w in words):
            continue
        if len(token) == 1:
            continue
        found.append(token)
    return found


def shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


@dataclass
class PageReport:
    url: str
    problems: list[str] = field(default_factory=list)


def sign_in(page: Any, base: str, username: str) -> None:
    from probity.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _links(page: Any, base: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all(
        "a[href]", "els => els.map(e => e.getAttribute('href'))")
    out = []
    for href in hrefs:
        if not href or href.startswith(("#", "mailto:", "javascript:")):
            continue
        parts = urlsplit(href if "://" in href else base + href)
        if f"{parts.scheme}://{parts.netloc}" != base:
            continue
        path = parts.path
        if (path.startswith(("/api/", "/lang/", "/logout", "/vendor/", "/static/", "/ws/"))
                or path.endswith((".csv", ".zip", ".js")) or "evidence" in path):
            continue
        out.append(path + (f"?{parts.query}" if parts.query and "page=" not in parts.query
                           and "download" not in parts.query else ""))
    return out


# Structures axe-core has passed in this process (test_crawl*.py share one per worker).
AXE_PASSED: set[str] = set()
CRAWL_STATS: dict[str, int] = {"pages": 0, "axe_runs": 0}


def check_page(page: Any, url: str, axe_source: str, *, locale: str = "zh_CN",
               axe_seen: set[str] | None = None, data: DataWords | None = None) -> list[str]:
    problems: list[str] = []
    CRAWL_STATS["pages"] += 1
    for tag, text in page.evaluate(TEXT_PROBE, SKIP[locale]):
        if locale == "en":
            problems += cjk_problems(tag, text, data)
            continue
        words = latin_words(text)
        if words:
            problems.append(f"untranslated in <{tag}>: {', '.join(sorted(set(words)))} "
                            f"({text[:60]!r})")
    problems += time_problems(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"page is {width} px wide")
    if axe_seen is not None:
        structure = page.evaluate(STRUCTURE_PROBE)
        if structure in axe_seen:
            return problems
    CRAWL_STATS["axe_runs"] += 1
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    for v in serious:
        targets = "; ".join(str(n["target"]) for n in v["nodes"][:3])
        problems.append(f"axe {v['impact']} {v['id']}: {v['help']} at {targets}")
    if axe_seen is not None and not serious:
        axe_seen.add(structure)  # a structure with violations is checked again (and fails)
    return problems


def crawl(browser: Any, base: str, username: str, *, locale: str = "zh_CN",
          max_pages: int = 60, data: DataWords | None = None) -> list[PageReport]:
    axe_source = Path(AXE).read_text(encoding="utf-8")
    # axe-core is injected as an inline script, which the pages' CSP (rightly) refuses, so this
    # context bypasses CSP; that no template carries inline script or style is checked by
    # tests/security/test_headers.py and the policy in a browser by tests/browser/test_csp.py.
    context = browser.new_context(viewport=PHONE, locale=locale.replace("_", "-"),
                                  bypass_csp=True)
    context.add_init_script(QUIET_INIT)
    page = context.new_page()
    server_errors: list[str] = []
    console: list[str] = []
    page.on("response", lambda r: server_errors.append(f"{r.status} {r.url}")
            if r.status >= 500 else None)
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    reports: list[PageReport] = []
    try:
        sign_in(page, base, username)
        page.goto(f"{base}/lang/{locale}?next=/")  # the language cookie, as a person sets it
        queue: list[tuple[str, int]] = [("/", 0)]
        seen: set[str] = set()
        while queue and len(reports) < max_pages:
            path, depth = queue.pop(0)
            if shape(path) in seen:
                continue
            seen.add(shape(path))
            server_errors.clear()
            console.clear()
            report = PageReport(path)
            started = time.monotonic()
            response = page.goto(base + path, wait_until="load")
            page.wait_for_function("() => window.__crawlQuiet && window.__crawlQuiet(150)",
                                   polling=50, timeout=15_000)
            if response is None or response.status >= 400:
                report.problems.append(f"status {response.status if response else 'none'}")
            report.problems += check_page(page, path, axe_source, locale=locale,
                                          axe_seen=AXE_PASSED, data=data)
            report.problems += [f"server error {e}" for e in server_errors]
            report.problems += [f"console error {c}" for c in console]
            reports.append(report)
            if TRACE:
                print(f"crawl {username} {locale} {time.monotonic() - started:6.2f}s {path}",
                      file=sys.stderr)
            if depth < 2:
                queue += [(link, depth + 1) for link in _links(page, base)
                          if shape(link) not in seen]
    finally:
        context.close()
    return reports


def assert_clean(browser: Any, base: str, username: str, locale: str = "zh_CN",
                 data: DataWords | None = None) -> None:
    reports = crawl(browser, base, username, locale=locale, data=data)
    assert len(reports) > 2, "the crawl reached no pages"
    problems = [f"{r.url}: {p}" for r in reports for p in r.problems]
    assert not problems, (f"{len(problems)} problems as {username} ({locale}):\n"
                          + "\n".join(problems))


def keyboard_menu_opens(browser: Any, base: str, username: str) -> bool:
    """On a phone, Tab reaches the skip link and then the menu button, and Enter opens it."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, base, username)
        page.keyboard.press("Tab")
        if "skip-link" not in (page.evaluate("document.activeElement.className") or ""):
            return False
        for _ in range(3):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.dataset.testid") == "menu-toggle":
                break
        else:
            return False
        page.keyboard.press("Enter")
        page.locator("[data-testid=menu]").wait_for(state="visible", timeout=3000)
        page.keyboard.press("Tab")
        return bool(page.evaluate(
            "!!document.activeElement.closest('[data-testid=menu]')"))
    finally:
        context.close()
