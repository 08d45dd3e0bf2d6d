"""Replaying screening policies over stored messages: the pure, CPU-only core (no database).

`replay_batch` screens each message on its own with the tenant's current and candidate
compiled policies and tallies the decisions that change: a *new* flag is a category the
candidate flags and the current policy does not, a *cleared* flag the reverse (per tenant and
category). It runs in a worker thread; the caller feeds it batches and reports progress.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from probity.screening import CompiledPolicy, screen_message

FLAG_CATEGORIES = ("contact", "bribe", "payment")
SAMPLES_PER_KEY = 5


@dataclass(frozen=True)
class ReplayItem:
    message_id: int
    conversation_id: int
    tenant_id: int
    role: str  # customer | agent
    text: str


@dataclass(frozen=True)
class Change:
    message_id: int
    conversation_id: int
    tenant_id: int
    role: str
    before: str  # decision with the current policy
    after: str  # decision with the candidate
    new: tuple[str, ...]
    cleared: tuple[str, ...]
    masked: str  # the text with what either policy flagged masked


@dataclass
class ReplayTally:
    screened: int = 0
    changed: int = 0
    # (tenant id, category, "new" | "cleared") → messages
    counts: Counter[tuple[int, str, str]] = field(default_factory=Counter)
    samples: dict[tuple[int, str, str], list[Change]] = field(default_factory=dict)

    def merge(self, other: ReplayTally) -> None:
        self.screened += other.screened
        self.changed += other.changed
        self.counts.update(other.counts)
        for key, changes in other.samples.items():
            room = SAMPLES_PER_KEY - len(self.samples.setdefault(key, []))
            self.samples[key].extend(changes[:max(room, 0)])


def _flags(decision: str, categories: Iterable[str]) -> frozenset[str]:
    if decision == "allow":
        return frozenset()
    return frozenset(c for c in categories if c in FLAG_CATEGORIES)


def replay_batch(items: Iterable[ReplayItem], current: Mapping[int, CompiledPolicy],
                 candidate: Mapping[int, CompiledPolicy],
                 progress: Callable[[int], None] | None = None,
                 every: int = 2000) -> ReplayTally:
    """Screen every item with both policies of its tenant. A tenant whose candidate is the
    very same compiled policy as its current one cannot change and is counted, not screened."""
    tally = ReplayTally()
    counts = tally.counts
    for n, item in enumerate(items, 1):
        before_policy = current[item.tenant_id]
        after_policy = candidate[item.tenant_id]
        tally.screened += 1
        if progress is not None and n % every == 0:
            progress(n)
        if before_policy is after_policy:
            continue
        before = screen_message(item.text, item.role, before_policy)
        after = screen_message(item.text, item.role, after_policy)
        if before.decision == after.decision and before.categories == after.categories:
            continue
        old, new = _flags(before.decision, before.categories), _flags(after.decision,
                                                                        after.categories)
        added, removed = new - old, old - new
        if not added and not removed and before.decision == after.decision:
            continue
        tally.changed += 1
        change = Change(item.message_id, item.conversation_id, item.tenant_id, item.role,
                        before.decision, after.decision, tuple(sorted(added)),
                        tuple(sorted(removed)),
                        after.masked if after.decision != "allow" else before.masked)
        for cat, kind in [*((c, "new") for c in added), *((c, "cleared") for c in removed)]:
            key = (item.tenant_id, cat, kind)
            counts[key] += 1
            bucket = tally.samples.setdefault(key, [])
            if len(bucket) < SAMPLES_PER_KEY:
                bucket.append(change)
    return tally
