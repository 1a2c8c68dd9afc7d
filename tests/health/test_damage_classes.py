"""Damage that would otherwise turn into an `ok` verdict: keys twice in one record, and a
gzip member whose integrity check fails after its records were read."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app

RUN = ["rollback", "check", "--version", "1.4.2", "--canary", "5", "--cohort-size", "25"]
AT = ["--at", "2026-11-26T12:20:00Z"]
STAMP = "2026-11-26T12:10:00Z"


def record(node: str, cpu: float) -> str:
    return json.dumps(
        {
            "nodeId": node,
            "version": "1.4.2",
            "metrics": {"cpu": cpu, "memory": 1, "errors": 0},
            "timestamp": STAMP,
        }
    )


UNHEALTHY_FIRST = [
    # The later of two keys wins in every JSON decoder: each of these hides cpu 99.
    '{"nodeId":"a","version":"1.4.2","metrics":{"cpu":99,"memory":1,"errors":0},'
    f'"timestamp":"{STAMP}","metrics":{{"cpu":1,"memory":1,"errors":0}}}}',
    '{"nodeId":"a","version":"1.4.2","metrics":{"cpu":99,"memory":1,"errors":0,"cpu":1},'
    f'"timestamp":"{STAMP}"}}',
    '{"nodeId":"a","version":"1.4.2","healthStatus":"unhealthy","healthStatus":"healthy",'
    f'"metrics":{{"cpu":1,"memory":1,"errors":0}},"timestamp":"{STAMP}"}}',
    '{"nodeId":"a","nodeId":"b","version":"1.4.2","metrics":{"cpu":1,"memory":1,"errors":0},'
    f'"timestamp":"{STAMP}"}}',
]


@pytest.mark.parametrize("line", UNHEALTHY_FIRST)
@pytest.mark.parametrize("where", ["alone", "after many", "array"])
def test_a_key_twice_in_one_record_is_a_malformed_record(
    line: str, where: str, tmp_path: Path
) -> None:
    path = tmp_path / ("x.json" if where == "array" else "x.jsonl")
    good = [record(f"n{i}", 1) for i in range(50 if where == "after many" else 0)]
    if where == "array":
        path.write_text("[" + ",\n".join([*good, line]) + "]\n")
    else:
        path.write_text("\n".join([*good, line]) + "\n")
    result = CliRunner().invoke(app, [*RUN, "--health", str(path), *AT])
    assert result.exit_code == 2, result.stdout
    assert "duplicate key" in result.stderr


def test_keys_in_strings_or_null_values_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"nodeId":"cpu \\"cpu\\"","version":"1.4.2","metrics":{"cpu":1,"memory":1,'
        f'"errors":0,"uptime":null}},"timestamp":"{STAMP}"}}\n'
    )
    result = CliRunner().invoke(app, [*RUN, "--health", str(path), *AT, "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["reports"]["invalid"] == 0


@pytest.mark.parametrize("skip", [[], ["--skip-invalid"]])
def test_a_gzip_member_failing_its_check_is_never_judged(skip: list[str], tmp_path: Path) -> None:
    body = "\n".join([record(f"n{i}", 99) for i in range(10)] + [record("m", 10)]) + "\n"
    damaged = gzip.compress(body.encode(), compresslevel=0).replace(b'"cpu": 99', b'"cpu": 19')
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(damaged)
    result = CliRunner().invoke(app, [*RUN, "--health", str(path), *AT, *skip])
    assert result.exit_code == 2
    assert "failed its integrity check" in result.stderr
    assert result.stdout == ""
