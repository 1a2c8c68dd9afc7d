"""Fixtures for tests against real components: Docker engine, registry, anvil, solc-js,
PostgreSQL.

Start the services with ``scripts/services start`` (``scripts/test`` does it). A missing
component skips the tests that need it, or fails them when CI is set (see ``require``).

Every test here is marked ``integration``; tests using the Docker fixtures also ``docker``,
those using the chain fixtures ``chain`` and the PostgreSQL ones ``postgres`` (added at
collection, so none can forget), e.g. ``pytest -m "not integration"`` runs only the fast
tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from tests.support.anvil import Anvil, AnvilError, start_anvil
from tests.support.base_image import BaseImageError, build_base_image
from tests.support.beacon_chain import CONTRACTS, BeaconDriver
from tests.support.components import (
    anvil_binary,
    registry_address,
    registry_status,
    require,
    solcjs_binary,
)
from tests.support.postgres import TelemetryDb, server_dsn
from tests.support.solidity import CompiledContract, compile_solidity

_HERE = Path(__file__).parent
_MARKERS_BY_FIXTURE = {
    "docker_client": "docker",
    "base_image": "docker",
    "registry": "docker",
    "anvil": "chain",
    "anvil_factory": "chain",
    "solc": "chain",
    "postgres_dsn": "postgres",
    "telemetry_db": "postgres",
}


# tryfirst: the markers must be on the items before `-m` deselects by them.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE not in item.path.parents:
            continue  # pytest calls this hook with the whole session's items
        item.add_marker("integration")
        fixtures: list[str] = getattr(item, "fixturenames", [])
        for marker in sorted(
            {_MARKERS_BY_FIXTURE[f] for f in fixtures if f in _MARKERS_BY_FIXTURE}
        ):
            item.add_marker(marker)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A docker SDK client for the daemon at DOCKER_HOST or the default socket, pinged."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        require("Docker engine", f"{error} (start it with `scripts/services start`)")
    yield client
    client.close()


@pytest.fixture(scope="session")
def registry() -> str:
    """``host:port`` of the test registry (NODERR_TEST_REGISTRY, default 127.0.0.1:5000)."""
    address = registry_address()
    status = registry_status(address)
    if status != 200:
        require(
            "Docker registry",
            f"GET http://{address}/v2/ gave {status!r} (start it with `scripts/services start`)",
        )
    return address


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    """Tag of the offline Node.js base image (see tests/support/base_image.py), built once."""
    try:
        return build_base_image(docker_client)
    except BaseImageError as error:
        require("base image", str(error))


def _anvil_path() -> Path:
    binary = anvil_binary()
    if binary is None:
        require("anvil", "no anvil executable: run `npm ci` (or set NODERR_ANVIL to one)")
    return binary


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """One anvil node (chain id 31337) shared by the session.

    Tests that change chain state should ``snapshot()`` first and ``revert()`` after; tests that
    kill the node or need other start options use ``anvil_factory``.
    """
    try:
        node = start_anvil(_anvil_path())
    except AnvilError as error:
        require("anvil", str(error))
    yield node
    node.stop()


AnvilFactory = Callable[..., Anvil]


@pytest.fixture
def anvil_factory() -> Iterator[AnvilFactory]:
    """Start private anvil nodes: ``anvil_factory(chain_id=..., timestamp=..., extra_args=[...])``.

    Each node is stopped when the test ends, whatever the test did to it.
    """
    binary = _anvil_path()
    started: list[Anvil] = []

    def start(**options: Any) -> Anvil:
        node = start_anvil(binary, **options)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture(scope="session")
def solc() -> Callable[..., CompiledContract]:
    """``compile_solidity(source_path, contract=None) -> (abi, bytecode)``, with solcjs checked."""
    if solcjs_binary() is None:
        require("solc-js", "no solcjs executable: run `npm ci` (or set NODERR_SOLCJS to one)")
    return compile_solidity


@pytest.fixture
def node(anvil_factory: AnvilFactory) -> Anvil:
    """A private anvil for one test: chain tests change its state freely."""
    return anvil_factory()


@pytest.fixture
def beacon(node: Anvil, solc: Callable[..., CompiledContract]) -> BeaconDriver:
    """contracts/VersionBeacon.sol deployed on ``node`` (rollout 5/25/24, nothing published).

    A module that wants another rollout config overrides this fixture and asks for it by
    the same name, then calls ``set_rollout``.
    """
    abi, bytecode = solc(CONTRACTS / "VersionBeacon.sol")
    return BeaconDriver.deploy(node.url, abi, bytecode)


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The DSN (with its password) of the test PostgreSQL, checked to answer.

    From ``NODERR_TEST_POSTGRES_DSN``, else the file ``scripts/services start`` writes.
    """
    try:
        import psycopg
    except ImportError:
        require("psycopg", "pip install -e '.[dev,postgres]' (scripts/test does)")
    dsn, why = server_dsn()
    if dsn is None:
        require("PostgreSQL", why)
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as error:
        require("PostgreSQL", f"{error} (start it with `scripts/services start-postgres`)")
    return dsn


@pytest.fixture
def telemetry_db(postgres_dsn: str) -> Iterator[TelemetryDb]:
    """An empty ``node_telemetry`` (the network's DDL) in a schema of this test's own;
    ``telemetry_db.dsn`` reaches it."""
    db = TelemetryDb.create(postgres_dsn)
    yield db
    db.drop()
