"""The cohort algorithm: reference values, exact bytes, plan rules and properties."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from eth_hash.auto import keccak as reference_keccak
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.cohorts import (
    COHORTS,
    PHASES,
    RolloutPlan,
    assign,
    assignments,
    bucket,
    bucket_of_bytes,
    buckets_of,
    cohort4_note,
    count_buckets,
    is_active,
    phase,
    plan_problems,
)
from noderr_deploy.keccak import keccak256

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAN, INF = float("nan"), float("inf")


def reference_bucket(raw: bytes) -> int:
    """An independent implementation (eth-hash's pycryptodome backend)."""
    return int.from_bytes(reference_keccak(raw), "big") % 100


@pytest.mark.parametrize(
    ("node_id", "expected"),
    [("node-0", 92), ("node-1", 63), ("node-2", 37), ("test-node-123", 94), ("validator-eu-1", 75)],
)
def test_reference_buckets(node_id: str, expected: int) -> None:
    assert bucket(node_id) == expected
    assert buckets_of([node_id.encode()]) == bytes([expected])


def test_keccak_is_ethereums_not_sha3_256() -> None:
    digest = keccak256(b"test-node-123")
    assert digest.hex().startswith("9e6802")
    assert digest.hex().endswith("0bfe")
    assert digest != hashlib.sha3_256(b"test-node-123").digest()


def test_ten_thousand_ids_distribute_exactly_as_the_network() -> None:
    ids = [f"node-{i}".encode() for i in range(10_000)]
    counts = RolloutPlan(5, 25, 24).cohort_counts(count_buckets(buckets_of(ids)))
    assert counts == {
        "canary": 497,
        "cohort1": 2509,
        "cohort2": 2508,
        "cohort3": 2501,
        "cohort4": 1985,
    }


AWKWARD_IDS = [
    "nœud-ü-1",
    "Zoë",
    "Zoe\u0308",  # the same name with a combining diaeresis: different bytes
    "node 🚀 1",
    "👩‍💻",
    " node-1",
    "node-1 ",
    "\tnode-1",
    "0x12ab",
    "0X12AB",
    "x" * 4096,
    "é" * 2048,
    'a,"b"',
    "NODE-1",
    "node-1\r",
]


@pytest.mark.parametrize("node_id", AWKWARD_IDS)
def test_awkward_ids_are_hashed_byte_exact(node_id: str) -> None:
    raw = node_id.encode("utf-8")
    expected = reference_bucket(raw)
    assert bucket(node_id) == expected
    assert bucket_of_bytes(raw) == expected
    assert buckets_of([raw]) == bytes([expected])


def test_no_normalisation_trimming_or_case_folding() -> None:
    # Each pair is the "same" id to a human; the services hash different bytes.
    pairs = [
        (unicodedata.normalize("NFC", "Zoë"), unicodedata.normalize("NFD", "Zoë")),
        ("node-1", " node-1"),
        ("node-1", "NODE-1"),
        ("0x12ab", bytes.fromhex("12ab").decode("latin-1")),
    ]
    for left, right in pairs:
        assert keccak256(left.encode()) != keccak256(right.encode())
    # "0x12ab" is text: it is not decoded as the two bytes 0x12 0xab.
    assert bucket("0x12ab") == reference_bucket(b"0x12ab")
    assert bucket("0x12ab") != reference_bucket(bytes.fromhex("12ab"))


def test_batch_equals_single_for_many_ids() -> None:
    ids = [f"validator-{r}-{i}".encode() for r in ("eu", "us") for i in range(500)]
    assert list(buckets_of(ids)) == [reference_bucket(raw) for raw in ids]
    assert buckets_of([]) == b""


# -- plan rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "problems"),
    [
        ((5, 25, 24), []),
        ((0, 0, 0), []),
        ((100, 0, 1), []),
        ((10, 30, 1), []),
        ((101, 25, 24), [("canary_percentage", "101 is not within 0..100")]),
        ((-1, 25, 24), [("canary_percentage", "-1 is not within 0..100")]),
        ((5, 200, 24), [("cohort_percentage", "200 is not within 0..100")]),
        ((5, 25, -1), [("cohort_delay_hours", "-1 is not a finite number of hours >= 0")]),
        (
            (5, 25, float("nan")),
            [("cohort_delay_hours", "nan is not a finite number of hours >= 0")],
        ),
        (
            (5, 25, float("inf")),
            [("cohort_delay_hours", "inf is not a finite number of hours >= 0")],
        ),
        # The engine's rule is cumulative: cohort4 may be empty (a note, not a problem).
        ((50, 25, 24), []),
        ((10, 31, 24), []),
        ((10, 40, 24), []),
        ((100, 100, 0), []),
        ((5, 25, 2**256 - 1), []),
        (
            (5, 25, 1.5),
            [
                (
                    "cohort_delay_hours",
                    "1.5 is not a whole number of hours (the VersionBeacon stores whole hours)",
                )
            ],
        ),
    ],
)
def test_plan_rules(plan: tuple[int, int, float], problems: list[tuple[str | None, str]]) -> None:
    assert plan_problems(*plan) == problems
    if problems:
        with pytest.raises(ValueError, match=r"is not"):
            RolloutPlan(*plan)
    else:
        RolloutPlan(*plan)


