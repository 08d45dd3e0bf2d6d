"""A setting's value as the standards pages show it: codes in words, weekly windows with the day
in the reader's language (the crawl found "sat 18:00-21:00" on the zh-CN duty standard)."""

from __future__ import annotations

import pytest

from probity.i18n import translator
from probity.web.labels import Labels


@pytest.mark.parametrize(("locale", "expected"), [
    ("zh_CN", "周六 18:00-21:00、周末 09:00-12:00、每天 00:00-06:00"),
    ("en", "Sat 18:00-21:00, Weekend 09:00-12:00, Daily 00:00-06:00"),
])
def test_weekly_windows_in_the_readers_language(locale: str, expected: str) -> None:
    labels = Labels(translator(locale))
    windows = ["sat 18:00-21:00", "weekend 09:00-12:00", "daily 00:00-06:00"]
    assert labels.setting(windows) == expected


def test_other_text_is_left_as_written() -> None:
    labels = Labels(translator("zh_CN"))
    assert labels.setting("saturday night 18:00") == "saturday night 18:00"
    assert labels.setting("sat") == "周六"
