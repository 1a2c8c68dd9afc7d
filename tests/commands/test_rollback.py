"""``noderr rollback check`` end to end: the JSON contract, the renderings, every exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from tests.health_data import ids_in, jsonl, record

runner = CliRunner()
AT = "2026-11-01T12:30:00Z"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No tiers.yaml from the repository, no NODERR_* settings from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "NODERR_CONFIG",
        "NODERR_MAX_AGE",
        "NODERR_CANARY_PERCENTAGE",
        "NODERR_COHORT_PERCENTAGE",
        "NODERR_UNHEALTHY_THRESHOLD",
        "NODERR_ERROR_RATE_THRESHOLD",
        "NODERR_MIN_NODES",
    ):
        monkeypatch.delenv(name, raising=False)


def export(tmp_path: Path, *docs: dict[str, Any] | str, name: str = "h.jsonl") -> str:
    path = tmp_path / name
    path.write_bytes(jsonl(*docs))
    return str(path)


def check(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Any:
    return runner.invoke(app, ["rollback", "check", "--at", AT, *args], env=env, input=stdin)


def canary_fleet(healthy: int, unhealthy: int) -> list[dict[str, Any]]:
    return [record(f"h{i}") for i in range(healthy)] + [
        record(f"u{i}", cpu=99) for i in range(unhealthy)
    ]


ALL_CANARY = ("--canary", "100", "--cohort-size", "0")


def test_json_contract(tmp_path: Path) -> None:
    plan_ids = {c: ids_in(c, 2) for c in ("canary", "cohort1")}
    docs: list[dict[str, Any] | str] = [
        record(plan_ids["canary"][0], cpu=99),
        record(plan_ids["canary"][1], errors=3),
        record(plan_ids["cohort1"][0]),
        record(plan_ids["cohort1"][1], version="0.9.0"),
        record("stale-node", timestamp="2026-11-01T11:00:00Z"),
        "garbage",
    ]
    path = export(tmp_path, *docs)
    result = check(
        "--health", path, "--version", "1.0.0", "--max-age", "1h", "--json", "--skip-invalid"
    )
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout) == {
        "verdict": "rollback",
        "tier": None,
        "version": "1.0.0",
        "at": AT,
        "plan": {"canaryPercentage": 5, "cohortPercentage": 25, "cohortDelayHours": 24},
        "thresholds": {"unhealthyRatio": 0.1, "errorRate": 0.05, "minNodes": 1},
        "reports": {
            "records": 5,
            "invalid": 1,
            "nodes": 5,
            "stale": 1,
            "otherVersion": 1,
            "future": 0,
            "lostBytes": 0,
            "lostRecords": 0,
            "incomplete": 0,
            "incompleteRecords": 0,
            "timestampUnit": None,
        },
        "cohorts": [
            {
                "cohort": "canary",
                "nodes": 2,
                "healthy": 1,
                "degraded": 0,
                "unhealthy": 1,
                "unhealthyRatio": 0.5,
                "errorRate": 1.5,
                "status": "rollback",
                "reasons": ["unhealthy 50.0% > 10.0%", "error rate 1.5 > 0.05"],
            },
            {
                "cohort": "cohort1",
                "nodes": 1,
                "healthy": 1,
                "degraded": 0,
                "unhealthy": 0,
                "unhealthyRatio": 0.0,
                "errorRate": 0.0,
                "status": "ok",
                "reasons": [],
            },
            *(
                {
                    "cohort": name,
                    "nodes": 0,
                    "healthy": 0,
                    "degraded": 0,
                    "unhealthy": 0,
                    "unhealthyRatio": None,
                    "errorRate": None,
                    "status": "insufficient",
                    "reasons": ["0 nodes < min 1"],
                }
                for name in ("cohort2", "cohort3", "cohort4")
            ),
        ],
    }
    assert result.stderr == (
        "warning: skipped 1 invalid record(s):\n"
        f"warning:   {path}:6: bad JSON: invalid character (byte 1)\n"
    )


def test_table(tmp_path: Path) -> None:
    path = export(tmp_path, *canary_fleet(17, 3))
    result = check("--health", path, "--version", "1.0.0", *ALL_CANARY)
    assert result.exit_code == 3
    assert result.stdout == (
        f"Rollback check of version 1.0.0 at {AT}\n"
        "cohort   nodes  healthy  degraded  unhealthy  unhealthy %  error rate  status"
        "        reasons\n"
        "canary   20     17       0         3          15.0%        0.000       rollback"
        "      unhealthy 15.0% > 10.0%\n"
        "cohort1  0      0        0         0          -            -           insufficient"
        "  0 nodes < min 1\n"
        "cohort2  0      0        0         0          -            -           insufficient"
        "  0 nodes < min 1\n"
        "cohort3  0      0        0         0          -            -           insufficient"
        "  0 nodes < min 1\n"
        "cohort4  0      0        0         0          -            -           insufficient"
        "  0 nodes < min 1\n"
        "reports: 20 records, 0 invalid skipped; 20 nodes: 0 stale, 0 on another version,"
        " 20 judged\n"
        "plan: canary 100%, cohorts 0%; rollback when unhealthy > 10.0% or error rate > 0.05"
        "; cohorts with fewer than 1 nodes are not judged\n"
        "verdict: rollback (canary: unhealthy 15.0% > 10.0%)\n"
    )
    assert result.stderr == ""


def test_markdown(tmp_path: Path) -> None:
    path = export(tmp_path, *canary_fleet(19, 1))
    result = check("--health", path, "--version", "1.0.0", *ALL_CANARY, "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout == (
        f"### Rollback check of version 1.0.0 at {AT}: **ok**\n"
        "\n"
        "| cohort | nodes | healthy | degraded | unhealthy | unhealthy % | error rate | status"
        " | reasons |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n"
        "| canary | 20 | 19 | 0 | 1 | 5.0% | 0.000 | ok | - |\n"
        "| cohort1 | 0 | 0 | 0 | 0 | - | - | insufficient | 0 nodes < min 1 |\n"
        "| cohort2 | 0 | 0 | 0 | 0 | - | - | insufficient | 0 nodes < min 1 |\n"
        "| cohort3 | 0 | 0 | 0 | 0 | - | - | insufficient | 0 nodes < min 1 |\n"
        "| cohort4 | 0 | 0 | 0 | 0 | - | - | insufficient | 0 nodes < min 1 |\n"
        "\n"
        "**verdict: ok**\n"
        "\n"
        "reports: 20 records, 0 invalid skipped; 20 nodes: 0 stale, 0 on another version,"
        " 20 judged\n"
        "\n"
        "plan: canary 100%, cohorts 0%; rollback when unhealthy > 10.0% or error rate > 0.05"
        "; cohorts with fewer than 1 nodes are not judged\n"
    )


# -- exit codes -----------------------------------------------------------------------------


def test_exit_0_when_ok(tmp_path: Path) -> None:
    path = export(tmp_path, *canary_fleet(9, 1))  # exactly 10 %: no trigger
    result = check("--health", path, "--version", "1.0.0", *ALL_CANARY, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["verdict"] == "ok"


def test_exit_3_on_rollback(tmp_path: Path) -> None:
    path = export(tmp_path, *canary_fleet(8, 2))
    assert check("--health", path, "--version", "1.0.0", *ALL_CANARY).exit_code == 3


def test_inconclusive_is_0_or_4_with_require_data(tmp_path: Path) -> None:
    path = export(tmp_path, *canary_fleet(3, 0))
    args = ("--health", path, "--version", "2.0.0", "--json")
    plain = check(*args)
    assert plain.exit_code == 0
    assert json.loads(plain.stdout)["verdict"] == "inconclusive"
    assert json.loads(plain.stdout)["reports"]["otherVersion"] == 3
    strict = check(*args, "--require-data")
    assert strict.exit_code == 4
    assert json.loads(strict.stdout)["verdict"] == "inconclusive"


def test_exit_2_on_malformed_input_with_file_and_line(tmp_path: Path) -> None:
    path = export(tmp_path, record("a"), record("b", cpu=101), "{oops")
    result = check("--health", path, "--version", "1.0.0")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: 2 malformed health records (use --skip-invalid to leave them out)\n"
        f"  {path}:2: metrics.cpu: expected a number <= 100\n"
        f"  {path}:3: bad JSON: object keys must be strings (byte 2)\n"
    )


def test_exit_2_on_empty_input(tmp_path: Path) -> None:
    path = export(tmp_path)
    result = check("--health", path, "--version", "1.0.0")
    assert result.exit_code == 2
    assert result.stderr == f"error: no health reports in {path}: the input is empty\n"


def test_exit_2_when_nothing_valid_is_left(tmp_path: Path) -> None:
    path = export(tmp_path, "x", "y")
    result = check("--health", path, "--version", "1.0.0", "--skip-invalid")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: no valid health report in {path}: all 2 records were invalid\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "error: missing --version V (the version under evaluation), or --tier T"),
        (("--tier", "oracle"), "error: no RPC endpoint: pass --rpc-url or set NODERR_RPC_URL"),
        (
            ("--tier", "nosuch", "--rpc-url", "http://127.0.0.1:9", "--beacon", "0x" + "11" * 20),
            "error: unknown tier 'nosuch' (no tiers.yaml; known beacon tiers: validator, guardian,"
            " oracle)",
        ),
        (
            # Checked before the chain is asked (there is no RPC endpoint here).
            ("--tier", "oracle", "--canary", "10", "--cohort-size", "20"),
            "error: --canary/--cohort-size and --tier contradict each other: with a"
            " VersionBeacon the plan is its rolloutConfig (drop one of them)",
        ),
        (("--version", "1", "--max-age", "soon"), "error: --max-age: not a duration: 'soon'"),
        (("--version", "1", "--at", "noon"), "error: --at: not a time: 'noon'"),
        (
            ("--version", "1", "--unhealthy-threshold", "1.5"),
            "error: invalid thresholds: --unhealthy-threshold (or NODERR_UNHEALTHY_THRESHOLD):"
            " '1.5' is out of range (a number from 0 to 1)",
        ),
        (
            ("--version", "1", "--min-nodes", "0"),
            "error: invalid thresholds: --min-nodes (or NODERR_MIN_NODES): '0' is out of range"
            " (a whole number from 1 to 1000000000)",
        ),
        (
            ("--version", "1", "--canary", "101"),
            "error: invalid rollout plan: --canary: 101 is not within 0..100",
        ),
        (
            ("--version", "1", "--json", "--format", "markdown"),
            "error: --json and --format markdown exclude each other",
        ),
        (("--version", "1", "--format", "xml"), "error: Invalid value for '--format'"),
    ],
)
def test_exit_2_on_bad_flags(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    path = export(tmp_path, record("a"))
    result = check("--health", path, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr


def test_exit_2_without_health() -> None:
    result = check("--version", "1")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: missing --health FILE (a file, a directory, - for stdin, or a PostgreSQL DSN)\n"
    )


def test_exit_2_on_missing_file(tmp_path: Path) -> None:
    result = check("--health", str(tmp_path / "nope.jsonl"), "--version", "1")
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope.jsonl'}: no such file or directory\n"


# -- inputs ---------------------------------------------------------------------------------


def test_stdin_and_several_files(tmp_path: Path) -> None:
    first = export(tmp_path, record("a", cpu=99), name="1.jsonl")
    second = export(tmp_path, record("a"), name="2.jsonl")
    # --health FILE FILE: the second path is read too, after the first (it wins the tie).
    result = check("--health", first, second, "--version", "1.0.0", "--json", *ALL_CANARY)
    assert json.loads(result.stdout)["cohorts"][0]["unhealthy"] == 0
    piped = check(
        "--health",
        "-",
        "--version",
        "1.0.0",
        "--json",
        *ALL_CANARY,
        stdin=jsonl(record("a", cpu=99)),
    )
    assert piped.exit_code == 3
    assert json.loads(piped.stdout)["reports"]["records"] == 1


# -- settings precedence: flag > environment > tiers.yaml > default ---------------------------

TIERS_YAML = """\
rollout: {canary_percentage: 100, cohort_percentage: 0}
rollback: {unhealthy_threshold: 0.5, error_rate_threshold: 2, min_nodes: 3}
tiers:
  oracle: {beacon_tier: 2, size_budget: 1GB}