def test_updater_divergence_warning() -> None:
    assert RolloutPlan(5, 25, 24).warnings() == []  # 5 + 100 >= 100
    assert RolloutPlan(0, 25, 24).warnings() == []  # exactly 100
    assert RolloutPlan(10, 20, 24).warnings() == [
        "the node auto-updater never updates buckets 90..99 (10% of buckets): canary 10"
        " + 4 x cohort 20 < 100, while the deployment engine places them in cohort4"
    ]
    assert RolloutPlan(1, 1, 1).updater_never_eligible_percent() == 95


def test_five_twenty_five_leaves_twenty_percent_in_cohort4() -> None:
    plan = RolloutPlan(5, 25, 24)
    assert plan.bounds() == {
        "canary": (0, 5),
        "cohort1": (5, 30),
        "cohort2": (30, 55),
        "cohort3": (55, 80),
        "cohort4": (80, 100),
    }


# -- schedule ---------------------------------------------------------------------------------


def test_schedule_and_phase() -> None:
    plan = RolloutPlan(5, 25, 24)
    day = timedelta(hours=24)
    assert phase(plan, T0, T0) == "canary"
    assert phase(plan, T0, T0 + day - timedelta(seconds=1)) == "canary"
    assert phase(plan, T0, T0 + day) == "cohort1"
    assert phase(plan, T0, T0 + 4 * day) == "cohort4"
    assert phase(plan, T0, T0 + 5 * day) == "complete"
    assert is_active(plan, T0, "cohort2", T0 + 2 * day)
    assert not is_active(plan, T0, "cohort2", T0 + 2 * day - timedelta(seconds=1))


def test_assignments_with_and_without_publish_time() -> None:
    plan = RolloutPlan(5, 25, 24)
    row = assign("node-1", plan)
    assert row == ("node-1", 63, "cohort3", None, None)
    at = T0 + timedelta(hours=72)
    row = assign("node-1", plan, T0, at)
    assert row.activates_at == T0 + timedelta(hours=72)
    assert row.active is True
    assert assign("node-0", plan, T0, at).active is False  # cohort4, from 96 h
    with pytest.raises(ValueError, match="needs the time"):
        list(assignments([b"x"], buckets_of([b"x"]), plan, T0))


# -- properties -------------------------------------------------------------------------------

valid_plans = st.builds(
    RolloutPlan,
    st.integers(0, 100),
    st.integers(0, 100),
    # Every delay the contract can store, whole hours up to uint256 max.
    st.one_of(st.integers(0, 1000), st.integers(0, 2**256 - 1)),
)


@given(st.text())
def test_bucket_is_always_within_0_to_99(node_id: str) -> None:
    assert 0 <= bucket(node_id) <= 99


@given(st.binary(max_size=300))
def test_bucket_matches_an_independent_keccak(raw: bytes) -> None:
    assert bucket_of_bytes(raw) == reference_bucket(raw) == buckets_of([raw])[0]


