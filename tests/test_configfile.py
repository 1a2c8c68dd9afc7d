"""tiers.yaml's rollout section read without pydantic: same answers, same errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from noderr_deploy.cohorts import PLAN_KEYS
from noderr_deploy.config import load_config
from noderr_deploy.configfile import discover_config, find_config, read_rollout
from noderr_deploy.errors import ConfigError

TIERS = "tiers:\n  all: {beacon_tier: 0, size_budget: 500MB}\n"


def write(tmp_path: Path, rollout: str | None) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text((f"rollout: {rollout}\n" if rollout is not None else "") + TIERS)
    return path


def full(path: Path) -> dict[str, int | float]:
    rollout = load_config(path).rollout
    return {k: getattr(rollout, k) for k in PLAN_KEYS if k in rollout.model_fields_set}


@pytest.mark.parametrize(
    ("rollout", "expected"),
    [
        (None, {}),
        ("{}", {}),
        ("{canary_percentage: 10}", {"canary_percentage": 10}),
        (
            "{canary_percentage: 10, cohort_percentage: 20, cohort_delay_hours: 1.5}",
            {"canary_percentage": 10, "cohort_percentage": 20, "cohort_delay_hours": 1.5},
        ),
        ("{cohort_delay_hours: 0}", {"cohort_delay_hours": 0}),
        # Not plainly typed: handed to the full loader, which coerces as pydantic does.
        ('{canary_percentage: "7"}', {"canary_percentage": 7}),
        ("{canary_percentage: 7.0}", {"canary_percentage": 7}),
        ("{canary_percentage: true}", {"canary_percentage": 1}),  # pydantic's lax mode
    ],
)
def test_fast_path_agrees_with_the_full_loader(
    tmp_path: Path, rollout: str | None, expected: dict[str, int | float]
) -> None:
    path = write(tmp_path, rollout)
    assert read_rollout(path) == expected
    assert full(path) == expected


def test_block_style_section(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text("rollout:\n  canary_percentage: 2  # small canary\n  cohort_percentage: 30\n")
    assert read_rollout(path) == {"canary_percentage": 2, "cohort_percentage": 30}


@pytest.mark.parametrize(
    ("rollout", "problem"),
    [
        ("{canary_percentage: 150}", ":1:30: rollout.canary_percentage: 150 is not within 0..100"),
        ("{canary_percentage: 50}", ":1:10: rollout: canary 50 + 3 x cohort 25 > 100"),
        ("{cohort_delay_hours: -2}", ":1:31: rollout.cohort_delay_hours: -2.0 is not a finite"),
        ("{canary_percentage: 5.5}", ":1:30: rollout.canary_percentage: Input should be"),
        ("{canary: 5}", ":1:11: rollout.canary: unknown key"),
        ("null", ":1:10: rollout: Input should be"),
    ],
)
def test_invalid_sections_fail_as_the_full_loader_does(
    tmp_path: Path, rollout: str, problem: str
) -> None:
    path = write(tmp_path, rollout)
    with pytest.raises(ConfigError) as caught:
        read_rollout(path)
    assert caught.value.details[0].startswith(f"{path}{problem}"), caught.value.details
    with pytest.raises(ConfigError) as again:
        load_config(path)
    assert again.value.details == caught.value.details


def test_broken_yaml_is_reported_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text("rollout: {canary_percentage: 5\n")
    with pytest.raises(ConfigError, match=r"tiers.yaml:2:1: malformed YAML"):
        read_rollout(path)


def test_only_the_rollout_section_is_checked(tmp_path: Path) -> None:
    # The rest of the file is `noderr tiers --check`'s business.
    path = tmp_path / "tiers.yaml"
    path.write_text("rollout: {canary_percentage: 3}\ntiers: {}\nsurprise: 1\n")
    assert read_rollout(path) == {"canary_percentage": 3}


def test_discovery(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert not any((d / "tiers.yaml").exists() for d in (nested, *nested.parents))
    assert find_config(None, nested) is None
    path = write(tmp_path, None)
    assert discover_config(None, nested) == path.resolve()
    assert find_config(None, nested) == path.resolve()
    with pytest.raises(ConfigError, match=r"missing\.yaml: configuration file not found"):
        find_config(tmp_path / "missing.yaml")
