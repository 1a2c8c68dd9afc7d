"""Every plan the deployment engine runs, set on a real beacon with ``setRolloutConfig``.

The expected cohorts come from the engine's rules written out below as a table and a
reference function (cumulative: ``< c`` canary, ``< c+s`` cohort1, ``< c+2s`` cohort2,
``< c+3s`` cohort3, else cohort4; cohort k active once ``k x delay`` hours have passed, the
canary always), independent of the code under test. Also: delays up to uint256 max, far
future publish and block times, ``--at`` before the publish, a paused rollout, and the
auto-updater's cut-off in ``version`` and ``rollout status``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from noderr_deploy.cohorts import bucket
from tests.support.anvil import Anvil
from tests.support.beacon_chain import ORACLE, BeaconDriver

HOUR = 3600
UINT256_MAX = 2**256 - 1
COHORTS = ("canary", "cohort1", "cohort2", "cohort3", "cohort4")
TIERS_YAML = "tiers:\n  oracle: {beacon_tier: 2, size_budget: 1GB}\n"

# canary, cohort, delay hours -> buckets per cohort by the engine's cumulative rule,
# whether the node updater's cut-off (canary + 4 x cohort < 100) applies.
PLANS = [
    # c   s    delay        canary cohort1 cohort2 cohort3 cohort4   updater cut-off
    (5,   25,  24,          (5,    25,     25,     25,     20),      False),
    (10,  40,  24,          (10,   40,     40,     10,     0),       False),
    (0,   25,  24,          (0,    25,     25,     25,     25),      False),
    (100, 100, 1,           (100,  0,      0,      0,      0),       False),
    (0,   0,   1,           (0,    0,      0,      0,      100),     True),
    (10,  20,  12,          (10,   20,     20,     20,     30),      True),
    (5,   25,  0,           (5,    25,     25,     25,     20),      False),
    (5,   25,  UINT256_MAX, (5,    25,     25,     25,     20),      False),
]  # fmt: skip


def engine_cohort(b: int, canary: int, cohort: int) -> str:
    """The deployment engine's assignment of bucket ``b`` (cumulative, any percentages)."""
    for k, edge in enumerate((canary, canary + cohort, canary + 2 * cohort, canary + 3 * cohort)):
        if b < edge:
            return COHORTS[k]
    return "cohort4"


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def activation(published: int, k: int, delay: int) -> str | None:
    """cohort k's activation as the JSON shows it: None past the year 9999 (never)."""
    at = published + k * delay * HOUR
    return iso(at) if at <= 253402300799 else None


@pytest.fixture
def run(tmp_path: Path, node: Anvil, beacon: BeaconDriver) -> Callable[..., Any]:
    config = tmp_path / "tiers.yaml"
    config.write_text(TIERS_YAML)

    def invoke(*args: str) -> Any:
        env = {
            "NODERR_RPC_URL": node.url,
            "NODERR_BEACON_ADDRESS": beacon.address,
            "NODERR_CONFIG": str(config),
        }
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def nodes_by_cohort(canary: int, cohort: int) -> dict[str, str]:
    found: dict[str, str] = {}
    for i in range(3000):
        name = engine_cohort(bucket(f"node-{i}"), canary, cohort)
        found.setdefault(name, f"node-{i}")
    return found


UPDATER_WARNING = "warning: the node auto-updater never updates buckets"


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: f"{p[0]}/{p[1]}/{p[2]}")
def test_every_plan_the_engine_runs(
    beacon: BeaconDriver,
    run: Callable[..., Any],
    plan: tuple[int, int, int, tuple[int, ...], bool],
) -> None:
    canary, cohort, delay, sizes, cut_off = plan
    # The table agrees with the reference rule (so neither can drift alone).
    assert [
        sum(engine_cohort(b, canary, cohort) == c for b in range(100)) for c in COHORTS
    ] == list(sizes)
    beacon.set_rollout(canary, cohort, delay)
    published = beacon.publish(ORACLE, "3.0.0")

    status = ok(run("rollout", "status", "--json", "--tier", "oracle"))
    doc = json.loads(status.stdout)
    assert doc["rollout"] == {
        "canaryPercentage": canary,
        "cohortPercentage": cohort,
        "cohortDelayHours": delay,  # an integer, even uint256 max: never a lossy float
        "isActive": True,
    }
    assert type(doc["rollout"]["cohortDelayHours"]) is int
    (tier,) = doc["tiers"]
    assert tier["schedule"] == [
        {
            "cohort": c,
            "activatesAt": activation(published.timestamp, k, delay),
            "active": k == 0 or delay == 0,
        }
        for k, c in enumerate(COHORTS)
    ]
    assert tier["phase"] == ("complete" if delay == 0 else "canary")
    assert (UPDATER_WARNING in status.stderr) is cut_off
    assert ("cohort4 is empty" in status.stderr) is (sizes[4] == 0)
    assert ("cohort4 is empty" in " ".join(doc["notes"])) is (sizes[4] == 0)

    for name, node_id in nodes_by_cohort(canary, cohort).items():
        result = ok(run("version", node_id, "--tier", "oracle", "--json"))
        answer = json.loads(result.stdout)
        k = COHORTS.index(name)
        assert answer["cohort"] == name, (node_id, bucket(node_id))
        assert answer["activatesAt"] == activation(published.timestamp, k, delay)
        assert answer["shouldUpdate"] is (k == 0 or delay == 0)
        assert (UPDATER_WARNING in result.stderr) is cut_off
        assert any(w.startswith(UPDATER_WARNING[9:]) for w in answer["warnings"]) is cut_off


