"""Every reporting view against the sandbox's ground truth, after a real load through the CLI."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from tests.views import reference as ref


@pytest.fixture(scope="module")
def truth(loaded):
    return loaded.truth()


@pytest.fixture(scope="module")
def expected_calls(truth):
    return ref.all_calls(truth)


def test_the_load_covers_every_vendor_and_outcome(expected_calls):
    # Guards the comparisons below against passing on empty or one-sided data.
    seen = Counter((c.vendor, c.outcome) for c in expected_calls)
    for vendor in ("cinnox", "bandwidth", "genesys"):
        for outcome in ("answered", "missed"):
            assert seen[(vendor, outcome)] > 10, seen
    assert seen[("cinnox", "failed")] and seen[("genesys", "failed")], seen
    assert seen[("bandwidth", "active")], "the sandbox's 'now' should catch Bandwidth calls in progress"


def test_calls_are_exactly_the_truths_calls_of_every_vendor(loaded, expected_calls):
    rows = loaded.query(f"select {', '.join(ref.CALL_COLUMNS)} from reporting.calls")
    actual = {r[:2]: ref.Call(*r) for r in rows}
    expected = {(c.vendor, c.call_id): c for c in expected_calls}
    assert len(rows) == len(actual), "reporting.calls repeats a (vendor, call_id)"
    assert actual.keys() == expected.keys()
    wrong = [(expected[k], actual[k]) for k in expected if expected[k] != actual[k]]
    assert not wrong, f"{len(wrong)} calls differ, e.g. expected {wrong[0][0]} got {wrong[0][1]}"


def test_counts_per_vendor_and_outcome(loaded, expected_calls):
    actual = dict(((v, o), n) for v, o, n in loaded.query("select vendor, outcome, count(*) from reporting.calls group by all"))
    assert actual == dict(Counter((c.vendor, c.outcome) for c in expected_calls))


def test_daily_calls_per_day_vendor_and_direction(loaded, expected_calls):
    expected = ref.daily_calls(expected_calls, "UTC")
    rows = loaded.query("""select day, vendor, direction, calls, answered, missed, failed, active, unknown,
                                  answer_rate, talk_s_total, talk_s_avg from reporting.daily_calls""")
    actual = {}
    for day, vendor, direction, *figures in rows:
        actual[(day, vendor, direction)] = dict(
            zip(
                ("calls", "answered", "missed", "failed", "active", "unknown", "answer_rate", "talk_s_total", "talk_s_avg"),
                figures,
            )
        )
    assert actual.keys() == expected.keys()
    for key, want in expected.items():
        got = actual[key]
        assert got["talk_s_avg"] == pytest.approx(want.pop("talk_s_avg"), rel=1e-12), key
        got.pop("talk_s_avg")
        assert got == want, key
    assert sum(r["calls"] for r in actual.values()) == len(expected_calls)


def test_talk_seconds_total_per_vendor_is_exact(loaded, expected_calls):
    actual = dict(loaded.query("select vendor, sum(talk_s) from reporting.calls group by vendor"))
    for vendor in ("cinnox", "bandwidth", "genesys"):
        want = sum((c.talk_s for c in expected_calls if c.vendor == vendor and c.talk_s is not None), Decimal(0))
        assert actual[vendor] == want > 0


def test_hourly_concurrency_matches_a_sweep_over_the_truth(loaded, expected_calls):
    expected = ref.hourly_peaks(expected_calls, "UTC")
    actual = {
        (h, v): p for h, v, p in loaded.query("select hour, vendor, peak_concurrent_calls from reporting.hourly_concurrency")
    }
    assert actual == expected
    assert max(expected.values()) > 3


def test_recordings_are_the_truths_files(loaded, truth):
    rows = loaded.query("""select vendor, call_id, event_index, file_index, file_id, file_name, recorder_id, started_at,
                                  ended_at, duration_ms, size_bytes, mime_type, media, is_private from reporting.recordings""")
    expected = ref.recordings(truth["cinnox"])
    assert len(rows) == len(set(rows)) == len(expected) > 50
    assert set(rows) == expected


def test_has_recording_agrees_with_recordings_and_recording_enabled(loaded, truth):
    cinnox = {r[0] for r in loaded.query("select call_id from reporting.calls where vendor = 'cinnox' and has_recording")}
    assert cinnox == {r[1] for r in ref.recordings(truth["cinnox"])}
    bandwidth = {r[0] for r in loaded.query("select call_id from reporting.calls where vendor = 'bandwidth' and has_recording")}
    assert bandwidth == {r["id"] for r in truth["bandwidth"] if r.get("recordingEnabled")}


def test_sip_headers_are_bandwidths_and_genesys_headers(loaded, truth):
    rows = loaded.query("select vendor, call_id, conversation_id, name, value_index, value from reporting.sip_headers")
    expected = ref.sip_headers(truth, loaded.sandbox.truth.genesys_headers)
    assert len(rows) == len(set(rows))
    assert set(rows) == expected
    vendors = Counter(r[0] for r in rows)
    assert vendors["bandwidth"] > 50 and vendors["genesys"] > 50, vendors
    # Values with separators, quotes and non-ASCII come through unchanged.
    assert any("Zürich" in r[5] or "東京" in r[5] for r in rows)


def test_sip_messages_are_the_truths_messages(loaded, truth):
    rows = loaded.query("""select call_id, conversation_id, message_id, sent_at, method, status_code, is_request,
                                  from_user, to_user, source_ip, destination_ip from reporting.sip_messages""")
    assert len(rows) == len(set(rows))
    assert set(rows) == ref.sip_messages(truth["genesys"])
    # Rows the vendor sent without a conversation took their dialog's.
    assert not loaded.query("select count(*) from reporting.sip_messages where conversation_id is null")[0][0]
    assert loaded.query("select count(*) from staging.genesys_sip_messages where conversation_id is null")[0][0]


def test_agent_daily_counts_each_staff_members_calls(loaded, truth):
    expected = ref.agent_daily(truth["cinnox"], "UTC")
    rows = loaded.query(
        "select day, staff_id, display_name, department, calls, answered, talk_s_total from reporting.agent_daily"
    )
    actual = {
        (d, s): {"display_name": n, "department": dep, "calls": c, "answered": a, "talk_s_total": t}
        for d, s, n, dep, c, a, t in rows
    }
    assert actual == expected
    assert len({s for _, s in actual}) >= 15  # the sandbox tenant's roster


def test_genesys_dialogs_decide_outcome_from_the_final_reply(loaded):
    # An auth challenge (407) before the real INVITE does not make an answered call failed.
    rows = loaded.query("""
        select c.outcome, c.status_raw, count(*) from reporting.calls c
        where c.vendor = 'genesys' and exists (select 1 from reporting.sip_messages m
                                               where m.call_id = c.call_id and m.status_code = 407)
        group by all""")
    assert ("answered", "200") in {(o, s) for o, s, _ in rows}, rows


def test_messages_without_type_or_cseq_are_decoded_from_their_method(loaded, truth):
    # Every HomerRecord field is optional (Homer's documented OPTIONS record has no `type` and no
    # `cseq`); the sandbox serves some dialogs that way. Request or reply then comes from `method`.
    bare = {m["id"] for m in truth["genesys"] if "type" not in m and "cseq" not in m}
    assert len(bare) > 20, "the sandbox should serve dialogs without type and cseq"
    rows = loaded.query("select message_id, method, is_request, status_code from reporting.sip_messages")
    decoded = {r[0]: r[1:] for r in rows if r[0] in bare}
    assert decoded.keys() == bare
    assert all(method is not None and is_request is not None for method, is_request, _ in decoded.values())
    assert {is_request for _, is_request, _ in decoded.values()} == {True, False}
    assert all((status is None) == is_request for _, is_request, status in decoded.values())


def test_the_reply_inference_names_the_method_cseq_names_on_every_sandbox_dialog(truth):
    # The rule for a reply without CSeq (after a CANCEL: the CANCEL; else the latest request other
    # than ACK and CANCEL), checked against the real CSeq of every dialog that has one.
    with_cseq = [m for m in truth["genesys"] if m.get("cseq")]
    stripped = [{k: v for k, v in m.items() if k not in ("cseq", "type")} for m in with_cseq]
    inferred = ref.cseq_methods(stripped)
    actual = {(m["id"], m["date"]): m["cseq"].split()[1].upper() for m in with_cseq}
    assert len(actual) > 1000
    wrong = {i: (actual[i], inferred[i]) for i in actual if actual[i] != inferred[i]}
    assert not wrong, f"{len(wrong)} of {len(actual)} differ, e.g. {next(iter(wrong.items()))}"
