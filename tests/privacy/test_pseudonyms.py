"""The pseudonym of a value: HMAC-SHA256 of its normalized form, the same by every path."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest

from pipelines.errors import UsageError, redact_secrets
from pipelines.privacy.phone import normalized_number
from pipelines.privacy.pseudonyms import Pseudonyms, chosen_kinds, configured_pseudonyms

KEY = "unit-test-key-0123456789"
ALL = frozenset({"phone_number", "name", "ip_address"})


@pytest.mark.parametrize(
    "written",
    [
        "+44 20 7946 0958",
        "0044-20-7946-0958",
        "442079460958",
        "sip:+442079460958@carrier.example.net;user=phone",
        "<tel:+44-20-7946-0958>",
    ],
)
def test_every_spelling_of_a_number_is_its_e164_form(written: str):
    assert normalized_number(written) == "+442079460958"


def test_national_numbers_and_sip_users_are_kept_as_written_apart_from_separators_and_case():
    assert normalized_number("020 7946 0958") == "02079460958"
    assert normalized_number("sip:FrontDesk@PBX.example.com") == "frontdesk@pbx.example.com"


def test_a_pseudonym_is_the_truncated_hmac_sha256_of_kind_and_normalized_value():
    digest = hmac.new(KEY.encode(), b"phone_number\0+442079460958", hashlib.sha256).hexdigest()
    assert Pseudonyms(KEY, ALL).value("phone_number", 442079460958) == f"tel:ps_{digest[:16]}"
    name = hmac.new(KEY.encode(), b"name\0anna schmidt", hashlib.sha256).hexdigest()
    assert Pseudonyms(KEY, ALL).value("name", " Anna  SCHMIDT") == f"name:ps_{name[:16]}"


@pytest.mark.parametrize("key", [KEY, "k" * 100])  # keys longer than SHA-256's block are hashed first
def test_whole_columns_get_the_same_pseudonyms_as_single_values(key: str):
    numbers = ["+85251234567", "85251234567", "+6581234567", "0044 20 7946 0958", "", None, "020 7946 0958", "sip:+1555@h"]
    addresses = ["10.0.0.1", "203.0.113.10", "::1", "", None, "010.1.1.1", "10.0.0.1", "2001:db8::1"]
    column, one_by_one = Pseudonyms(key, ALL), Pseudonyms(key, ALL)
    table = column.table(pa.table({"n": numbers, "ip": addresses}), {"n": "phone_number", "ip": "ip_address"})
    assert table["n"].to_pylist() == [one_by_one.value("phone_number", v) for v in numbers]
    assert table["ip"].to_pylist() == [one_by_one.value("ip_address", v) for v in addresses]


def test_sip_text_keeps_its_shape_and_loses_numbers_names_and_addresses():
    pseudonyms = Pseudonyms(KEY, ALL)
    text = 'From: "Anna Schmidt" <sip:+4915112345678@203.0.113.10>;tag=12345678\r\nContact: Jean Dupont <sip:4915112345678@10.0.0.7:5060>'
    scrubbed = pseudonyms.scrub_text(text)
    for personal in ("Anna Schmidt", "4915112345678", "203.0.113.10", "Jean Dupont", "10.0.0.7"):
        assert personal not in scrubbed
    number = pseudonyms.value("phone_number", "+4915112345678")
    assert scrubbed.count(number) == 2  # with and without its +: one caller
    assert ";tag=12345678" in scrubbed and ":5060>" in scrubbed


def test_only_the_chosen_kinds_are_replaced():
    numbers_only = Pseudonyms(KEY, frozenset({"phone_number"}))
    assert numbers_only.value("name", "Anna Schmidt") == "Anna Schmidt"
    assert numbers_only.value("ip_address", "10.0.0.1") == "10.0.0.1"
    assert numbers_only.value("name", "+85251234567").startswith("tel:ps_")  # a name that is a number


def test_settings_are_checked_and_the_key_is_kept_secret(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(UsageError, match="PRIVACY__PSEUDONYMIZE: emails"):
        chosen_kinds("phone_numbers, emails")
    monkeypatch.setenv("PRIVACY__PSEUDONYMIZE", "names")
    monkeypatch.delenv("PRIVACY__KEY", raising=False)
    with pytest.raises(UsageError, match="set PRIVACY__KEY"):
        configured_pseudonyms()
    monkeypatch.setenv("PRIVACY__KEY", "short-secret")
    with pytest.raises(UsageError, match="shorter than 16"):
        configured_pseudonyms()
    assert "short-secret" not in redact_secrets("the key short-secret leaked")


def test_the_remembered_pseudonyms_stay_bounded_on_a_long_backfill():
    # Every caller's number is new on a long backfill: remembering them all grew the run by
    # ~250 bytes per number (a million numbers: ~250 MB per cache). The pseudonyms stay right.
    from pipelines.privacy import pseudonyms as module

    made = Pseudonyms(KEY, ALL)
    numbers = [f"+4420{n:08d}" for n in range(120_000)]
    column = made.table(pa.table({"caller": numbers}), {"caller": "phone_number"})["caller"].to_pylist()
    assert max(len(cache) for cache in (*made._made.values(), *made._sent.values())) <= module._CACHE_LIMIT <= 100_000
    one_by_one = [made.value("phone_number", f"0044 20 {n:08d}") for n in range(0, 120_000, 7)]

    assert column[::7] == one_by_one
    assert column[5] == Pseudonyms(KEY, ALL).value("phone_number", numbers[5])
    caches = [*made._made.values(), *made._sent.values()]
    assert max(len(cache) for cache in caches) <= module._CACHE_LIMIT <= 100_000
