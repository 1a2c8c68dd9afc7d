"""What a hostile endpoint echoes back of its URL never reaches the output, in any form."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from noderr_deploy.chain.writeabi import load_abi
from noderr_deploy.errors import InputError
from noderr_deploy.redact import scrub

URL = "http://user:pa%2Fss@127.0.0.1:5/v3/SECRETKEY123?apikey=SECRET2#frag"


@pytest.mark.parametrize(
    "echo",
    [
        "Basic " + base64.b64encode(b"user:pa/ss").decode(),  # the Authorization header
        base64.b64encode(b"user:pa/ss").decode().rstrip("="),
        "user:pa/ss",  # percent-decoded
        "user:pa%2Fss",
        "SECRETKEY123",
        "apikey=SECRET2",
    ],
)
def test_every_form_of_a_url_secret_is_masked(echo: str) -> None:
    shown = scrub(f"bad request ({echo})", URL)
    assert "pa/ss" not in shown and "pa%2Fss" not in shown
    assert "SECRET" not in shown
    assert base64.b64encode(b"user:pa/ss").decode().rstrip("=") not in shown


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/"])
def test_an_abi_that_is_not_a_regular_file_is_refused_before_reading(path: str) -> None:
    with pytest.raises(InputError, match="not a regular file"):
        load_abi(Path(path))


def test_a_huge_abi_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "abi.json"
    with big.open("wb") as out:
        out.truncate(5 << 20)
    with pytest.raises(InputError, match="larger than 4 MB"):
        load_abi(big)
