"""`noderr cohort` end to end through typer's CliRunner: every format, input and error."""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from noderr_deploy.cli import app

REPO = Path(__file__).resolve().parents[2]
UPDATER_WARNING = (
    "warning: the node auto-updater never updates buckets 90..99 (10% of buckets): canary 10"
    " + 4 x cohort 20 < 100, while the deployment engine places them in cohort4\n"
)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a directory with no tiers.yaml above it and no NODERR_* variables."""
    work = tmp_path / "work"
    work.mkdir()
    assert not any((d / "tiers.yaml").exists() for d in (work, *work.parents))
    monkeypatch.chdir(work)
    for name in (
        "NODERR_CONFIG",
        "NODERR_CANARY_PERCENTAGE",
        "NODERR_COHORT_PERCENTAGE",
        "NODERR_COHORT_DELAY_HOURS",
        "NODERR_RPC_URL",
        "NODERR_BEACON_ADDRESS",
        "NODERR_CHAIN_ID",
        "NODERR_RPC_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    return work


def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(app, ["cohort", *args], input=stdin, env=env)


def ok(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    result = run(*args, stdin=stdin, env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    assert result.stderr == ""  # type: ignore[attr-defined]
    return str(result.stdout)  # type: ignore[attr-defined]


def fails(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    result = run(*args, stdin=stdin, env=env)
    assert result.exit_code == 2, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    return str(result.stderr)  # type: ignore[attr-defined]


# -- rows -----------------------------------------------------------------------------------


def test_table() -> None:
    assert ok("node-0", "node-1", "node-2", "test-node-123", "validator-eu-1") == (
        "node id         bucket  cohort\n"
        "node-0          92      cohort4\n"
        "node-1          63      cohort3\n"
        "node-2          37      cohort2\n"
        "test-node-123   94      cohort4\n"
        "validator-eu-1  75      cohort3\n"
    )


def test_table_with_publish_time() -> None:
    out = ok(
        "node-1", "node-2", "--published-at", "2026-03-01T12:00:00Z", "--at", "2026-03-03T12:00:00Z"
    )
    assert out == (
        "node id  bucket  cohort   activates at          active\n"
        "node-1   63      cohort3  2026-03-04T12:00:00Z  no\n"
        "node-2   37      cohort2  2026-03-03T12:00:00Z  yes\n"
    )


def test_single_node_json_is_one_object() -> None:
    assert json.loads(ok("node-1", "--json")) == {
        "nodeId": "node-1",
        "bucket": 63,
        "cohort": "cohort3",
        "activatesAt": None,
        "active": None,
    }
    assert json.loads(
        ok("node-1", "--format", "json", "--published-at", "1772366400", "--at", "1772712000")
    ) == {
        "nodeId": "node-1",
        "bucket": 63,
        "cohort": "cohort3",
        "activatesAt": "2026-03-04T12:00:00Z",
        "active": True,
    }


def test_several_nodes_json_is_a_list() -> None:
    out = ok(
        "node-0",
        "node-2",
        "--json",
        "--published-at",
        "2026-03-01T12:00:00+02:00",
        "--at",
        "2026-03-03T10:00:00Z",
    )
    assert json.loads(out) == [
        {
            "nodeId": "node-0",
            "bucket": 92,
            "cohort": "cohort4",
            "activatesAt": "2026-03-05T10:00:00Z",
            "active": False,
        },
        {
            "nodeId": "node-2",
            "bucket": 37,
            "cohort": "cohort2",
            "activatesAt": "2026-03-03T10:00:00Z",
            "active": True,
        },
    ]


def test_file_json_is_always_a_list(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("node-1\n")
    assert [row["bucket"] for row in json.loads(ok("--file", str(path), "--json"))] == [63]


def test_jsonl() -> None:
    out = ok("node-1", "validator-eu-1", "--format", "jsonl")
    tail = '"cohort": "cohort3", "activatesAt": null, "active": null}\n'
    assert out == (
        '{"nodeId": "node-1", "bucket": 63, '
        + tail
        + '{"nodeId": "validator-eu-1", "bucket": 75, '
        + tail
    )


def test_csv_quotes_commas_quotes_and_keeps_spaces() -> None:
    ids = ['a,"b"', " node-1 ", "nœud 🚀"]
    out = ok(*ids, "--format", "csv", "--published-at", "0.0", "--at", "0.0")
    lines = out.splitlines()
    assert lines[0] == "nodeId,bucket,cohort,activatesAt,active"
    assert lines[1].startswith('"a,""b""",')
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["nodeId"] for row in rows] == ids
    assert [row["active"] for row in rows] == [
        "true" if row["cohort"] == "canary" else "false" for row in rows
    ]
    assert (
        ok("node-1", "--format", "csv")
        == "nodeId,bucket,cohort,activatesAt,active\nnode-1,63,cohort3,,\n"
    )


