"""Write one benchmark's figures into its own section of docs/BENCHMARKS.md.

Each benchmark owns the text between `<!-- NAME:start -->` and `<!-- NAME:end -->`; other
sections are left as they are, so the scripts can run in any order.
"""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\n"
    "Each section is written by the script named in it (`make bench` runs them all). Every\n"
    "figure is compared against a baseline measured in the same run on the same machine.\n"
)


def machine() -> str:
    import os

    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"


def write_section(name: str, body: str) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (
        f"<!-- {name}:start -->\n{body.rstrip()}\n\n_Measured {stamp} on {machine()}._\n"
        f"<!-- {name}:end -->"
    )
    tag = re.escape(name)
    pattern = re.compile(rf"<!-- {tag}:start -->.*?<!-- {tag}:end -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(text, encoding="utf-8")
