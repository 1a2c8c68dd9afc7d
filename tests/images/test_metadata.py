"""``--from-metadata``: the build metadata file is trusted no more than any input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from noderr_deploy.errors import InputError
from noderr_deploy.images.registry import read_build_metadata

DIGEST = "sha256:" + "a" * 64


def entry(tier: str = "oracle", tags: object = ("r/x:4.0.0-oracle",)) -> dict[str, object]:
    tags = list(tags) if isinstance(tags, tuple) else tags
    return {"tier": tier, "tags": tags, "digest": DIGEST, "pushed": True}


def read(tmp_path: Path, document: object) -> object:
    path = tmp_path / "build.json"
    path.write_text(json.dumps(document))
    return read_build_metadata(path, "oracle")


def test_one_entry_is_read(tmp_path: Path) -> None:
    image = read(tmp_path, [entry(), entry("all", ("r/x:4.0.0-all",))])
    assert (image.repository, image.tag, image.digest) == ("r/x", "4.0.0-oracle", DIGEST)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([entry(), entry(tags=("r/x:5.0.0-oracle",))], "tier 'oracle' stands 2 times"),
        ([entry(tags="r/x:1")], "tags is not a list of image references"),
        ([entry(tags=[1])], "tags is not a list of image references"),
        ([entry(tags=[])], "tier 'oracle' has no tags"),
    ],
)
def test_an_ambiguous_or_odd_entry_is_one_error(
    tmp_path: Path, document: object, message: str
) -> None:
    # A hostile review: a tier given twice was resolved silently (the last one won).
    with pytest.raises(InputError, match=message):
        read(tmp_path, document)
