"""The crawl of issue 15 for the service floor's roles, in zh-CN and in English (see
test_crawl.py), and the menu opening from the keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from tests.ui.crawl import assert_clean, keyboard_menu_opens

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("username", ["compliance", "lead", "agent", "customer"])
def test_every_page_is_clean(browser: Any, live_server: str, username: str) -> None:
    assert_clean(browser, live_server, username)


# English for the agent and the customer (see test_crawl.py for why not every role).
@pytest.mark.parametrize("username", ["agent", "customer"])
def test_every_english_page_is_english(browser: Any, live_server: str, data_words: Any,
                                       username: str) -> None:
    assert_clean(browser, live_server, username, locale="en", data=data_words)


@pytest.mark.parametrize("username", ["admin", "agent", "customer"])
def test_menu_opens_from_the_keyboard(browser: Any, live_server: str, username: str) -> None:
    assert keyboard_menu_opens(browser, live_server, username)
