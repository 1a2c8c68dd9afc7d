"""A second Docker registry, with HTTP basic authentication, for the credential tests.

Debian's ``docker-registry`` is started on a free loopback port with an htpasswd file. The
daemon talks plain HTTP to any registry on 127.0.0.0/8 (loopback registries are insecure
by default), and sends the credentials ``noderr build`` passes with each push.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.components import free_port, registry_status

USER = "ci-pusher"
PASSWORD = "s3cret-for-tests"  # a test registry's, on loopback only
HTPASSWD = f"{USER}:$2b$04$K6flLiPycQw1RVWHzR1V1.g9bKEp2f7vP3TqrtsZHwX9KtciMlome\n"
"""bcrypt of PASSWORD (cost 4, the cheapest bcrypt allows; the registry accepts only bcrypt),
made once with Python 3.11's crypt module: crypt.crypt(PASSWORD, crypt.mksalt(
crypt.METHOD_BLOWFISH, rounds=16))."""

CONFIG = """\
version: 0.1
log: {{level: warn}}
storage: {{filesystem: {{rootdirectory: {data}}}}}
http: {{addr: "{address}", secret: noderr-test-auth-registry}}
auth: {{htpasswd: {{realm: noderr-test, path: {htpasswd}}}}}
"""


class AuthRegistryError(RuntimeError):
    """The registry could not be started (missing binary, or it did not answer)."""


@contextmanager
def auth_registry(root: Path, timeout: float = 20.0) -> Iterator[str]:
    """Run a registry that wants USER/PASSWORD under ``root``; yield its ``host:port``."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise AuthRegistryError("docker-registry not found: install the docker-registry package")
    address = f"127.0.0.1:{free_port()}"
    (root / "htpasswd").write_text(HTPASSWD)
    config = root / "config.yml"
    config.write_text(
        CONFIG.format(data=root / "data", address=address, htpasswd=root / "htpasswd")
    )
    log = (root / "registry.log").open("wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + timeout
        while registry_status(address, timeout=1) != 401:  # up, and asking who we are
            if process.poll() is not None or time.monotonic() > deadline:
                raise AuthRegistryError(
                    f"registry on {address} did not start: {(root / 'registry.log').read_text()}"
                )
            time.sleep(0.05)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
