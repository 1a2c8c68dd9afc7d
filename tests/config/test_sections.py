"""tiers.yaml's rollout and rollback sections read without pydantic: same answers, same errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from noderr_deploy.cohorts import PLAN_KEYS, RolloutPlan
from noderr_deploy.config import sections
from noderr_deploy.config.locate import discover_config, find_config
from noderr_deploy.config.schema import load_config
from noderr_deploy.config.sections import FileSettings, read_rollout, read_settings
from noderr_deploy.errors import ConfigError

TIERS = "tiers:\n  all: {beacon_tier: 0, size_budget: 500MB}\n"


def write(tmp_path: Path, rollout: str | None, rollback: str | None = None) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text(
        (f"rollout: {rollout}\n" if rollout is not None else "")
        + (f"rollback: {rollback}\n" if rollback is not None else "")
        + TIERS
    )
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
            "{canary_percentage: 10, cohort_percentage: 20, cohort_delay_hours: 2.0}",
            {"canary_percentage": 10, "cohort_percentage": 20, "cohort_delay_hours": 2.0},
        ),
        ("{cohort_delay_hours: 0}", {"cohort_delay_hours": 0}),
        # Not plainly typed: handed to the full loader, which coerces as pydantic does.
        ("{canary_percentage: 7.0}", {"canary_percentage": 7}),
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
        ("{cohort_delay_hours: 1.5}", ":1:31: rollout.cohort_delay_hours: 1.5 is not a whole"),
        ("{cohort_delay_hours: -2}", ":1:31: rollout.cohort_delay_hours: -2.0 is not a finite"),
        ("{canary_percentage: 5.5}", ":1:30: rollout.canary_percentage: Input should be"),
        # A number as text is refused by both (YAML keeps 010, "7" as text: not a number).
        ('{canary_percentage: "7"}', ":1:30: rollout.canary_percentage: expected a number"),
        ("{canary_percentage: 010}", ":1:30: rollout.canary_percentage: expected a number"),
        ("{canary: 5}", ":1:11: rollout.canary: unknown key"),
        # YAML's booleans are not numbers (pydantic's lax mode would read true as 1).
        ("{canary_percentage: true}", ":1:30: rollout.canary_percentage: expected a number"),
        ("{cohort_delay_hours: false}", ":1:31: rollout.cohort_delay_hours: expected a number"),
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


PLAIN = "read here"
COERCED = "read by the full loader"


@pytest.mark.parametrize(
    ("rollback", "expected", "reader"),
    [
        (None, {}, PLAIN),
        ("{}", {}, PLAIN),
        ("{min_nodes: 3}", {"min_nodes": 3}, PLAIN),
        (
            "{unhealthy_threshold: 0.2, error_rate_threshold: 1.5, min_nodes: 2}",
            {"unhealthy_threshold": 0.2, "error_rate_threshold": 1.5, "min_nodes": 2},
            PLAIN,
        ),
        # The boundaries are allowed; integers read as floats, as the model holds them.
        (
            "{unhealthy_threshold: 0, min_nodes: 1}",
            {"unhealthy_threshold": 0.0, "min_nodes": 1},
            PLAIN,
        ),
        ("{error_rate_threshold: 0}", {"error_rate_threshold": 0.0}, PLAIN),
        ("{unhealthy_threshold: 1}", {"unhealthy_threshold": 1.0}, PLAIN),
        ("{error_rate_threshold: 1.0e+308}", {"error_rate_threshold": 1e308}, PLAIN),
        # Not plainly typed: handed to the full loader, which coerces as pydantic does.
        ("{min_nodes: 2.0}", {"min_nodes": 2}, COERCED),
    ],
)
def test_rollback_fast_path_agrees_with_the_full_loader(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rollback: str | None,
    expected: dict[str, int | float],
    reader: str,
) -> None:
    path = write(tmp_path, "{canary_percentage: 10}", rollback)
    handed_over: list[Path] = []
    full_reader = sections._read_fully

    def spy(path: Path) -> FileSettings:
        handed_over.append(path)
        return full_reader(path)

    monkeypatch.setattr(sections, "_read_fully", spy)
    fast = read_settings(path)
    assert handed_over == ([] if reader == PLAIN else [path])
    slow = FileSettings.of(load_config(path))
    assert fast == slow == FileSettings({"canary_percentage": 10}, expected)
    # The same types too: the JSON verdict shows 0.0 for a float and 0 for an int.
    assert {k: type(v) for k, v in fast.rollback.items()} == {
        k: type(v) for k, v in slow.rollback.items()
    }


@pytest.mark.parametrize(
    ("rollback", "problem"),
    [
        (
            "{unhealthy_threshold: 1.5}",
            ":2:33: rollback.unhealthy_threshold: Input should be less than or equal to 1",
        ),
        (
            "{unhealthy_threshold: .nan}",
            ":2:33: rollback.unhealthy_threshold: not a number (NaN compares with no value",
        ),
        (
            "{error_rate_threshold: .inf}",  # never triggering: refused, as the flag's 'inf'
            ":2:34: rollback.error_rate_threshold: not a finite number",
        ),
        (
            "{error_rate_threshold: -0.1}",
            ":2:34: rollback.error_rate_threshold: Input should be greater than or equal to 0",
        ),
        ("{min_nodes: 0}", ":2:23: rollback.min_nodes: Input should be greater than or equal to 1"),
        ("{min_nodes: 1.5}", ":2:23: rollback.min_nodes: Input should be a valid integer"),
        ('{unhealthy_threshold: "0.2"}', ":2:33: rollback.unhealthy_threshold: expected a number"),
        ("{min_nodes: 1_0}", ":2:23: rollback.min_nodes: expected a number"),
        ("{error_rate_threshold: 1" + "0" * 400 + "}", ":2:34: rollback.error_rate_threshold:"),
        ("{min_node: 1}", ":2:12: rollback.min_node: unknown key"),
        ("null", ":2:11: rollback: Input should be a valid dictionary"),
    ],
)
def test_invalid_rollback_sections_fail_as_the_full_loader_does(
    tmp_path: Path, rollback: str, problem: str
) -> None:
    path = write(tmp_path, "{canary_percentage: 10}", rollback)
    with pytest.raises(ConfigError) as caught:
        read_settings(path)
    assert caught.value.details[0].startswith(f"{path}{problem}"), caught.value.details
    with pytest.raises(ConfigError) as again:
        load_config(path)
    assert again.value.details == caught.value.details
    # `noderr cohort` reads the rollout section alone, as it always did.
    assert read_rollout(path) == {"canary_percentage": 10}


def test_settings_check_both_sections_in_one_read(tmp_path: Path) -> None:
    path = write(tmp_path, "{canary_percentage: 150}", "{min_nodes: 2}")
    with pytest.raises(ConfigError) as caught:
        read_settings(path)
    assert caught.value.details == [
        f"{path}:1:30: rollout.canary_percentage: 150 is not within 0..100"
    ]


def test_settings_check_only_their_two_sections(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(
        "rollout: {cohort_delay_hours: 12}\nrollback: {min_nodes: 4}\ntiers: {}\nsurprise: 1\n"
    )
    settings = read_settings(path)
    assert settings == FileSettings({"cohort_delay_hours": 12}, {"min_nodes": 4})
    assert settings.plan() == RolloutPlan(5, 25, 12)
    # Whole hours, as the VersionBeacon stores them: an int wherever the plan goes.
    assert type(settings.plan().cohort_delay_hours) is int


def test_no_settings_is_the_default_plan() -> None:
    assert FileSettings().plan() == RolloutPlan()


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
