"""The skip-or-fail rule for missing components (pure: needs no component)."""

from __future__ import annotations

import pytest

from tests.support.components import in_ci, require


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("0", False), ("false", False), ("False", False), ("true", True), ("1", True)],
)
def test_in_ci_reads_the_ci_variable(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected


def test_in_ci_is_false_without_the_variable() -> None:
    assert in_ci({}) is False


def test_require_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="anvil unavailable: run npm ci"):
        require("anvil", "run npm ci")


def test_require_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="anvil unavailable: run npm ci"):
        require("anvil", "run npm ci")
