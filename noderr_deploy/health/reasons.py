"""Operator-friendly reasons for a malformed record, from msgspec's messages."""

from __future__ import annotations

import re

import msgspec


def decode_failure(raw: bytes, exc: Exception) -> tuple[None, str]:
    """Why a record is not JSON: invalid UTF-8, or msgspec's reason."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return None, f"invalid UTF-8 (byte {bad.start + 1} of the record)"
    return None, plain_reason(str(exc))


_REQUIRED = ("nodeId", "version", "timestamp")


def missing_fields(raw: bytes, message: str) -> str:
    """Every required field a record lacks (msgspec names only the first)."""
    try:
        document = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return plain_reason(message)
    if not isinstance(document, dict):
        return plain_reason(message)
    missing = [f for f in _REQUIRED if f not in document]
    if len(missing) < 2:
        return plain_reason(message)
    return "missing fields " + ", ".join(f"'{f}'" for f in missing)


_PATH = re.compile(r" - at `\$\.?(.*)`$")


_WORDS = {
    "`float`": "a number",
    "`int`": "an integer",
    "`str`": "a string",
    "`object`": "an object",
    "`array`": "an array",
    "`null`": "null",
    "`bool`": "a boolean",
    "`float | datetime`": "a datetime or a number",
    "`float | null`": "a number",
}


def error_path(message: str) -> str | None:
    match = _PATH.search(message)
    return match.group(1) if match else None


def plain_reason(message: str) -> str:
    """msgspec's message made operator-friendly: ``metrics.cpu: expected a number <= 100``."""
    path = error_path(message)
    text = _PATH.sub("", message)
    for word, plain in _WORDS.items():
        text = text.replace(word, plain)
    text = re.sub(r"(\d+)\.0\b", r"\1", text)
    # msgspec counts bytes from 0; editors count from 1.
    text = re.sub(r"\(byte (\d+)\)", lambda m: f"(byte {int(m.group(1)) + 1})", text)
    missing = re.match(r"Object missing required field `(.*)`", text)
    if missing:
        text = f"missing field '{missing.group(1)}'"
    elif text.startswith("JSON is malformed: "):
        text = "bad JSON: " + text.removeprefix("JSON is malformed: ")
    elif text == "Input data was truncated":
        text = "bad JSON: the record is cut off"
    else:
        text = text[:1].lower() + text[1:]
    return f"{path}: {text}" if path else text
