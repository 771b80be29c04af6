"""Vendor JSON that the fast decoder refuses, decoded so that one bad record costs only itself.

orjson refuses a whole body for one string that is not valid Unicode: a lone surrogate escape
(`"\\ud800"`, valid JSON syntax) or raw bytes that are not UTF-8. Refusing the body would retry
the page until the tries run out and lose every good record of its window. Such a body is
decoded again here by Python's json (which keeps those characters as surrogates), and each
record holding one is replaced by an `Undecodable`, which the flatteners quarantine whole with
its reason (fetch/records.py), while the rest of the page loads. A body that is not JSON at all
(an HTML error page, a cut body) is still refused, and retried by the HTTP client.

orjson also reads an integer beyond 64 bits as a float, so a 30-digit id sent as a JSON number
would load with its last digits wrong. A body holding a JSON number of 19 or more digits (the shortest
integer orjson may round) is decoded here too: Python's json keeps every integer exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipelines import JSON

# Digits in a row from which orjson may read a JSON integer as a float (below -2**63, above 2**64-1).
_NUMBER_RUN = b":" + b"0" * 19
_NEGATIVE_RUN = b":-" + b"0" * 19
_NUMBER_SHAPES = bytes(
    ord("0") if chr(byte) in "0123456789" else ord(":") if chr(byte) in ":,[" else ord("-") if chr(byte) == "-" else ord("x")
    for byte in range(256)
)


@dataclass(frozen=True)
class Undecodable:
    """A record that holds text no warehouse can store. `record` is the record with each such
    character written out as its escape (`\\ud800`, or `\\xff` for a byte that is not UTF-8), so it
    can be kept as JSON text; `reason` is the quarantine reason."""

    record: JSON
    reason: str


class NotJSON(ValueError):
    """The body is not JSON even when decoded leniently."""


def may_hold_rounded_integers(content: bytes) -> bool:
    """Whether `content` has a JSON number of 19 or more digits, which orjson might read as a
    float. One pass maps digits to one byte, the bytes a number can follow (`:` `,` `[`) to another
    and drops whitespace, then two substring searches: ~0.5 ms for a 500-call page. Digits inside a
    string are skipped unless they follow one of those bytes there too (a false yes only costs the
    slower decoder); ids written as strings of digits, which vendors send, are not numbers."""
    shape = content.translate(_NUMBER_SHAPES, b" \t\r\n")
    return _NUMBER_RUN in shape or _NEGATIVE_RUN in shape


def decode_leniently(content: bytes) -> Any:
    """The body with each record (an element of the outermost list) that holds undecodable text
    replaced by an `Undecodable`. Raises NotJSON when the body is not JSON, or when undecodable
    text is outside any list (no record to set aside: the body as a whole is unusable)."""
    try:
        text, from_bytes = content.decode("utf-8"), False
    except UnicodeDecodeError:
        # Bytes that are not UTF-8 become surrogates U+DC80..U+DCFF, told apart below.
        text, from_bytes = content.decode("utf-8", "surrogateescape"), True
    try:
        # strict=False: control characters inside strings (a raw NUL) are data, not a broken body.
        body = json.loads(text, strict=False)
    except ValueError as exc:
        raise NotJSON(str(exc)) from None
    return _set_aside(body, from_bytes, "")


def _set_aside(value: JSON, from_bytes: bool, where: str) -> Any:
    if isinstance(value, list):
        return [_record(item, from_bytes) for item in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            if _bad_text(key) or (isinstance(item, str) and _bad_text(item)):
                raise NotJSON(f"{path}: text that is not valid Unicode outside any record")
            out[key] = _set_aside(item, from_bytes, path) if isinstance(item, (list, dict)) else item
        return out
    if isinstance(value, str) and _bad_text(value):
        raise NotJSON("text that is not valid Unicode outside any record")
    return value


def _record(record: JSON, from_bytes: bool) -> JSON | Undecodable:
    where = _first_bad(record, "", from_bytes)
    if where is None:
        return record
    path, char = where
    what = (
        f"a byte that is not UTF-8 (0x{ord(char) - 0xDC00:02x})"
        if from_bytes and "\udc80" <= char <= "\udcff"
        else f"a lone surrogate (\\u{ord(char):04x})"
    )
    return Undecodable(_escaped(record, from_bytes), f"{path or 'record'}: text is not valid Unicode: {what}")


def _first_bad(value: JSON, path: str, from_bytes: bool) -> tuple[str, str] | None:
    """(path, first bad character) of the first string holding text that is not valid Unicode."""
    if isinstance(value, str):
        char = _bad_char(value)
        return (path, char) if char else None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_bad(item, f"{path}[{index}]", from_bytes)
            if found:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            char = _bad_char(key)
            if char:
                key = _escape_text(key, from_bytes)
                return (f"{path}.{key}" if path else key, char)
            found = _first_bad(item, f"{path}.{key}" if path else key, from_bytes)
            if found:
                return found
    return None


def _bad_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _bad_char(text: str) -> str:
    if not _bad_text(text):
        return ""
    return next(c for c in text if "\ud800" <= c <= "\udfff")


def _escaped(value: JSON, from_bytes: bool) -> JSON:
    if isinstance(value, str):
        return _escape_text(value, from_bytes)
    if isinstance(value, list):
        return [_escaped(v, from_bytes) for v in value]
    if isinstance(value, dict):
        return {_escape_text(k, from_bytes): _escaped(v, from_bytes) for k, v in value.items()}
    return value


def _escape_text(text: str, from_bytes: bool) -> str:
    if not _bad_text(text):
        return text
    return "".join(_escape_char(c, from_bytes) if "\ud800" <= c <= "\udfff" else c for c in text)


def _escape_char(char: str, from_bytes: bool) -> str:
    if from_bytes and "\udc80" <= char <= "\udcff":
        return f"\\x{ord(char) - 0xDC00:02x}"
    return f"\\u{ord(char):04x}"