def test_a_huge_delay_means_canary_only_in_the_text_too(
    beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    beacon.set_rollout(5, 25, UINT256_MAX)
    beacon.publish(ORACLE, "3.0.0")
    lines = ok(run("rollout", "status", "--tier", "oracle")).stdout.splitlines()
    assert any(line.split()[:2] == ["cohort1", "never"] for line in lines), lines
    node_id = nodes_by_cohort(5, 25)["cohort2"]
    text = ok(run("version", node_id, "--tier", "oracle")).stdout
    assert "activates at   never" in text
    assert "its cohort never activates" in text


def test_canary_is_active_before_the_publish_time(
    beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    published = beacon.publish(ORACLE, "3.0.0")
    before = str(published.timestamp - 10 * HOUR)
    nodes = nodes_by_cohort(5, 25)
    canary = json.loads(
        ok(run("version", nodes["canary"], "-t", "oracle", "--json", "--at", before)).stdout
    )
    later = json.loads(
        ok(run("version", nodes["cohort1"], "-t", "oracle", "--json", "--at", before)).stdout
    )
    assert (canary["shouldUpdate"], canary["at"]) == (True, iso(published.timestamp - 10 * HOUR))
    assert later["shouldUpdate"] is False
    phase = json.loads(ok(run("rollout", "status", "--json", "--at", before)).stdout)
    assert phase["at"] == iso(published.timestamp - 10 * HOUR)
    assert phase["tiers"][0]["phase"] == "canary"


def test_a_paused_rollout_is_a_field_and_a_warning(
    beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    beacon.publish(ORACLE, "3.0.0")
    beacon.set_rollout(5, 25, 24, active=False)
    result = ok(run("version", "node-1", "--tier", "oracle", "--json"))
    answer = json.loads(result.stdout)
    assert answer["paused"] is True
    assert result.stderr.startswith("warning: the rollout is PAUSED on the VersionBeacon")
    assert answer["warnings"][0].startswith("the rollout is PAUSED")
    status = ok(run("rollout", "status", "--json"))
    assert json.loads(status.stdout)["paused"] is True
    assert "warning: the rollout is PAUSED" in status.stderr


def test_status_json_says_which_moment_it_describes(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    published = beacon.publish(ORACLE, "3.0.0")
    doc = json.loads(ok(run("rollout", "status", "--json")).stdout)
    assert (doc["chainId"], doc["beacon"], doc["block"]) == (31337, beacon.address, published.block)
    assert doc["at"] == doc["time"] == iso(published.timestamp)


def test_far_future_publish_time_is_shown(beacon: BeaconDriver, run: Callable[..., Any]) -> None:
    moment = 253402300000  # 9999-12-31T23:46:40Z
    published = beacon.publish(ORACLE, "3.0.0", at=moment)
    doc = json.loads(ok(run("rollout", "status", "--json")).stdout)
    tier = doc["tiers"][-1]
    assert tier["publishedAt"] == "9999-12-31T23:46:40Z" == iso(published.timestamp)
    assert [e["activatesAt"] for e in tier["schedule"]] == [
        tier["publishedAt"],
        None,
        None,
        None,
        None,
    ]


def test_block_time_past_the_year_9999_is_one_error_line(
    beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    beacon.publish(ORACLE, "3.0.0")
    beacon.set_next_timestamp(253402300800)  # 10000-01-01T00:00:00Z
    result = run("rollout", "status", "--json", "--quiet")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("error: block ")
    assert result.stderr.endswith(
        "'s time is 253402300800 s after 1970, beyond the year 9999: it cannot be shown\n"
    )


def test_a_version_id_that_was_never_published(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    # Point the oracle slot at id 9 (never published) by writing the mapping's storage.
    from eth_abi.abi import encode

    from noderr_deploy.keccak import keccak256

    beacon.publish(ORACLE, "3.0.0")
    slot = "0x" + keccak256(encode(["uint256", "uint256"], [ORACLE, 1])).hex()
    node.rpc("anvil_setStorageAt", [beacon.address, slot, "0x" + "00" * 31 + "09"])
    node.mine()
    result = run("version", "node-1", "--tier", "oracle")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: beacon tier 2's currentVersionId is 9, but version 9 was never published on"
    )
