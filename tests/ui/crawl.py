"""Crawl every page a demo role can reach, as a phone in zh-CN, and list what is wrong with it.

A page is every same-origin link reachable from the menu within two clicks, one per URL shape
(`/cases/17` and `/cases/18` are one shape), so pages other domains add are crawled without
being listed here. Each page is checked for:

* server errors (any response >= 500, the page itself or its requests) and a page status >= 400;
* console errors and uncaught exceptions;
* untranslated text: a Latin word (letters, `_`, `.`, `-`, no digit) in the visible text or in a
  placeholder / aria-label / title / alt, outside `<code>`, `[translate=no]` (people's data:
  names, usernames, message text) and `[lang=en]`, and not an allowed token (product name, API,
  CSV, brand names, units). Raw codes (`auth.login`, `wechat_pay`, `screening: contact`) are
  Latin words, so they are caught the same way;
* serious or critical axe-core violations (axe-core from npm, node_modules/axe-core);
* a document wider than the 390 px viewport;
* a time not in the one display format (`YYYY-MM-DD HH:MM`, issue 15.8): a `<time>` element
  with other text, or visible text with an ISO `T` time, seconds, or a UTC offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from probity.config import PROJECT_ROOT

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}

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

TEXT_PROBE = r"""
() => {
  const skip = 'script,style,code,pre,kbd,samp,template,noscript,[translate=no],[lang=en],svg';
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
  return out;
}
"""

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


def check_page(page: Any, url: str, axe_source: str) -> list[str]:
    problems: list[str] = []
    for tag, text in page.evaluate(TEXT_PROBE):
        words = latin_words(text)
        if words:
            problems.append(f"untranslated in <{tag}>: {', '.join(sorted(set(words)))} "
                            f"({text[:60]!r})")
    problems += time_problems(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"page is {width} px wide")
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})")
    for v in result["violations"]:
        if v["impact"] in ("serious", "critical"):
            targets = "; ".join(str(n["target"]) for n in v["nodes"][:3])
            problems.append(f"axe {v['impact']} {v['id']}: {v['help']} at {targets}")
    return problems


def crawl(browser: Any, base: str, username: str, *, max_pages: int = 60
          ) -> list[PageReport]:
    axe_source = Path(AXE).read_text(encoding="utf-8")
    # axe-core is injected as an inline script, which the pages' CSP (rightly) refuses, so this
    # context bypasses CSP; that no template carries inline script or style is checked by
    # tests/security/test_headers.py and the policy in a browser by tests/browser/test_csp.py.
    context = browser.new_context(viewport=PHONE, locale="zh-CN", bypass_csp=True)
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
            response = page.goto(base + path)
            page.wait_for_load_state("networkidle")
            if response is None or response.status >= 400:
                report.problems.append(f"status {response.status if response else 'none'}")
            report.problems += check_page(page, path, axe_source)
            report.problems += [f"server error {e}" for e in server_errors]
            report.problems += [f"console error {c}" for c in console]
            reports.append(report)
            if depth < 2:
                queue += [(link, depth + 1) for link in _links(page, base)
                          if shape(link) not in seen]
    finally:
        context.close()
    return reports


def assert_clean(browser: Any, base: str, username: str) -> None:
    reports = crawl(browser, base, username)
    assert len(reports) > 2, "the crawl reached no pages"
    problems = [f"{r.url}: {p}" for r in reports for p in r.problems]
    assert not problems, f"{len(problems)} problems as {username}:\n" + "\n".join(problems)


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
