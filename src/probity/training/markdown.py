"""Course text: Markdown rendered safely — raw HTML is escaped, never passed through, links
with a dangerous scheme (javascript:, data:, …) are not made into links, and table alignment
is dropped (the CSP refuses inline style attributes)."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}) \
    .enable("table").enable("strikethrough")
_STYLE = re.compile(r' style="text-align:(?:left|right|center)"')


def render_markdown(text: str) -> Markup:
    """HTML for a course text or case study; safe to put into a page as is."""
    return Markup(_STYLE.sub("", _MD.render(text or "")))
