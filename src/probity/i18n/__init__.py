"""UI translations from Babel catalogs (.po), zh-CN by default with English available.

The source strings in templates and code are English; `zh_CN/LC_MESSAGES/*.po` hold the Chinese:
`messages.po` for the shared strings and one `<domain>.po` per domain (so domains built in
parallel never edit the same catalog). Every `.po` file of a locale is read, in name order, once
at first use (no compile step, nothing generated to commit); a msgid defined twice keeps the
translation of the later file.
Extract new strings with `pybabel extract -F babel.cfg -o messages.pot src/probity`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
_DIR = Path(__file__).parent


@lru_cache
def catalog(locale: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for path in sorted((_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            cat = read_po(fh, locale=locale)
        table.update({str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy})
    return table


def N_(message: str) -> str:
    """Marks an English msgid that is translated later, where it is shown (a page's
    `_(msgid)`): the translation-coverage test (tests/ui) finds it here."""
    return message


def translator(locale: str) -> Callable[..., str]:
    table = catalog(locale) if locale in LOCALES else {}

    def gettext(message: str, **params: object) -> str:
        text = table.get(message, message)
        return text.format(**params) if params else text

    return gettext


def negotiate(cookie: str | None, accept_language: str | None, default: str = DEFAULT_LOCALE
              ) -> str:
    if cookie in LOCALES:
        return cookie
    if accept_language and accept_language.lower().startswith("en"):
        return "en"
    return default
