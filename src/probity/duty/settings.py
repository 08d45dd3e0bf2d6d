"""The `duty` section of the group standards: the high-risk windows that must have someone of
HR on duty (until analytics' findings name them), and whether duty alerts go to the robots."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from pydantic import Field, field_validator

from probity.auth.permissions import Perm
from probity.governance import SettingsSection, register_section

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Day words a window may name: one weekday, or a group of them.
DAY_GROUPS: dict[str, tuple[int, ...]] = {
    **{d: (n,) for n, d in enumerate(DAYS)},
    "daily": tuple(range(7)), "weekdays": tuple(range(5)), "weekend": (5, 6),
}
WINDOW_RE = re.compile(r"^\s*([a-z]+)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    """A weekly window in the tenant's zone: weekdays (0 = Monday), local start and end (an end
    at or before the start runs into the next day)."""

    spec: str
    weekdays: tuple[int, ...]
    start: time
    end: time


def parse_window(spec: str) -> Window:
    m = WINDOW_RE.match(spec.lower())
    if m is None or m.group(1) not in DAY_GROUPS:
        raise ValueError(f"{spec!r}: write a window as 'sat 18:00-21:00' (mon…sun, daily, "
                         "weekdays or weekend)")
    h1, m1, h2, m2 = (int(m.group(i)) for i in range(2, 6))
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{spec!r}: not a time of day")
    end = time(0, 0) if h2 == 24 else time(h2, m2)
    if (h1, m1) == (h2 % 24, m2):
        raise ValueError(f"{spec!r}: the window is empty")
    return Window(spec.strip(), DAY_GROUPS[m.group(1)], time(h1, m1), end)


class DutySettings(SettingsSection):
    high_risk_windows: list[str] = Field(
        default_factory=lambda: ["sat 18:00-21:00", "sun 18:00-21:00"], max_length=50,
        title="High-risk windows that need HR on duty (e.g. sat 18:00-21:00)")
    robots: bool = Field(True, title="Send duty alerts through the group robots as well")

    @field_validator("high_risk_windows")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for spec in value:
            parse_window(spec)
        return [" ".join(s.lower().split()) for s in value]


register_section("duty", DutySettings, title="HR duty", read=Perm.duty_read,
                 manage=Perm.duty_manage)
