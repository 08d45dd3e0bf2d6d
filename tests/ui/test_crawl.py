"""The crawl of issue 15: every page as every demo role, in zh-CN, on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from tests.ui.crawl import crawl, keyboard_menu_opens

pytestmark = pytest.mark.browser

ROLES = ["admin", "auditor", "hr", "finance", "compliance", "lead", "agent", "customer"]


@pytest.mark.parametrize("username", ROLES)
def test_every_page_is_clean(browser: Any, live_server: str, username: str) -> None:
    reports = crawl(browser, live_server, username)
    assert len(reports) > 2, "the crawl reached no pages"
    problems = [f"{r.url}: {p}" for r in reports for p in r.problems]
    assert not problems, f"{len(problems)} problems as {username}:\n" + "\n".join(problems)


@pytest.mark.parametrize("username", ["admin", "agent", "customer"])
def test_menu_opens_from_the_keyboard(browser: Any, live_server: str, username: str) -> None:
    assert keyboard_menu_opens(browser, live_server, username)
