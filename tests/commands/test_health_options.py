"""The health options of ``rollback check`` and ``rollout status --health``: one definition,
the same rules, the same messages. What is decided before any chain is read is tested here
for both commands (tiers.yaml points the chain at a closed port: reaching it would be exit
1); the counts of both commands over one export are compared in
tests/integration/test_rollout_health.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from noderr_deploy.cli import app
from tests.health_data import jsonl, record

AT = "2026-11-01T12:30:00Z"
ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ENV = {
    name: None
    for name in (
        "NODERR_CONFIG",
        "NODERR_HEALTH_DSN",
        "NODERR_TIMESTAMP_UNIT",
        "NODERR_MAX_AGE",
        "NODERR_MAX_SKEW",
        "NODERR_RPC_URL",
        "NODERR_BEACON_ADDRESS",
        "NODERR_CHAIN_ID",
    )
}
CSV_HEADER = "node_id,version,timestamp,cpu_usage,memory_usage,errors"


def tiers_yaml(folder: Path, health: str = "{}") -> Path:
    path = folder / "tiers.yaml"
    path.write_text(
        f"health: {health}\n"
        "beacon: {rpc_url: 'http://127.0.0.1:1/closed', address: '" + ADDRESS + "'}\n"
        "tiers:\n  oracle: {beacon_tier: 2, size_budget: 1GB}\n"
    )
    return path


def rollback_check(config: Path, *args: str) -> Result:
    argv = ["rollback", "check", "-c", str(config), "--at", AT, "-V", "1.0.0", *args]
    return CliRunner().invoke(app, argv, env=ENV)


def rollout_status(config: Path, *args: str) -> Result:
    argv = ["rollout", "status", "-q", "-c", str(config), "--at", AT, *args]
    return CliRunner().invoke(app, argv, env=ENV)


COMMANDS = [rollback_check, rollout_status]
Command = Callable[..., Result]


def csv_export(folder: Path, header: str = CSV_HEADER) -> Path:
    path = folder / "h.csv"
    path.write_text(f"{header}\na,1.0.0,2026-11-01T12:00:00Z,10,10,0\n")
    return path


def error_line(result: Result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    return str(result.stderr.splitlines()[0])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("cpu=cpu_usage,cpu=load", "cpu is mapped twice (to 'cpu_usage' and to 'load')"),
        ("nodeId=node_id,NODEID=host", "nodeId is mapped twice (to 'node_id' and to 'host')"),
        ("cpu=cpu_usage,memory=CPU_USAGE", "cpu and memory are both mapped to column"),
        ("cpus=cpu_usage", "unknown field 'cpus'"),
        ("=cpu_usage", "empty field name"),
        ("cpu=", "cpu: the name must be non-empty text"),
        ("", "'' maps no field"),  # an unset variable in a script: not "no mapping"
        (",", "',' maps no field"),
        (" ", "' ' maps no field"),
    ],
)
def test_a_columns_flag_that_cannot_be_meant_is_exit_2(
    command: Command, tmp_path: Path, columns: str, message: str
) -> None:
    config = tiers_yaml(tmp_path)
    line = error_line(command(config, "--health", str(csv_export(tmp_path)), "--columns", columns))
    assert line.startswith("error: --columns: "), line
    assert message in line


@pytest.mark.parametrize("command", COMMANDS)
def test_a_repeated_columns_flag_repeating_a_field_is_exit_2(
    command: Command, tmp_path: Path
) -> None:
    config = tiers_yaml(tmp_path)
    export = csv_export(tmp_path)
    result = command(config, "--health", str(export), "--columns", "cpu=a", "--columns", "cpu=b")
    assert error_line(result) == (
        "error: --columns: cpu is mapped twice (to 'a' and to 'b'): give each field once"
    )


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("health", "where", "message"),
    [
        ("{columns: {nodeid: a, nodeId: b}}", ":1:19:", "nodeId is mapped twice"),
        ("{columns: {cpu: a, memory: A}}", ":1:19:", "cpu and memory are both mapped"),
        ("{columns: {'': a}}", ":1:19:", "empty field name"),
        ("{columns: {cpu: ''}}", ":1:19:", "cpu: the name must be non-empty"),
    ],
)
def test_a_health_columns_section_that_cannot_be_meant_names_file_line_and_column(
    command: Command, tmp_path: Path, health: str, where: str, message: str
) -> None:
    config = tiers_yaml(tmp_path, health)
    result = command(config, "--health", str(csv_export(tmp_path)))
    assert result.exit_code == 2, result.output
    assert f"{config}{where} health.columns: " in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_mapped_column_the_header_lacks_names_the_file_the_header_and_the_flag(
    command: Command, tmp_path: Path
) -> None:
    config = tiers_yaml(tmp_path)
    export = csv_export(tmp_path)
    result = command(config, "--health", str(export), "--columns", "uptime=up")
    assert error_line(result) == (
        f"error: {export}:1: CSV header has no column 'up' (uptime, from --columns);"
        " the header: 'node_id', 'version', 'timestamp', 'cpu_usage', 'memory_usage', 'errors'"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_a_mapped_column_the_header_lacks_names_tiers_yaml(
    command: Command, tmp_path: Path
) -> None:
    config = tiers_yaml(tmp_path, "{columns: {cpu: load}}")
    export = csv_export(tmp_path)
    line = error_line(command(config, "--health", str(export)))
    assert line.startswith(
        f"error: {export}:1: CSV header has no column 'load' (cpu, from health.columns in"
        " tiers.yaml); "
    )
    # The flag overrides the file field by field: then nothing is missing.
    assert command(config, "--health", str(export), "--columns", "cpu=cpu_usage").exit_code in (
        0,
        1,  # rollout status: the chain (a closed port) comes after the read
    )


# -- rollback check: the counts add up, under both --incomplete policies ----------------

FRESH, NEWER, OLD = "2026-11-01T12:00:00Z", "2026-11-01T12:10:00Z", "2026-11-01T10:00:00Z"


def mixed_fleet() -> list[dict[str, object]]:
    """a: complete, then a newer incomplete report; b: incomplete only; c: complete only;
    d: another version; e: stale; f: stale complete, then a fresh incomplete report."""
    return [
        record("a", timestamp=FRESH),
        record("a", timestamp=NEWER, cpu=None),
        record("b", timestamp=FRESH, memory=None, errors=None),
        record("c", timestamp=FRESH),
        record("d", timestamp=FRESH, version="0.9.0"),
        record("e", timestamp=OLD),
        record("f", timestamp=OLD),
        record("f", timestamp=NEWER, errors=None),
    ]


def csv_of(docs: list[dict[str, object]]) -> str:
    lines = [CSV_HEADER]
    for doc in docs:
        m: Any = doc["metrics"]
        cells = [m[k] for k in ("cpu", "memory", "errors")]
        shown = ["" if v is None else str(v) for v in cells]
        lines.append(
            ",".join([str(doc["nodeId"]), str(doc["version"]), str(doc["timestamp"]), *shown])
        )
    return "\n".join(lines) + "\n"


# policy -> (nodes, stale, otherVersion, incomplete, judged)
EXPECTED = {"complete": (6, 2, 1, 1, 2), "latest": (6, 1, 1, 3, 1)}


@pytest.mark.parametrize("policy", ["complete", "latest"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_json_and_summary_count_every_node_once(tmp_path: Path, policy: str, suffix: str) -> None:
    config = tiers_yaml(tmp_path)
    export = tmp_path / f"fleet{suffix}"
    docs = mixed_fleet()
    if suffix == ".csv":
        export.write_text(csv_of(docs))
    else:
        export.write_bytes(jsonl(*docs))
    flags = ("--health", str(export), "--max-age", "1h", "--incomplete", policy, "--canary", "100")
    result = rollback_check(config, *flags, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    reports = document["reports"]
    judged = sum(c["nodes"] for c in document["cohorts"])
    counts = (reports["nodes"], reports["stale"], reports["otherVersion"], reports["incomplete"])
    assert (*counts, judged) == EXPECTED[policy]
    assert reports["incompleteRecords"] == 3
    nodes, stale, other, incomplete, judged = EXPECTED[policy]
    table = rollback_check(config, *flags)
    assert table.exit_code == 0, table.output
    assert (
        f"; {nodes} nodes: {stale} stale, {other} on another version, {incomplete} incomplete,"
        f" {judged} judged" in table.stdout
    )


@pytest.mark.parametrize("policy", ["complete", "latest"])
def test_the_counts_are_the_same_on_the_parallel_path(tmp_path: Path, policy: str) -> None:
    from datetime import UTC, datetime

    from noderr_deploy.health.sizes import ReadSizes
    from noderr_deploy.rollback.check import CheckRequest, HealthRequest, run_check

    # Pad the fleet with judged nodes past the parallel threshold of these sizes.
    docs = [*mixed_fleet(), *(record(f"pad{i}", timestamp=FRESH) for i in range(300))]
    export = tmp_path / "fleet.jsonl"
    export.write_bytes(jsonl(*docs))
    health = HealthRequest(
        sources=(export,),
        at=datetime(2026, 11, 1, 12, 30, tzinfo=UTC),
        incomplete=policy,  # type: ignore[arg-type]
        max_age=timedelta(hours=1),
        config=tiers_yaml(tmp_path),
    )
    request = CheckRequest(health, version="1.0.0", canary=100, cohort_size=0)
    sizes = ReadSizes(parallel_min=1, segment=4096, chunk=1024)
    serial = run_check(request, workers=1).result
    parallel = run_check(request, workers=2, sizes=sizes).result
    assert parallel == serial
    r = serial.reports
    nodes, stale, other, incomplete, judged = EXPECTED[policy]
    assert (r.nodes, r.stale, r.other_version, r.incomplete) == (
        nodes + 300,
        stale,
        other,
        incomplete,
    )
    assert sum(c.nodes for c in serial.cohorts) == judged + 300


# -- one definition ------------------------------------------------------------------------

HEALTH_PARAMS = (
    "files", "health", "max_age", "max_skew", "columns", "timestamp_unit", "incomplete",
    "since", "skip_invalid",
)  # fmt: skip


def test_both_commands_declare_the_same_health_options() -> None:
    import typer.main

    root = typer.main.get_command(app)
    ctx = root.make_context("noderr", ["--help"], resilient_parsing=True)

    def params(group: str, name: str) -> dict[str, tuple[object, ...]]:
        command = root.get_command(ctx, group).get_command(ctx, name)  # type: ignore[union-attr]
        return {
            p.name: (tuple(p.opts), getattr(p, "help", None), p.envvar, p.default, p.metavar)
            for p in command.params  # type: ignore[union-attr]
            if p.name in HEALTH_PARAMS
        }

    check, status = params("rollback", "check"), params("rollout", "status")
    assert set(check) == set(status) == set(HEALTH_PARAMS)
    assert check == status


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--health", ""], "error: --health '': an empty path"),
        (["--health", "h.csv", ""], "error: an empty path after --health"),
        (["--health", "", "h.csv"], "error: --health '': an empty path"),
    ],
)
def test_an_empty_health_path_is_not_the_working_directory(
    command: Command, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    # '' used to be read as '.', so every file of the working directory was an export.
    config = tiers_yaml(tmp_path)
    csv_export(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert error_line(command(config, *args)).startswith(message)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("flag", "variable", "value"),
    [
        ("--max-age", "NODERR_MAX_AGE", "xx"),
        ("--max-skew", "NODERR_MAX_SKEW", "-1"),
        ("--timestamp-unit", "NODERR_TIMESTAMP_UNIT", "days"),
    ],
)
def test_a_bad_value_is_named_as_it_was_given(
    command: Command, tmp_path: Path, flag: str, variable: str, value: str
) -> None:
    # From the command line the flag, from the environment the variable: the one to fix.
    config = tiers_yaml(tmp_path)
    export = str(csv_export(tmp_path))
    assert error_line(command(config, "--health", export, flag, value)).startswith(
        f"error: {flag}: "
    )
    argv = (
        ["rollback", "check", "-V", "1.0.0"]
        if command is rollback_check
        else ["rollout", "status", "-q"]
    )
    result = CliRunner().invoke(
        app,
        [*argv, "-c", str(config), "--at", AT, "--health", export],
        env={**ENV, variable: value},
    )
    assert error_line(result).startswith(f"error: {variable}: ")