@given(st.text(), valid_plans)
def test_same_id_same_cohort(node_id: str, plan: RolloutPlan) -> None:
    first = assign(node_id, plan)
    again = assign(str(node_id), plan)
    assert first == again
    assert first.cohort == plan.cohort_of_bucket(bucket(node_id))


@given(valid_plans)
def test_cohorts_are_contiguous_bucket_ranges_matching_the_plan(plan: RolloutPlan) -> None:
    table = plan.cohort_table()
    indices = [COHORTS.index(name) for name in table]
    assert indices == sorted(indices)  # contiguous, in cohort order
    c, s = plan.canary_percentage, plan.cohort_percentage
    sizes = [table.count(name) for name in COHORTS]
    # The engine's cumulative rule, clamped at bucket 99: later cohorts shrink to nothing.
    edges = [min(e, 100) for e in (0, c, c + s, c + 2 * s, c + 3 * s)] + [100]
    assert sizes == [edges[i + 1] - edges[i] for i in range(5)]
    for name, (low, high) in plan.bounds().items():
        assert [b for b in range(100) if table[b] == name] == list(range(low, high))


@given(valid_plans, st.lists(st.integers(0, 1000), min_size=100, max_size=100))
def test_cohort_counts_add_up(plan: RolloutPlan, per_bucket: list[int]) -> None:
    counts = plan.cohort_counts(per_bucket)
    assert list(counts) == list(COHORTS)
    assert sum(counts.values()) == sum(per_bucket)


@given(
    valid_plans,
    st.integers(-10 * 86400, 200 * 86400),
    st.integers(-10 * 86400, 200 * 86400),
)
def test_phase_is_monotonic_in_time(plan: RolloutPlan, a: int, b: int) -> None:
    early, late = sorted((T0 + timedelta(seconds=a), T0 + timedelta(seconds=b)))
    assert PHASES.index(phase(plan, T0, early)) <= PHASES.index(phase(plan, T0, late))


@given(valid_plans, st.integers(0, 200 * 86400))
def test_a_cohort_is_active_exactly_from_its_phase_on(plan: RolloutPlan, elapsed: int) -> None:
    at = T0 + timedelta(seconds=elapsed)
    current = PHASES.index(phase(plan, T0, at))
    for k, name in enumerate(COHORTS):
        assert is_active(plan, T0, name, at) == (k <= current)


def test_shares_are_percent_to_two_decimals_and_zero_without_nodes() -> None:
    from noderr_deploy.cohorts import shares

    assert shares({"canary": 1, "cohort1": 2}) == {"canary": 33.33, "cohort1": 66.67}
    assert shares({"canary": 0, "cohort1": 0}) == {"canary": 0.0, "cohort1": 0.0}


@pytest.mark.parametrize(
    ("canary", "cohort", "note"),
    [
        (
            10,
            40,
            "cohort4 is empty: canary 10 + 3 x cohort 40 >= 100, so cohort3 ends at bucket 99",
        ),
        (
            50,
            30,
            "cohort4 is empty (cohort3 too): canary 50 + 3 x cohort 30 >= 100, so cohort2 ends",
        ),
        (
            60,
            50,
            "cohort4 is empty (cohort2, cohort3 too): canary 60 + 3 x cohort 50 >= 100, so cohort1",
        ),
    ],
)
def test_the_note_names_every_cohort_left_empty(canary: int, cohort: int, note: str) -> None:
    # Review round 2: with 50/30 it named only cohort4, but cohort3 is empty as well.
    text = cohort4_note(canary, cohort)
    assert text is not None and text.startswith(note)
    sizes = {name: 0 for name in COHORTS}
    plan = RolloutPlan(canary_percentage=canary, cohort_percentage=cohort)
    for value in range(100):
        sizes[plan.cohort_of_bucket(value)] += 1
    empty = [name for name in COHORTS[1:] if sizes[name] == 0]
    assert all(name in text.split(":")[0] for name in empty), (empty, text)
