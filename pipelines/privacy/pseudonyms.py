"""Keyed pseudonyms for phone numbers, names and IP addresses, made before anything is written.

`PRIVACY__PSEUDONYMIZE` chooses the kinds (`phone_numbers`, `names`, `ip_addresses`) and
`PRIVACY__KEY` is the key. A value becomes `<kind>:ps_<16 hex>`: the first 64 bits of
HMAC-SHA256(key, kind + NUL + normalized value), e.g. `tel:ps_3f9a1c2b7d0e4a61`. Normalized first
(numbers in E.164, phone.py; names without case and extra spaces; IPs in their canonical form),
so one caller has one pseudonym at every vendor and on every run; 64 bits keep a million callers
apart (the chance of any two sharing one is about 3 in 100,000). Without the key the pseudonyms
cannot be reversed or recomputed.

Each vendor declares the kind of every personal column (Vendor.personal_data); free text that may
carry any of them (a SIP message, a header value, an error) has its numbers, IPv4 addresses and
SIP display names replaced inside the text (`scrub_text`). docs/privacy.md lists them all.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Literal

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from pipelines import JSON
from pipelines.errors import UsageError, register_secret
from pipelines.fetch.records import column_name
from pipelines.privacy.phone import looks_like_number, normalized_number
from pipelines.settings import resolve, setting_name

# What a personal column holds: the kinds users choose, and SIP text that may carry any of them.
PersonalKind = Literal["phone_number", "name", "ip_address", "sip_text"]

# The words of PRIVACY__PSEUDONYMIZE -> the kind they pseudonymize.
CHOICES: dict[str, PersonalKind] = {"phone_numbers": "phone_number", "names": "name", "ip_addresses": "ip_address"}
PREFIX = {"phone_number": "tel", "name": "name", "ip_address": "ip"}
HEX_DIGITS = 16  # 64 bits
PSEUDONYMIZE_SETTING = setting_name("privacy", "pseudonymize")
KEY_SETTING = setting_name("privacy", "key")
# A key shorter than this is a password, guessable by trying: HMAC's strength is the key's.
MIN_KEY_LENGTH = 16
_FINGERPRINT_LABEL = b"callhouse privacy key fingerprint v1"
# Values remembered per kind (callers repeat, and a pseudonym costs an HMAC), then forgotten all at
# once. Each costs ~250 bytes: a million (the old bound) grew a long backfill by ~250 MB per cache,
# with every caller's number new; 50,000 keeps each under ~15 MB and still holds the numbers that
# repeat (staff, queues) across a day of pages.
_CACHE_LIMIT = 50_000


@configspec
class PrivacySettings(BaseConfiguration):
    pseudonymize: str | None = None  # comma list of CHOICES
    key: TSecretStrValue | None = None


class Pseudonyms:
    """The chosen kinds and the key; turns values, free text and whole Arrow tables into pseudonyms."""

    def __init__(self, key: str, kinds: frozenset[PersonalKind]):
        self._key = key.encode()
        # The key's HMAC state, made once: each value copies it (half the cost of a fresh HMAC).
        self._keyed = hmac.new(self._key, digestmod=hashlib.sha256)
        self.kinds = kinds
        # Per kind: normalized value -> pseudonym, and value as sent -> pseudonym. Values repeat
        # across columns and pages (a caller's number is also their display name, a staff
        # member's number is on many calls), so most are found as sent, without normalizing.
        self._made: dict[str, dict[str, str]] = {kind: {} for kind in PREFIX}
        self._sent: dict[str, dict[str, str]] = {kind: {} for kind in PREFIX}
        normalize = {"phone_number": normalized_number, "ip_address": _normalized_ip, "name": _normalized_name}
        self._convert = {kind: self._converter(kind, normalize[kind]) for kind in PREFIX}
        self._duck: duckdb.DuckDBPyConnection | None = None  # hashes whole columns (_many)

    # --- one value ---------------------------------------------------------------------------

    def pseudonym(self, kind: PersonalKind, normalized: str) -> str:
        made = self._made[kind]
        found = made.get(normalized)
        if found is None:
            mac = self._keyed.copy()
            mac.update(f"{kind}\0{normalized}".encode())
            digest = mac.hexdigest()
            found = f"{PREFIX[kind]}:ps_{digest[:HEX_DIGITS]}"
            if len(made) >= _CACHE_LIMIT:
                made.clear()
            made[normalized] = found
        return found

    def _converter(self, kind: str, normalize: Callable[[str], str]) -> Callable[[str], str]:
        sent, pseudonym = self._sent[kind], self.pseudonym

        def convert(text: str) -> str:
            found = sent.get(text)
            if found is None:
                if len(sent) >= _CACHE_LIMIT:
                    sent.clear()
                found = sent[text] = pseudonym(kind, normalize(text))  # type: ignore[arg-type]
            return found

        return convert

    def value(self, kind: PersonalKind, value: JSON) -> JSON:
        """The value as it may be stored: its pseudonym where its kind is chosen. Empty values
        stay empty (the views read '' as absent)."""
        if value is None or value == "":
            return value
        if kind == "sip_text":
            return self.scrub_text(value) if isinstance(value, str) else value
        text = value if isinstance(value, str) else str(value)  # numbers sent as JSON numbers
        if kind == "name" and "phone_number" in self.kinds and looks_like_number(text):
            kind = "phone_number"  # a display name that only repeats the number
        if kind not in self.kinds:
            return value
        return self._convert[kind](text)

    def scrub_text(self, text: str) -> str:
        """Free text with the chosen kinds replaced where they occur in it: quoted and bare SIP
        display names, numbers of 7 to 15 digits (with or without `+`), IPv4 addresses."""
        if not text:
            return text
        return _TEXT_PATTERN.sub(self._replace_match, text)

    def _replace_match(self, match: re.Match[str]) -> str:
        group = match.lastgroup or ""  # every alternative of _TEXT_PATTERN is a named group
        found = match.group(group)
        kind = _TEXT_KINDS[group]
        replaced = self.value(kind, found) if kind != "name" or not found.strip().startswith(("tel:", "name:", "ip:")) else found
        start, end = match.span(group)
        whole_start, whole_end = match.span()
        return match.string[whole_start:start] + str(replaced) + match.string[end:whole_end]

    # --- whole tables, where every row passes before dlt sees it -----------------------------

    def table(self, arrow: pa.Table, columns: Mapping[str, PersonalKind]) -> pa.Table:
        """The table with each personal column (by warehouse column name) replaced."""
        for name, kind in columns.items():
            if name in arrow.column_names:
                arrow = arrow.set_column(arrow.column_names.index(name), name, self._column(arrow[name], kind))
        return arrow

    def _column(self, column: pa.ChunkedArray, kind: PersonalKind) -> pa.Array:
        if column.null_count == len(column) or not pa.types.is_string(column.type):
            return column.combine_chunks()
        # Each distinct value once: a page repeats its own numbers and names many times.
        encoded = pc.dictionary_encode(column.combine_chunks())
        if kind in _WRITTEN_NORMALIZED and kind in self.kinds:
            replaced = self._many(kind, encoded.dictionary)
        else:
            replaced = pa.array([self.value(kind, v) for v in encoded.dictionary.to_pylist()], pa.string())
        return replaced.take(encoded.indices)

    def _many(self, kind: PersonalKind, uniques: pa.Array) -> pa.Array:
        """Pseudonyms of many distinct numbers or addresses: those already written normalized
        (the usual case) are normalized by Arrow and hashed by DuckDB's C++, the rest one by one
        as `value` does. A caller's number is unique to them, so most values need a new HMAC:
        done one by one in Python it was most of the cost of pseudonymizing."""
        usual = pc.fill_null(pc.match_substring_regex(uniques, _WRITTEN_NORMALIZED[kind]), False)
        normalized = pc.filter(uniques, usual)
        if kind == "phone_number":  # + and the digits (CINNOX sends some without their +)
            normalized = pc.binary_join_element_wise("+", pc.utf8_ltrim(normalized, characters="+"), "")
        hashed = iter(self._hmac_many(kind, normalized).to_pylist())
        convert, sent = self._convert[kind], self._sent[kind]
        out = []
        for value, fast in zip(uniques.to_pylist(), usual.to_pylist()):
            if fast:
                if len(sent) >= _CACHE_LIMIT:
                    sent.clear()
                # remembered as sent: the same number may come again as a display name
                made = sent[value] = next(hashed)
                out.append(made)
            else:
                out.append(convert(value) if value else value)
        return pa.array(out, pa.string())

    def _hmac_many(self, kind: PersonalKind, normalized: pa.Array) -> pa.Array:
        """pseudonym(kind, v) for each v, computed as HMAC-SHA256 is defined (RFC 2104) by DuckDB."""
        if self._duck is None:
            self._duck = duckdb.connect()
            self._duck.execute("set threads = 1")  # small batches; the load's own threads are busy
        block = self._key if len(self._key) <= 64 else hashlib.sha256(self._key).digest()
        inner, outer = (bytes(b ^ pad for b in block.ljust(64, b"\0")).hex() for pad in (0x36, 0x5C))
        label = f"{kind}\0".encode().hex()
        values = pa.table({"v": normalized})  # noqa: F841 (read by DuckDB by its name)
        sql = (
            f"select '{PREFIX[kind]}:ps_' || left(sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || "
            f"unhex('{label}') || encode(v)))), {HEX_DIGITS}) as p from values"
        )
        return self._duck.execute(sql).to_arrow_table()["p"].combine_chunks()

    def quarantine(self, arrow: pa.Table, fields_by_table: Mapping[str, Mapping[str, PersonalKind]]) -> pa.Table:
        """Quarantine rows keep the raw record: its personal fields (by the table it was meant
        for, `resource`) are replaced inside it, and its reason's free text is scrubbed."""
        if not arrow.num_rows:
            return arrow
        resources = arrow["resource"].to_pylist()
        raws = arrow["raw_json"].to_pylist()
        replaced = [self._raw_record(raw, fields_by_table.get(resource)) for raw, resource in zip(raws, resources)]
        arrow = arrow.set_column(arrow.column_names.index("raw_json"), "raw_json", pa.array(replaced, pa.string()))
        return self.table(arrow, {"reason": "sip_text"})

    def _raw_record(self, raw: str | None, fields: Mapping[str, PersonalKind] | None) -> str | None:
        if raw is None:
            return raw
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self.scrub_text(raw)
        if not isinstance(record, dict) or fields is None:
            return orjson.dumps(self._every_string(record), option=orjson.OPT_SORT_KEYS).decode()
        return orjson.dumps(self._declared(record, fields), option=orjson.OPT_SORT_KEYS).decode()

    def _declared(self, value: JSON, fields: Mapping[str, PersonalKind]) -> JSON:
        """Declared fields by their kind at any depth (recordings, nested maps); a declared field
        holding an object or list is free text throughout."""
        if isinstance(value, list):
            return [self._declared(v, fields) for v in value]
        if not isinstance(value, dict):
            return value
        out: dict[str, JSON] = {}
        for key, item in value.items():
            kind = fields.get(key)
            if kind is None:
                out[key] = self._declared(item, fields)
            elif isinstance(item, (dict, list)):
                out[key] = self._every_string(item)
            else:
                out[key] = self.value(kind, item)
        return out

    def _every_string(self, value: JSON) -> JSON:
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, list):
            return [self._every_string(v) for v in value]
        if isinstance(value, dict):
            return {k: self._every_string(v) for k, v in value.items()}
        return value

    # --- the key ------------------------------------------------------------------------------

    def fingerprint(self) -> str:
        """Says which key made the pseudonyms without telling the key: stored in the warehouse."""
        return hmac.new(self._key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:32]


