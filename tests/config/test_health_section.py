"""tiers.yaml's health section: accepted by both loaders, with the same values and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from noderr_deploy.config import sections
from noderr_deploy.config.schema import load_config
from noderr_deploy.config.sections import FileSettings, read_settings
from noderr_deploy.errors import ConfigError

TIERS = "tiers:\n  all: {beacon_tier: 0, size_budget: 500MB}\n"


def write(tmp_path: Path, health: str) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text(f"health: {health}\n" + TIERS)
    return path


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        ("{}", {}),
        ("{table: telemetry.heartbeats}", {"table": "telemetry.heartbeats"}),
        ("{timestamp_unit: ms}", {"timestamp_unit": "ms"}),
        (
            "{columns: {nodeid: host, cpu: load}, timestamp_unit: auto}",
            {"columns": {"nodeId": "host", "cpu": "load"}, "timestamp_unit": "auto"},
        ),
    ],
)
def test_both_loaders_read_the_same_health_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, health: str, expected: dict[str, object]
) -> None:
    path = write(tmp_path, health)
    handed_over: list[Path] = []
    full_reader = sections._read_fully
    monkeypatch.setattr(sections, "_read_fully", lambda p: handed_over.append(p) or full_reader(p))
    fast = read_settings(path)
    assert handed_over == []  # plain values: read without pydantic
    slow = FileSettings.of(load_config(path))
    assert fast.health == slow.health == expected
    assert load_config(path).health.table == expected.get("table", "node_telemetry")


@pytest.mark.parametrize(
    ("health", "problem"),
    [
        ("{timestamp_unit: us}", ":1:26: health.timestamp_unit: Input should be 'auto', 's' or"),
        ("{columns: {load: cpu}}", ":1:19: health.columns: unknown field 'load'"),
        ("{columns: {cpu: a, memory: a}}", ":1:19: health.columns: cpu and memory are both"),
        ("{table: ''}", ":1:17: health.table: table: the name must be non-empty"),
        ("{tables: x}", ":1:10: health.tables: unknown key"),
    ],
)
def test_bad_health_sections_fail_with_file_line_and_key(
    tmp_path: Path, health: str, problem: str
) -> None:
    path = write(tmp_path, health)
    with pytest.raises(ConfigError) as caught:
        read_settings(path)
    assert caught.value.details[0].startswith(f"{path}{problem}"), caught.value.details