"""


def thresholds_and_plan(result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    document = json.loads(result.stdout)
    return document["thresholds"], document["plan"]


def test_tiers_yaml_supplies_plan_and_thresholds(tmp_path: Path) -> None:
    (tmp_path / "tiers.yaml").write_text(TIERS_YAML)
    path = export(tmp_path, *canary_fleet(3, 1))  # 25 % unhealthy: under 0.5
    result = check("--health", path, "--version", "1.0.0", "--json")
    assert result.exit_code == 0
    thresholds, plan = thresholds_and_plan(result)
    assert thresholds == {"unhealthyRatio": 0.5, "errorRate": 2.0, "minNodes": 3}
    assert (plan["canaryPercentage"], plan["cohortPercentage"]) == (100, 0)


def test_environment_beats_tiers_yaml_and_flags_beat_both(tmp_path: Path) -> None:
    (tmp_path / "tiers.yaml").write_text(TIERS_YAML)
    path = export(tmp_path, *canary_fleet(3, 1))
    env = {"NODERR_UNHEALTHY_THRESHOLD": "0.2", "NODERR_MIN_NODES": "2", "NODERR_MAX_AGE": "1h"}
    from_env = check("--health", path, "--version", "1.0.0", "--json", env=env)
    assert from_env.exit_code == 3
    assert thresholds_and_plan(from_env)[0] == {
        "unhealthyRatio": 0.2,
        "errorRate": 2.0,
        "minNodes": 2,
    }
    assert json.loads(from_env.stdout)["reports"]["stale"] == 0  # 30 minutes old, 1 h allowed
    short_age = check(
        "--health", path, "--version", "1.0.0", "--json", env={"NODERR_MAX_AGE": "29m"}
    )
    assert json.loads(short_age.stdout)["reports"]["stale"] == 4
    flags = check(
        "--health",
        path,
        "--version",
        "1.0.0",
        "--json",
        "--unhealthy-threshold",
        "0.3",
        "--min-nodes",
        "5",
        "--error-rate-threshold",
        "0.01",
        "--canary",
        "0",
        "--cohort-size",
        "10",
        env=env,
    )
    thresholds, plan = thresholds_and_plan(flags)
    assert thresholds == {"unhealthyRatio": 0.3, "errorRate": 0.01, "minNodes": 5}
    assert (plan["canaryPercentage"], plan["cohortPercentage"]) == (0, 10)


def test_help_documents_exit_codes() -> None:
    result = runner.invoke(app, ["rollback", "check", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "0 ok or inconclusive; 3 rollback; 4 inconclusive with --require-data" in text
    assert "noderr rollback check --health exports/ --version 1.4.2" in text


def test_exit_2_on_an_invalid_tiers_yaml(tmp_path: Path) -> None:
    (tmp_path / "tiers.yaml").write_text("rollback: {min_nodes: 0}\ntiers: {}\n")
    path = export(tmp_path, record("a"))
    result = check("--health", path, "--version", "1.0.0")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {tmp_path / 'tiers.yaml'}: ")


HEAVY = {"pydantic", "web3", "docker", "rich", "requests"}
STARTUP = """\
import sys
from noderr_deploy.cli import app
args = ["rollback", "check", *sys.argv[1:]]
try:  # what main() runs, without the os._exit at its end (so that this code goes on)
    app(args=args, prog_name="noderr")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = {heavy!r} & {{m.split(".")[0] for m in sys.modules}}
