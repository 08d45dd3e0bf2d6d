"""UI translations from Babel catalogs (.po), zh-CN by default with English available.

The source strings in templates and code are English; `zh_CN/LC_MESSAGES/*.po` hold the Chinese:
`messages.po` for the shared strings and one `<domain>.po` per domain (so domains built in
parallel never edit the same catalog). Every `.po` file of a locale is read, in name order, once
at first use (no compile step, nothing generated to commit); a msgid defined twice keeps the
translation of the later file.
Extract new strings with `pybabel extract -F babel.cfg -o messages.pot src/probity`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeAlias

from babel.messages.pofile import read_po

# A parameter annotated `Msgid` takes an English msgid that is translated where it is shown:
# the translation-coverage test (tests/ui/test_translations.py) finds every function with such
# a parameter in the source and checks the literal each call passes there, so a new helper that
# takes a msgid is covered by annotating its parameter, with no list to keep up to date.
Msgid: TypeAlias = str

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


def N_(message: Msgid) -> str:
    """Marks an English msgid that is translated later, where it is shown (a page's
    `_(msgid)`): the translation-coverage test (tests/ui) finds it here."""
    return message


def deferred(msgid: Msgid, /, **params: object) -> dict[str, Any]:
    """A text stored now and translated where it is shown, in the reader's language (an in-app
    notification): the msgid and its parameters, JSON-serialisable. A parameter that is itself
    a msgid (a category, a severity) is given as `word("category.contact")`; a list is joined
    with the reader's list separator (、 or ,). The translation-coverage test finds the msgid
    here."""
    return {"id": msgid, "params": {k: _plain(v) for k, v in params.items()}}


def word(msgid: Msgid) -> dict[str, str]:
    """A parameter of `deferred` that is translated too."""
    return {"word": msgid}


def _plain(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool | dict):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def render_deferred(spec: Mapping[str, Any], gettext: Callable[..., str]) -> str:
    """A `deferred` text in the language of `gettext`."""
    def one(value: object) -> object:
        if isinstance(value, dict) and "word" in value:
            return gettext(str(value["word"]))
        if isinstance(value, list):
            sep = gettext("separator.list")
            return (sep if sep != "separator.list" else ", ").join(str(one(v)) for v in value)
        return value

    msgid = str(spec.get("id", ""))
    params = {k: one(v) for k, v in (spec.get("params") or {}).items()}
    return gettext(msgid, **params) if params else gettext(msgid)


def translator(locale: str) -> Callable[..., str]:
    table = catalog(locale) if locale in LOCALES else {}

    def gettext(message: Msgid, **params: object) -> str:
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
