"""The fast path (config.sections) and the full validator (config.schema) are one reader:
whatever one accepts the other accepts with the same values, whatever one rejects the
other rejects with the same message. Generated configs, odd YAML included."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noderr_deploy.config.schema import load_config
from noderr_deploy.config.sections import FileSettings, read_settings
from noderr_deploy.errors import ConfigError

TIERS = "tiers:\n  all: {beacon_tier: 0, size_budget: 500MB}\n"

# Scalars as YAML spells them, plausible and odd: booleans, floats for ints, strings,
# nulls, special floats, huge integers, octal and hex forms.
SCALARS = st.sampled_from(
    [
        "0",
        "1",
        "5",
        "10",
        "25",
        "40",
        "50",
        "99",
        "100",
        "101",
        "-1",
        "24",
        "0.5",
        "5.0",
        "1e3",
        "1e999",
        ".inf",
        "-.inf",
        ".nan",
        "true",
        "false",
        "yes",
        "null",
        "~",
        "'5'",
        '"10"',
        "0x10",
        "0o7",
        "1_000",
        "99999999999999999999999",
        "0.1",
        "0.05",
        "0.0",
        "[]",
        "{}",
        "abc",
        "2024-01-01",
    ]
)
KEYS = st.sampled_from(
    [
        "canary_percentage",
        "cohort_percentage",
        "cohort_delay_hours",
        "unhealthy_threshold",
        "error_rate_threshold",
        "min_nodes",
        "unknown_key",
        "<<",
    ]
)


@st.composite
def section(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.tuples(KEYS, SCALARS), max_size=4))
    style = draw(st.sampled_from(["flow", "block"]))
    if style == "flow":
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if not items:
        return "{}"
    return "\n" + "".join(f"  {k}: {v}\n" for k, v in items)


@st.composite
def config(draw: st.DrawFn) -> str:
    text = ""
    if draw(st.booleans()):
        body = draw(
            st.one_of(
                section(),
                # anchors, aliases and merge keys inside the section
                st.just("{canary_percentage: &c 10, cohort_percentage: *c}"),
                st.just("{<<: {canary_percentage: 10}, cohort_percentage: 20}"),
                st.just("!!map {canary_percentage: 10}"),
                st.just("{canary_percentage: !!int 10}"),
                st.just("{canary_percentage: !!str 10}"),
                st.just("{canary_percentage: 10, canary_percentage: 20}"),
            )
        )
        text += f"rollout: {body}\n"
    if draw(st.booleans()):
        text += f"rollback: {draw(section())}\n"
    if draw(st.booleans()):  # a duplicated section
        text += f"rollout: {draw(section())}\n"
    return text + TIERS


def outcome(reader: object, path: Path) -> tuple[str, object]:
    try:
        found = read_settings(path) if reader == "fast" else FileSettings.of(load_config(path))
    except ConfigError as exc:
        return "rejected", (exc.message, tuple(exc.details))
    return "accepted", (found.rollout, found.rollback, found.plan())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config())
def test_fast_path_and_full_validator_agree(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tiers.yaml"
        path.write_text(text)
        assert outcome("fast", path) == outcome("full", path), text