_CANONICAL_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")


# Values already written as their normalized form (or an international number without its +):
# those _many hashes without looking at them one by one.
_WRITTEN_NORMALIZED: dict[str, str] = {
    "phone_number": r"^(\+[1-9][0-9]{6,14}|[1-9][0-9]{10,14})$",  # as phone.normalized_number
    "ip_address": r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$",
}


def _normalized_name(text: str) -> str:
    return " ".join(text.split()).casefold()


def _normalized_ip(text: str) -> str:
    if _CANONICAL_IPV4.fullmatch(text):
        return text  # already as ipaddress would write it (the usual case, and much cheaper)
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return text.strip().lower()


# Quoted display names (`"Anna Schmidt" <sip:...>`), bare ones (`Anna Schmidt <sip:...>`, at the
# start of a value or after a comma), numbers not glued to letters, digits or dots (so ids, tags,
# ports, versions and IPv4 parts stay), IPv4 addresses.
_TEXT_PATTERN = re.compile(
    r'"(?P<quoted>[^"\r\n]+)"\s*<(?=sips?:|tel:)'
    r"|(?:^|(?<=,)|(?<=: ))\s*(?P<bare>[^\s<>\",;:=][^<>\",;:=\r\n]*?)\s+<(?=sips?:|tel:)"
    r"|(?<![\w.+=])(?P<number>\+?\d{7,15})(?![\w.])"
    r"|(?<![\w.])(?P<ip>(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})(?![\w.])",
    re.MULTILINE,
)
_TEXT_KINDS: dict[str, PersonalKind] = {"quoted": "name", "bare": "name", "number": "phone_number", "ip": "ip_address"}


