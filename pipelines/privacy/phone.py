"""Phone numbers as one spelling per line, so a caller gets one pseudonym at every vendor.

Vendors write the same number many ways: `+44 20 7946 0958`, `0044-20-7946-0958`, `442079460958`
(a JSON number, without its `+`), `sip:+442079460958@carrier.example.net;user=phone`,
`<tel:+44-20-7946-0958>`. `normalized_number` turns each into E.164 (`+442079460958`) where the
text allows it. A national number (`020 7946 0958`: a leading 0, no country) cannot become E.164
without knowing the country, so it is kept as its digits; a SIP user that is not a number
(`sip:frontdesk@pbx.example.com`) is kept as `user@host`, lower case.
"""

from __future__ import annotations

import re

# Written between the digits of a number: spaces, dashes, dots, slashes, parentheses.
_SEPARATORS = re.compile(r"[\s\-./()\u00a0]")
_URI = re.compile(r"^<?\s*(?:sips?|tel):([^@;>?]*)(?:@([^;>?]*))?", re.IGNORECASE)
# E.164: at most 15 digits, the first not 0 (a country code).
_E164_DIGITS = re.compile(r"[1-9]\d{6,14}")
# Bare digits this long, not starting with 0, are an international number without its `+`
# (CINNOX's JSON numbers, SIP users): a national number is at most 10 digits after its 0.
_INTERNATIONAL_WITHOUT_PLUS = re.compile(r"[1-9]\d{10,14}")


def normalized_number(value: str) -> str:
    """The number in E.164 where the text allows it (see the module's docstring)."""
    digits = value[1:] if value[:1] == "+" else value
    if digits.isascii() and digits.isdigit() and 11 <= len(digits) <= 15 and digits[0] != "0":
        return "+" + digits  # E.164 already, or without its + (most values: no parsing needed)
    text = value.strip()
    uri = _URI.match(text)
    host = ""
    if uri:
        text, host = uri.group(1), (uri.group(2) or "").strip().lower()
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+") and _E164_DIGITS.fullmatch(compact[1:]):
        return compact
    if _INTERNATIONAL_WITHOUT_PLUS.fullmatch(compact):
        return "+" + compact
    if compact.isdigit():
        return compact  # national or short: its digits
    # Not a number (a SIP user name): the user and host, as written apart from case.
    return f"{text.strip().lower()}@{host}" if host else text.strip().lower()


def looks_like_number(value: str) -> bool:
    """True for text that is a phone number in one of the spellings above (a display name that
    only repeats the number is pseudonymized as that number)."""
    compact = _SEPARATORS.sub("", value.strip())
    if compact.startswith("+"):
        compact = compact[1:]
    return compact.isdigit() and 6 <= len(compact) <= 15