print(code, sorted(heavy), file=sys.stderr)
"""


def run_alone(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """The command in a fresh interpreter, output piped; stderr ends with what it imported."""
    return subprocess.run(
        [sys.executable, "-c", STARTUP.format(heavy=HEAVY), *args],
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("output", [(), ("--json",), ("--format", "markdown")])
@pytest.mark.parametrize("chain_env", [False, True])
def test_check_without_tier_imports_nothing_heavy(
    tmp_path: Path, output: tuple[str, ...], chain_env: bool
) -> None:
    # The repository's tiers.yaml (its rollout and rollback sections) is read; without
    # --tier, a beacon configured in the environment must not make it go online either.
    # A skipped record makes it warn, which must not need rich either.
    assert (REPO / "tiers.yaml").is_file()
    path = export(tmp_path, *canary_fleet(3, 0), "garbage")
    env = {"NODERR_RPC_URL": "http://127.0.0.1:9"} if chain_env else {}
    args = ("--health", path, "--version", "1.0.0", "--skip-invalid", *output)
    done = run_alone(REPO, *args, env=env)
    assert done.stderr == (
        "warning: skipped 1 invalid record(s):\n"
        f"warning:   {path}:4: bad JSON: invalid character (byte 1)\n"
        "0 []\n"
    )
    assert "verdict: ok" in done.stdout or '"verdict": "ok"' in done.stdout


def test_check_without_tier_still_validates_the_rollback_section(tmp_path: Path) -> None:
    text = (REPO / "tiers.yaml").read_text().replace("min_nodes: 1}", "min_nodes: 0}")
    assert "min_nodes: 0}" in text
    (tmp_path / "tiers.yaml").write_text(text)
    line, column = next(
        (n, row.index("min_nodes: 0") + len("min_nodes: ") + 1)  # pydantic points at the 0
        for n, row in enumerate(text.splitlines(), 1)
        if row.startswith("rollback:")
    )
    path = export(tmp_path, record("a"))
    done = run_alone(tmp_path, "--health", path, "--version", "1.0.0")
    config = tmp_path / "tiers.yaml"
    assert done.stdout == ""
    assert done.stderr == (
        f"error: {config}: 1 problem in the configuration\n"
        f"  {config}:{line}:{column}: rollback.min_nodes: Input should be greater than or"
        " equal to 1\n"
        "2 ['pydantic']\n"  # the full loader reported it, as for every command
    )


def test_check_without_tier_leaves_the_tiers_section_to_tiers_check(tmp_path: Path) -> None:
    # Only the rollout and rollback sections are its business (as for `noderr cohort`).
    (tmp_path / "tiers.yaml").write_text(
        "rollback: {min_nodes: 2}\ntiers: {oracle: {beacon_tier: 999}}\n"
    )
    path = export(tmp_path, *canary_fleet(3, 0))
    result = check("--health", path, "--version", "1.0.0", "--json", *ALL_CANARY)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["thresholds"]["minNodes"] == 2
    # With --tier the whole file is needed, and checked.
    with_tier = check("--health", path, "--tier", "oracle", "--rpc-url", "http://127.0.0.1:9")
    assert with_tier.exit_code == 2
    assert "tiers.oracle.beacon_tier: Input should be less than or equal to 255" in (
        with_tier.stderr
    )
