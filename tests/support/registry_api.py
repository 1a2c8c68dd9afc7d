"""Put an image straight into a test registry through its v2 API (no Docker engine needed).

The image is a config blob and a manifest without layers: enough for a manifest lookup,
which is all ``noderr publish`` does with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
from urllib.parse import urljoin

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def _request(
    method: str,
    url: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers)


def push_test_image(
    registry: str, name: str, tag: str, *, label: str = "", auth: tuple[str, str] | None = None
) -> str:
    """Push a one-blob image as ``registry/name:tag``; return its manifest digest.

    ``label`` makes the config (and so the digest) differ between pushes of the same tag.
    """
    base = f"http://{registry}"
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"t": label}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    ).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    _, headers = _request("POST", f"{base}/v2/{name}/blobs/uploads/", b"", auth=auth)
    location = urljoin(base, headers["Location"])
    separator = "&" if "?" in location else "?"
    _request(
        "PUT",
        f"{location}{separator}digest={config_digest}",
        config,
        {"Content-Type": "application/octet-stream"},
        auth=auth,
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": config_digest,
            },
            "layers": [],
        }
    ).encode()
    _, headers = _request(
        "PUT",
        f"{base}/v2/{name}/manifests/{tag}",
        manifest,
        {"Content-Type": MANIFEST_V2},
        auth=auth,
    )
    return headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(manifest).hexdigest()
