"""Keeping secrets out of what we store and print."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that make a URL a bearer credential (S3/GCS/Azure presigning, generic tokens).
SIGNATURE_PARAMS = {
    "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature",
    "x-goog-credential", "signature", "sig", "token", "access_token", "se", "sp", "sv", "skoid",
    "sktid", "skt", "ske", "sks", "skv", "key-pair-id", "policy",
}


def unsigned_url(url: str | None) -> str | None:
    """The URL without its signing parameters: still says which file, no longer grants access."""
    if not url or "?" not in url:
        return url
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in SIGNATURE_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(kept)))