def test_awkward_ids_round_trip_through_json() -> None:
    ids = ["Zoë", "Zoe\u0308", "0x12ab", "x" * 4096, "  padded  ", "👩‍💻"]
    rows = json.loads(ok(*ids, "--json"))
    from noderr_deploy.cohorts import bucket

    assert [r["nodeId"] for r in rows] == ids
    assert [r["bucket"] for r in rows] == [bucket(i) for i in ids]


# -- input files ----------------------------------------------------------------------------


def test_stdin() -> None:
    out = ok("--file", "-", "--format", "jsonl", stdin=b"node-1\nnode-2\n")
    assert [json.loads(line)["bucket"] for line in out.splitlines()] == [63, 37]


def test_crlf_file(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(b"node-1\r\nnode-2\r\n test \r\n")
    rows = json.loads(ok("-f", str(path), "--json"))
    assert [r["nodeId"] for r in rows] == ["node-1", "node-2", " test "]
    assert [r["bucket"] for r in rows[:2]] == [63, 37]


def test_empty_line_is_exit_2_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(b"node-1\nnode-2\n\nnode-3\n")
    assert fails("--file", str(path)) == f"error: {path}:3: empty line (one node id per line)\n"
    assert (
        fails("-f", "-", stdin=b"a\r\n\r\n")
        == "error: <stdin>:2: empty line (one node id per line)\n"
    )


def test_invalid_utf8_is_exit_2_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(b"node-1\nnode-\xff2\n")
    assert fails("--file", str(path), "--summary") == (
        f"error: {path}:2: invalid UTF-8 at byte 6 of the line (invalid start byte)\n"
    )


def test_missing_file() -> None:
    assert fails("--file", "nope.txt") == "error: nope.txt: no such file\n"


def test_ids_and_file_together_or_neither() -> None:
    assert (
        fails("node-1", "--file", "-")
        == "error: give node ids as arguments or with --file, not both\n"
    )
    assert (
        fails()
        == "error: no node ids: give them as arguments or with --file PATH ('-' for stdin)\n"
    )
    assert fails("") == "error: node id 1 is empty\n"


# -- summaries --------------------------------------------------------------------------------


@pytest.fixture
def ten_thousand(tmp_path: Path) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("".join(f"node-{i}\n" for i in range(10_000)))
    return path


def test_summary_table(ten_thousand: Path) -> None:
    assert ok("--file", str(ten_thousand), "--summary") == (
        "10000 node ids; canary 5%, cohort 25%, delay 24 h\n"
        "cohort   buckets  nodes  share\n"
        "canary   0-4      497    4.97%\n"
        "cohort1  5-29     2509   25.09%\n"
        "cohort2  30-54    2508   25.08%\n"
        "cohort3  55-79    2501   25.01%\n"
        "cohort4  80-99    1985   19.85%\n"
        "total    0-99     10000  100.00%\n"
    )


def test_summary_json(ten_thousand: Path) -> None:
    document = json.loads(ok("--file", str(ten_thousand), "--summary", "--json"))
    assert document == {
        "total": 10000,
        "cohorts": {
            "canary": 497,
            "cohort1": 2509,
            "cohort2": 2508,
            "cohort3": 2501,
            "cohort4": 1985,
        },
        "percentages": {
            "canary": 4.97,
            "cohort1": 25.09,
            "cohort2": 25.08,
            "cohort3": 25.01,
            "cohort4": 19.85,
        },
        "plan": {"canaryPercentage": 5, "cohortPercentage": 25, "cohortDelayHours": 24},
        "warnings": [],
    }


def test_summary_json_with_schedule_and_warning(ten_thousand: Path) -> None:
    result = run(
        "-f",
        str(ten_thousand),
        "--summary",
        "--json",
        "--canary",
        "10",
        "--cohort-size",
        "20",
        "--published-at",
        "2026-03-01T12:00:00Z",
        "--at",
        "2026-03-02T12:00:00Z",
    )
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert result.stderr == UPDATER_WARNING  # type: ignore[attr-defined]
    document = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert document["warnings"] == [UPDATER_WARNING.removeprefix("warning: ").strip()]
    assert document["phase"] == "cohort1"
    assert document["schedule"][1] == {
        "cohort": "cohort1",
        "activatesAt": "2026-03-02T12:00:00Z",
        "active": True,
    }
    assert document["schedule"][2]["active"] is False
    assert sum(document["cohorts"].values()) == 10000


def test_summary_csv_and_jsonl(ten_thousand: Path) -> None:
    assert ok("-f", str(ten_thousand), "--summary", "--format", "csv").splitlines() == [
        "cohort,nodes,percent",
        "canary,497,4.97",
        "cohort1,2509,25.09",
        "cohort2,2508,25.08",
        "cohort3,2501,25.01",
        "cohort4,1985,19.85",
    ]
    line = ok("-f", str(ten_thousand), "--summary", "--format", "jsonl")
    assert line.count("\n") == 1
    assert json.loads(line)["total"] == 10000


def test_summary_of_positional_ids() -> None:
    assert json.loads(ok("node-0", "node-1", "--summary", "--json"))["cohorts"]["cohort4"] == 1


# -- plan -------------------------------------------------------------------------------------


def test_row_formats_warn_on_stderr_only() -> None:
    result = run("node-1", "--json", "--canary", "10", "--cohort-size", "20")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert result.stderr == UPDATER_WARNING  # type: ignore[attr-defined]
    assert json.loads(result.stdout)["cohort"] == "cohort3"  # type: ignore[attr-defined]


def test_plan_from_tiers_yaml_then_env_then_flags(isolated: Path) -> None:
    (isolated / "tiers.yaml").write_text(
        "rollout: {canary_percentage: 70, cohort_percentage: 10}\n"
    )

    def cohort_of_node_1(*args: str, env: dict[str, str] | None = None) -> str:
        result = run("node-1", "--json", *args, env=env)  # bucket 63
        assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
        return str(json.loads(result.stdout)["cohort"])  # type: ignore[attr-defined]

    assert cohort_of_node_1() == "canary"  # 70% canary from tiers.yaml
    env = {"NODERR_CANARY_PERCENTAGE": "60"}
    assert cohort_of_node_1(env=env) == "cohort1"  # the variable beats the file
    assert cohort_of_node_1("--canary", "5", env=env) == "cohort4"  # the flag beats both
    assert cohort_of_node_1("-c", str(isolated / "tiers.yaml"), "--cohort-size", "5") == "canary"


def test_invalid_tiers_yaml_is_reported_with_its_position(isolated: Path) -> None:
    (isolated / "tiers.yaml").write_text(
        "rollout: {canary_percentage: 500}\ntiers: {a: {beacon_tier: 0, size_budget: 1MB}}\n"
    )
    assert fails("node-1") == (
        f"error: {isolated / 'tiers.yaml'}: 1 problem in the configuration\n"
        f"  {isolated / 'tiers.yaml'}:1:30: rollout.canary_percentage: 500 is not within 0..100\n"
    )
    # Flags for every value: the file is not needed and not read.
    assert ok("node-1", "--canary", "5", "--cohort-size", "25", "--delay-hours", "1").startswith(
        "node id"
    )


def test_plan_validation_errors() -> None:
    assert fails("x", "--canary", "101") == (
        "error: invalid rollout plan: --canary: 101 is not within 0..100\n"
        "  canary_percentage = 101 (from --canary)\n"
        "  cohort_percentage = 25 (from default)\n"
        "  cohort_delay_hours = 24 (from default)\n"
    )
    # The engine's cumulative rule runs this plan: cohort4 is empty, which is a note.
    result = run("x", "--canary", "40", "--cohort-size", "25")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert result.stderr == (  # type: ignore[attr-defined]
        "cohort4 is empty: canary 40 + 3 x cohort 25 >= 100, so cohort3 ends at bucket 99\n"
    )
    assert fails("x", "--delay-hours", "1.5").startswith(
        "error: invalid rollout plan: --delay-hours: 1.5 is not a whole number of hours"
        " (the VersionBeacon stores whole hours)\n"
    )
    assert fails("x", "--delay-hours", "-1").startswith(
        "error: invalid rollout plan: --delay-hours: -1.0 is not a finite number of hours >= 0\n"
    )
    assert "from NODERR_COHORT_PERCENTAGE" in fails("x", env={"NODERR_COHORT_PERCENTAGE": "200"})
    assert fails("x", "--canary", "five").startswith(
        "error: Invalid value for '--canary' (env var: 'NODERR_CANARY_PERCENTAGE'): 'five' is not"
    )


def test_time_errors() -> None:
    assert (
        fails("x", "--at", "0") == "error: --at needs a publish time (--published-at or --tier)\n"
    )
    assert fails("x", "--published-at", "soon") == (
        "error: --published-at: not a time: 'soon'"
        " (use ISO 8601 like 2026-01-31T12:00:00Z, or unix seconds)\n"
    )
    # Activations past the year 9999 never happen: shown as null, not refused.
    late = json.loads(ok("x", "--published-at", "9999-12-31T00:00:00Z", "--json"))
    assert late["cohort"] == "cohort1"
    assert (late["activatesAt"], late["active"]) == (None, False)


def test_format_errors() -> None:
    assert (
        fails("x", "--json", "--format", "csv")
        == "error: --json and --format csv contradict each other\n"
    )
    assert fails("x", "--format", "xml").startswith(
        "error: Invalid value for '--format': 'xml' is not one of"
    )


def test_help_has_examples() -> None:
    result = CliRunner().invoke(app, ["cohort", "--help"])
    assert result.exit_code == 0
    for text in (
        "Examples:",
        "--summary",
        "NODERR_CANARY_PERCENTAGE",
        "--published-at",
        "--rpc-url",
    ):
        assert text in result.stdout


# -- chain options (what is decided before the chain is read; reads: tests/integration) --------

BEACON = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
# Nothing listens there: a test that reached the chain would fail with exit 1.
DEAD_RPC = "http://127.0.0.1:9"


def test_exported_chain_variables_do_not_read_the_chain() -> None:
    env = {"NODERR_RPC_URL": DEAD_RPC, "NODERR_BEACON_ADDRESS": BEACON}
    assert ok("node-1", env=env) == "node id  bucket  cohort\nnode-1   63      cohort3\n"


def test_plan_flags_contradict_the_chain() -> None:
    chain = ("--rpc-url", DEAD_RPC, "--beacon", BEACON)
    assert fails("node-1", *chain, "--canary", "10", "--delay-hours", "1") == (
        "error: --canary/--delay-hours and --rpc-url contradict each other: with a VersionBeacon"
        " the plan is its rolloutConfig (drop one of them)\n"
    )
    assert fails("node-1", "--tier", "oracle", "--cohort-size", "20", *chain) == (
        "error: --cohort-size and --tier contradict each other: with a VersionBeacon"
        " the plan is its rolloutConfig (drop one of them)\n"
    )
    assert fails("node-1", "--tier", "oracle", "--published-at", "0", *chain) == (
        "error: --published-at and --tier contradict each other: with a tier the publish time"
        " is its current version's on the VersionBeacon (drop one of them)\n"
    )


def test_chain_tuning_alone_is_a_usage_error() -> None:
    assert fails("node-1", "--block", "5") == (
        "error: --block tunes reading the VersionBeacon: give --rpc-url, --beacon or --tier too\n"
    )
    # The same value from the environment is ambient, not a request.
    assert ok("node-1", env={"NODERR_RPC_TIMEOUT": "3"}).startswith("node id")


def test_chain_settings_errors_are_usage_errors() -> None:
    assert fails("node-1", "--tier", "oracle") == (
        "error: no RPC endpoint: pass --rpc-url or set NODERR_RPC_URL or a tiers.yaml\n"
    )
    assert fails("node-1", "--rpc-url", DEAD_RPC) == (
        "error: no VersionBeacon address: pass --beacon or set NODERR_BEACON_ADDRESS"
        " or a tiers.yaml\n"
    )
    assert fails("node-1", "--rpc-url", DEAD_RPC, "--beacon", "0x1234") == (
        "error: malformed --beacon address '0x1234': expected 0x followed by 40 hex digits\n"
    )
    env = {"NODERR_RPC_URL": DEAD_RPC, "NODERR_BEACON_ADDRESS": BEACON}
    assert fails("node-1", "--tier", "nosuch", env=env) == (
        "error: unknown tier 'nosuch' (no tiers.yaml; known beacon tiers:"
        " validator, guardian, oracle)\n"
    )
    assert fails("node-1", "--at", "0", "--rpc-url", DEAD_RPC, "--beacon", BEACON) == (
        "error: --at needs a publish time (--published-at or --tier)\n"
    )


def test_unreachable_chain_is_exit_1() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = run("node-1", "--tier", "oracle", "--rpc-url", url, "--beacon", BEACON)
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    assert result.stderr == (  # type: ignore[attr-defined]
        f"error: RPC {url} unreachable (reading the chain id and block):"
        " connection refused after 3 attempt(s)\n"
    )


# -- start-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["repo", "elsewhere", "chain-env"])
def test_cohort_imports_nothing_heavy(where: str, isolated: Path) -> None:
    code = (
        "import sys\n"
        "from noderr_deploy.cli import app\n"
        # What main() runs, without the os._exit at its end (so that this code goes on).
        "args = ['cohort', 'node-1']\n"
        "try:\n    app(args=args, prog_name='noderr')\nexcept SystemExit:\n    pass\n"
        "heavy = {'web3', 'docker', 'pydantic', 'rich', 'eth_hash', 'Crypto', 'requests'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}), file=sys.stderr)\n"
    )
    cwd = REPO if where == "repo" else isolated
    env = {"PYTHONPATH": str(REPO), "PATH": ""}
    if where == "chain-env":  # exported for `rollout status`: cohort must stay offline
        env |= {"NODERR_RPC_URL": DEAD_RPC, "NODERR_BEACON_ADDRESS": BEACON}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "node id  bucket  cohort\nnode-1   63      cohort3\n"
    plan = f"plan 5/25/24 (canary/cohort %/delay h) from {REPO / 'tiers.yaml'}\n"
    assert done.stderr == (plan if where == "repo" else "") + "[]\n"


# -- issue 17: what a careful user tripped on -------------------------------------------------


def test_compact_dates_are_iso_basic_and_only_long_numbers_are_seconds() -> None:
    rows = json.loads(ok("node-2", "x", "--json", "--published-at", "20260301", "--at", "20260303"))
    assert rows[0]["activatesAt"] == "2026-03-03T00:00:00Z"
    assert rows[0]["active"] is True
    seconds = json.loads(
        ok("node-2", "--json", "--published-at", "1772366400", "--at", "1772366400.5")
    )
    assert seconds["activatesAt"] == "2026-03-03T12:00:00Z"
    assert "fewer than 10 digits" in fails("x", "--published-at", "2026-03-01", "--at", "2026")
    assert fails("x", "--published-at", "99999999999999").startswith(
        "error: --published-at: unix time out of range: '99999999999999'"
    )


def test_ambient_chain_settings_never_break_an_offline_run() -> None:
    env = {"NODERR_RPC_TIMEOUT": "abc", "NODERR_CHAIN_ID": "base-sepolia"}
    assert ok("node-1", env=env) == "node id  bucket  cohort\nnode-1   63      cohort3\n"
    assert ok("node-1", "--summary", "--json", env=env).startswith("{")
    # Once the chain is read they matter, and the message names the variable.
    assert fails("node-1", "--rpc-url", DEAD_RPC, "--beacon", BEACON, env=env) == (
        "error: NODERR_CHAIN_ID='base-sepolia' (needed to read the chain): not a valid integer\n"
    )
    assert fails("node-1", "--rpc-url", DEAD_RPC, "--beacon", BEACON, "--timeout", "x") == (
        "error: --timeout 'x': not a valid float\n"
    )


def test_rollback_check_offline_ignores_ambient_chain_settings() -> None:
    result = CliRunner().invoke(
        app,
        [
            *("rollback", "check", "--health", str(REPO / "examples/health/reports.jsonl")),
            *("--version", "1.4.2", "--at", "2026-11-26T12:20:00Z", "--json", "-q"),
        ],
        env={"NODERR_RPC_TIMEOUT": "abc", "NODERR_CHAIN_ID": "base-sepolia"},
    )
    assert result.exit_code == 3, result.stderr
    assert json.loads(result.stdout)["verdict"] == "rollback"


def test_repeated_ids_count_once_in_the_summary(isolated: Path) -> None:
    path = isolated / "ids.txt"
    path.write_bytes(b"node-1\nnode-2\nnode-1\nnode-1\n")
    result = run("-f", str(path), "--summary", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert document["total"] == 2
    warning = (
        f"{path}: 2 repeated node ids (1 id given more than once): counted once in the summary"
    )
    assert result.stderr == f"warning: {warning}\n"  # type: ignore[attr-defined]
    assert document["warnings"] == [warning]
    rows = run("-f", str(path), "--format", "jsonl")
    assert len(rows.stdout.splitlines()) == 4  # type: ignore[attr-defined]
    assert "each repeat gets its row" in rows.stderr  # type: ignore[attr-defined]


def test_empty_file_and_empty_path(isolated: Path) -> None:
    (isolated / "empty.txt").write_bytes(b"")
    assert fails("-f", "empty.txt", "--summary") == (
        "error: empty.txt: empty input (no node ids; one node id per line)\n"
    )
    assert fails("-f", "-", stdin=b"") == (
        "error: <stdin>: empty input (no node ids; one node id per line)\n"
    )
    assert fails("-f", "") == "error: --file: the path is empty (give a file, or '-' for stdin)\n"


def test_offline_runs_name_the_tiers_yaml_unless_quiet(isolated: Path) -> None:
    config = isolated / "tiers.yaml"
    config.write_text("rollout: {canary_percentage: 10}\n")
    result = run("node-1")
    assert result.exit_code == 0
    assert result.stderr == (  # type: ignore[attr-defined]
        f"plan 10/25/24 (canary/cohort %/delay h) from {config.resolve()} and defaults\n"
    )
    assert run("node-1", "--quiet").stderr == ""  # type: ignore[attr-defined]
    assert run("node-1", "-q").stderr == ""  # type: ignore[attr-defined]
    # Flags for every value: the file supplies nothing, and nothing is said.
    assert ok("node-1", "--canary", "5", "--cohort-size", "25", "--delay-hours", "1")


def test_a_huge_table_is_refused_with_a_hint(isolated: Path) -> None:
    path = isolated / "ids.txt"
    path.write_text("".join(f"n{i}\n" for i in range(10_001)))
    assert fails("-f", str(path)) == (
        f"error: --format table shows at most 10,000 node ids and {path} holds 10,001:"
        " use --format csv or jsonl (which stream), or --summary\n"
    )
    assert len(ok("-f", str(path), "--format", "csv").splitlines()) == 10_002


def test_counts_delays_and_summary_numbers_read_well() -> None:
    out = ok("node-1", "--summary", "--delay-hours", "-0")
    assert out.startswith("1 node id; canary 5%, cohort 25%, delay 0 h\n")
    csv_out = ok("node-1", "node-2", "node-5", "--summary", "--format", "csv")
    assert csv_out.splitlines()[1:] == [
        "canary,0,0.00",
        "cohort1,1,33.33",
        "cohort2,1,33.33",
        "cohort3,1,33.33",
        "cohort4,0,0.00",
    ]


def test_a_lone_cr_in_an_id_is_quoted_in_csv(isolated: Path) -> None:
    path = isolated / "ids.txt"
    path.write_bytes(b"a\rb\nplain\n c \n")
    out = ok("-f", str(path), "--format", "csv")
    assert out.splitlines()[1].startswith('"a')
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [r["nodeId"] for r in rows] == ["a\rb", "plain", " c "]


_IDS = st.lists(
    st.text(st.characters(blacklist_characters="\n", blacklist_categories=["Cs"]), min_size=1)
    .map(lambda s: s.encode())
    .filter(lambda b: not b.endswith(b"\r")),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(_IDS, st.booleans(), st.booleans())
def test_csv_and_jsonl_round_trip_any_ids(ids: list[bytes], timed: bool, c_scan: bool) -> None:
    from noderr_deploy.ui import cohort as render

    with pytest.MonkeyPatch.context() as patch:
        if not c_scan:  # the pure-Python path of an install without the extension
            patch.setattr(render, "marked", None)
        _round_trip(ids, timed)


def _round_trip(ids: list[bytes], timed: bool) -> None:
    from datetime import UTC, datetime

    from noderr_deploy.cohorts import RolloutPlan, assignments, buckets_of
    from noderr_deploy.ui import cohort as render
    from noderr_deploy.ui.output import Output

    plan = RolloutPlan(10, 20, 12)
    published = datetime(2026, 3, 1, tzinfo=UTC) if timed else None
    at = datetime(2026, 3, 2, tzinfo=UTC)
    buckets = buckets_of(ids)
    expected = list(assignments(ids, buckets, plan, published, at))
    texts = {}
    for fmt in ("csv", "jsonl", "json"):
        stream = io.StringIO()
        render.write_rows(
            Output(stream, io.StringIO()),
            fmt,
            ids,
            buckets,
            plan=plan,
            published_at=published,
            at=at,
            single=False,
        )
        texts[fmt] = stream.getvalue()
    rows = list(csv.DictReader(io.StringIO(texts["csv"], newline="")))
    assert [r["nodeId"] for r in rows] == [raw.decode() for raw in ids]
    assert [int(r["bucket"]) for r in rows] == list(buckets)
    assert [r["cohort"] for r in rows] == [a.cohort for a in expected]
    # JSON Lines: exactly what json.dumps writes for each row, and the list the same rows.
    assert texts["jsonl"].split("\n")[:-1] == [  # not splitlines: U+0085 is in ids
        json.dumps(msgspec.to_builtins(render.row_json(a)), ensure_ascii=False) for a in expected
    ]
    assert json.loads(texts["json"]) == [msgspec.to_builtins(render.row_json(a)) for a in expected]


def test_an_id_that_looks_like_an_option_hints_at_double_dash() -> None:
    result = run("-node-1")
    assert result.exit_code == 2
    assert result.stderr == (  # type: ignore[attr-defined]
        "error: No such option '-n'. (an argument that starts with '-' goes after '--':"
        " noderr cohort -- -node-1; see 'noderr cohort --help')\n"
    )
    assert ok("--", "-node-1") == "node id  bucket  cohort\n-node-1  91      cohort4\n"
    near = run("a", "--summry")
    assert "Did you mean '--summary'?" in near.stderr  # type: ignore[attr-defined]
    assert "goes after '--'" not in near.stderr  # type: ignore[attr-defined]
    odd = run("-\x1b[2Jx")
    assert "noderr cohort -- ID;" in odd.stderr  # type: ignore[attr-defined]
    assert "\x1b" not in odd.stderr.split("(")[1]  # type: ignore[attr-defined]
