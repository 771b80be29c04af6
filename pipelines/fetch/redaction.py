"""Keeping secrets out of what we store and print."""

from __future__ import annotations

import re

# Query parameters that make a URL a bearer credential (S3/GCS/Azure presigning, generic tokens).
SIGNATURE_PARAMS = {
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "signature",
    "sig",
    "token",
    "access_token",
    "se",
    "sp",
    "sv",
    "skoid",
    "sktid",
    "skt",
    "ske",
    "sks",
    "skv",
    "key-pair-id",
    "policy",
}


def unsigned_url(url: str | None) -> str | None:
    """The URL without its signing parameters: still says which file, no longer grants access.

    Works on the raw query text so every other parameter stays byte-for-byte as sent.
    """
    if not url or "?" not in url:
        return url
    head, _, query = url.partition("?")
    query, hash_mark, fragment = query.partition("#")
    kept = [p for p in query.split("&") if p and p.split("=", 1)[0].lower() not in SIGNATURE_PARAMS]
    return head + ("?" + "&".join(kept) if kept else "") + hash_mark + fragment


_SIGNED_PARAM_IN_TEXT = re.compile(
    r"([?&])(" + "|".join(re.escape(p) for p in sorted(SIGNATURE_PARAMS, key=len, reverse=True)) + r")=[^&\s\"'#]*",
    re.IGNORECASE,
)


def strip_signatures_in_text(text: str) -> str:
    """Blank signing parameters of any URL inside free text (raw JSON kept in quarantine)."""
    return _SIGNED_PARAM_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}=REDACTED", text)
