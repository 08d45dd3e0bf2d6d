"""The scoring engine's properties (hypothesis) and the fact rules it relies on: offer episodes,
attribution to the agent or the customer, concealment."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from probity.performance.facts import (
    AgentFacts,
    AlertView,
    case_subject,
    concealed,
    violation_type,
    walk_episodes,
)
from probity.performance.scoring import (
    PenaltyTable,
    ServiceFacts,
    Violation,
    compliance_bonus,
    compliance_score,
    deductions,
    restoration,
    score_agent,
    score_from,
    validate_weights,
)

violations = st.lists(st.builds(
    Violation, case_id=st.integers(1, 10_000),
    vtype=st.sampled_from(["bribe", "contact", "payment", "other"]),
    severity=st.integers(1, 4), concealed=st.booleans()), max_size=30,
    unique_by=lambda v: v.case_id)
tables = st.builds(PenaltyTable, points=st.dictionaries(
    st.tuples(st.sampled_from(["bribe", "contact", "payment", "concealment", "other"]),
              st.one_of(st.none(), st.integers(1, 4))), st.integers(0, 60), max_size=10),
    default=st.integers(0, 30))
service = st.builds(ServiceFacts, conversations=st.integers(0, 50), resolved=st.integers(0, 50),
                    csat_sum=st.integers(0, 250), csat_count=st.integers(0, 50),
                    first_response_sum_s=st.floats(0, 10_000),
                    first_response_count=st.integers(0, 50))
manual = st.dictionaries(st.just("manual.quality"), st.integers(0, 100))
WEIGHTS = {"compliance": 20, "csat": 30, "first_response": 15, "resolution": 15,
           "manual.quality": 20}


@settings(max_examples=300, deadline=None)  # the machine is shared: no wall clock
@given(violations, tables, service, manual)
def test_scores_stay_within_0_and_100(vs: list[Violation], table: PenaltyTable,
                                      svc: ServiceFacts, man: dict[str, int]) -> None:
    card = score_agent(vs, table, svc, man, WEIGHTS)
    assert 0 <= card.compliance <= 100
    assert Decimal(0) <= card.total <= Decimal(100)
    for value in card.indicators.values():
        assert value is None or 0 <= value <= 100


@settings(max_examples=300, deadline=None)  # the machine is shared: no wall clock
@given(violations, st.builds(Violation, case_id=st.integers(10_001, 20_000),
                             vtype=st.sampled_from(["bribe", "contact", "payment"]),
                             severity=st.integers(1, 4), concealed=st.booleans()),
       tables, service, manual)
def test_monotone_in_violations(vs: list[Violation], extra: Violation, table: PenaltyTable,
                                svc: ServiceFacts, man: dict[str, int]) -> None:
    before = score_agent(vs, table, svc, man, WEIGHTS)
    after = score_agent([*vs, extra], table, svc, man, WEIGHTS)
    assert after.compliance <= before.compliance
    assert after.total <= before.total


@settings(max_examples=300, deadline=None)  # the machine is shared: no wall clock
@given(violations, tables, service, manual, st.integers(0, 20), st.integers(0, 20),
       st.integers(0, 20))
def test_a_refusal_never_lowers_a_score(vs: list[Violation], table: PenaltyTable,
                                        svc: ServiceFacts, man: dict[str, int], refusals: int,
                                        rebuffed: int, self_reports: int) -> None:
    base = score_agent(vs, table, svc, man, WEIGHTS, refusals=refusals, rebuffed=rebuffed,
                       self_reports=self_reports)
    more = score_agent(vs, table, svc, man, WEIGHTS, refusals=refusals + 1,
                       rebuffed=rebuffed + 1, self_reports=self_reports + 1)
    assert more.compliance >= base.compliance and more.total >= base.total


@settings(max_examples=300, deadline=None)  # the machine is shared: no wall clock
@given(violations, tables, st.data())
def test_an_overturned_appeal_restores_exactly(vs: list[Violation], table: PenaltyTable,
                                               data: st.DataObject) -> None:
    overturned = data.draw(st.sets(st.sampled_from([v.case_id for v in vs]))) if vs else set()
    frozen = compliance_score(vs, table)
    lines = deductions(vs, table)
    assert score_from(lines) == frozen
    restored = frozen + restoration(lines, overturned)
    assert restored == compliance_score([v for v in vs if v.case_id not in overturned], table)
    # Restoring in steps (one appeal at a time) adds up to the same.
    done: set[int] = set()
    total = 0
    for case_id in sorted(overturned):
        step_before = restoration(lines, done)
        done.add(case_id)
        total += restoration(lines, done) - step_before
    assert frozen + total == restored


def test_penalty_standard_defaults_and_concealment() -> None:
    table = PenaltyTable({("bribe", None): 10, ("bribe", 4): 20, ("concealment", None): 15})
    assert compliance_score([Violation(1, "contact", 2)], table) == 95  # default 5
    assert compliance_score([Violation(1, "bribe", 2)], table) == 90
    assert compliance_score([Violation(1, "bribe", 4)], table) == 80
    assert compliance_score([Violation(1, "bribe", 4, concealed=True)], table) == 65
    assert compliance_score([Violation(i, "bribe", 4) for i in range(10)], table) == 0


def test_weights_must_sum_to_100_and_include_compliance() -> None:
    assert validate_weights({"compliance": 20, "csat": 80}) is None
    assert validate_weights({"compliance": 20, "csat": 70}) == (
        "The weights sum to {total}%, not 100%", {"total": 90})
    assert validate_weights({"csat": 100}) == ("The compliance indicator is required", {})


def test_bonus_rule() -> None:
    assert compliance_bonus(90, Decimal("3000.00"), 90, Decimal("0.10")).amount == Decimal(
        "300.00")
    lost = compliance_bonus(85, Decimal("3000.00"), 90, Decimal("0.10"))
    assert not lost.eligible and lost.amount == Decimal("0.00") and "85 < 90" in lost.reason


def test_bonus_reason_prints_plain_percentages() -> None:
    assert "10% × 3000.00" in compliance_bonus(95, Decimal("3000.00"), 90, Decimal("0.10")).reason
    assert "12.5% × 3000.00" in compliance_bonus(95, Decimal("3000.00"), 90,
                                                  Decimal("0.125")).reason


def _msg(i: int, role: str, decision: str = "allow", cats: tuple[str, ...] = (),
         sender: int | None = None) -> tuple[int, str, str, list[str], int | None]:
    return (i, role, decision, list(cats), sender)


def test_refusals_count_once_per_offer_episode() -> None:
    out: dict[int, AgentFacts] = {}
    walk_episodes(1, 7, [
        _msg(1, "customer", "block", ("bribe",)),
        _msg(2, "customer", "block", ("bribe",)),  # the same offer, insisted on
        _msg(3, "agent", "allow", ("refusal",), 7),
        _msg(4, "agent", "allow", ("refusal",), 7),  # said twice: still one episode
        _msg(5, "customer", "block", ("contact",)),  # a new offer after the answer
        _msg(6, "agent", "allow", ("refusal",), 7),
        _msg(7, "customer", "block", ("payment",)),  # rebuffed without a refusal phrase
    ], out)
    facts = out[7]
    assert len(facts.refusals) == 2
    assert facts.offers == 3
    assert [e.message_id for e in facts.rebuffed] == [1, 5, 7]


def test_an_agent_going_along_is_not_rebuffed() -> None:
    out: dict[int, AgentFacts] = {}
    walk_episodes(1, 7, [_msg(1, "customer", "block", ("contact",)),
                         _msg(2, "agent", "warn", ("contact",), 7)], out)
    assert out[7].offers == 1 and not out[7].rebuffed and not out[7].refusals


def test_attribution_and_concealment() -> None:
    customer_only = [AlertView("screening", "customer", "bribe", ("bribe",))]
    assert case_subject("agent", customer_only) == "customer"
    agent = [AlertView("screening", "agent", "contact", ("contact",)),
             AlertView("screening", "customer", "bribe", ("bribe",))]
    assert case_subject("agent", agent) == "agent" and violation_type(agent) == "contact"
    assert case_subject("customer", agent) == "customer"  # screening's attribution decides
    finance = [AlertView("finance", "agent", "payment", ("payment",))]
    assert concealed(finance) and violation_type(finance) == "payment"
    assert not concealed(finance, self_reported=True)
