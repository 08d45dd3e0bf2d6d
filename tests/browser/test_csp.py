"""The Content-Security-Policy in a real browser: the pages work with inline script and style
refused, and no page triggers a violation."""

from __future__ import annotations

import pytest
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile));"""

PAGES = {
    "admin": ["/", "/org/chart", "/org/structure", "/cases", "/ledger", "/alerts", "/audit",
              "/standards", "/performance", "/notifications", "/account/tokens", "/api/docs"],
    "agent": ["/chat/workspace"],
}


def test_pages_raise_no_csp_violation(live_server: str, browser: object) -> None:
    violations: list[str] = []
    for user, paths in PAGES.items():
        context = browser.new_context()  # type: ignore[attr-defined]
        context.add_init_script(WATCH)
        page = context.new_page()
        try:
            sign_in(page, live_server, user)
            for path in paths:
                page.goto(f"{live_server}{path}")
                page.wait_for_load_state("networkidle")
                found = page.evaluate("window.__csp")
                violations.extend(f"{user} {path}: {v}" for v in found)
        finally:
            context.close()
    assert not violations, "\n".join(violations)