def privacy_settings() -> PrivacySettings:
    return resolve(PrivacySettings(), "privacy")


def chosen_kinds(text: str | None) -> frozenset[PersonalKind]:
    words = [w.strip().lower() for w in (text or "").split(",") if w.strip()]
    unknown = [w for w in words if w not in CHOICES]
    if unknown:
        raise UsageError(f"{PSEUDONYMIZE_SETTING}: {', '.join(unknown)} is not one of {', '.join(CHOICES)} (a comma list)")
    return frozenset(CHOICES[w] for w in words)


def configured_pseudonyms() -> Pseudonyms | None:
    """The pseudonyms the settings ask for, or None when nothing is to be pseudonymized. The key
    is registered as a secret: no message prints it."""
    settings = privacy_settings()
    kinds = chosen_kinds(settings.pseudonymize)
    if not kinds:
        return None
    key = str(settings.key or "")
    if not key.strip():
        raise UsageError(
            f"{PSEUDONYMIZE_SETTING} is set: set {KEY_SETTING} too (a secret of at least {MIN_KEY_LENGTH} characters)"
        )
    register_secret(key)
    if len(key) < MIN_KEY_LENGTH:
        raise UsageError(f"{KEY_SETTING}: shorter than {MIN_KEY_LENGTH} characters; use a long random secret")
    return Pseudonyms(key, kinds)


def table_columns(personal_data: Mapping[str, Mapping[str, PersonalKind]]) -> dict[str, dict[str, PersonalKind]]:
    """A vendor's declaration (vendor fields per table) as warehouse column names per table."""
    return {table: {column_name(f): kind for f, kind in fields.items()} for table, fields in personal_data.items()}


def batch_pseudonymizer(
    pseudonyms: Pseudonyms, personal_data: Mapping[str, Mapping[str, PersonalKind]], quarantine_table: str = "quarantine"
) -> Callable[[str, pa.Table], pa.Table]:
    """What the window walk applies to each Arrow page of a vendor's tables: (table, page) -> page."""
    columns = table_columns(personal_data)

    def pseudonymize(table: str, arrow: pa.Table) -> pa.Table:
        if table == quarantine_table:
            return pseudonyms.quarantine(arrow, personal_data)
        declared = columns.get(table)
        return pseudonyms.table(arrow, declared) if declared else arrow

    return pseudonymize
