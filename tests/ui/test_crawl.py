"""The crawl of issue 15: every page as every demo role, on a phone, in zh-CN and in English —
the back-office roles here, the service floor's in test_crawl_floor.py (two files, so that
pytest-xdist's `--dist loadfile` runs the two halves on different workers). Each file shares
one server and one browser; a page structure axe-core has passed is not checked again (the
English crawl mostly reuses the Chinese one's results), see tests/ui/crawl.py."""

from __future__ import annotations

from typing import Any

import pytest
from tests.ui.crawl import assert_clean

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("username", ["admin", "auditor", "hr", "finance"])
def test_every_page_is_clean(browser: Any, live_server: str, username: str) -> None:
    assert_clean(browser, live_server, username)


# English for the role that reaches every back-office page; each other role passes too (run
# `-k english` with more names), but an English crawl costs about as much as a Chinese one and
# CI's time is bounded.
@pytest.mark.parametrize("username", ["admin"])
def test_every_english_page_is_english(browser: Any, live_server: str, data_words: Any,
                                       username: str) -> None:
    assert_clean(browser, live_server, username, locale="en", data=data_words)
