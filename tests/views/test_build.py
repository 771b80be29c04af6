"""`callhouse views`: order, missing sources, failures, and the YAML contract of every view."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines import cli as cli_module
from pipelines.models import project as views
from pipelines.models.project import LAYERS, ViewBuildError, load_models
from pipelines.models.views import build_views
from pipelines.warehouse.duckdb_file import DuckDBFile
from pipelines.warehouse.layout import RAW_SCHEMAS
from tests.conftest import Cli
from tests.views.conftest import check

CONTRACT = {
    "calls": [
        "vendor",
        "call_id",
        "direction",
        "from_number",
        "to_number",
        "started_at",
        "answered_at",
        "ended_at",
        "ring_s",
        "talk_s",
        "outcome",
        "status_raw",
        "has_recording",
    ],
    "daily_calls": [
        "day",
        "vendor",
        "direction",
        "calls",
        "answered",
        "missed",
        "failed",
        "answer_rate",
        "talk_s_total",
        "talk_s_avg",
    ],
    "recordings": ["vendor", "call_id", "recorder_id", "started_at", "ended_at", "duration_ms", "size_bytes", "mime_type"],
    "sip_headers": ["vendor", "call_id", "name", "value"],
    "sip_messages": [
        "call_id",
        "conversation_id",
        "sent_at",
        "method",
        "status_code",
        "is_request",
        "from_user",
        "to_user",
        "source_ip",
        "destination_ip",
    ],
    "hourly_concurrency": ["hour", "vendor", "peak_concurrent_calls"],
    "agent_daily": ["day", "staff_id", "display_name", "department", "calls", "answered", "talk_s_total"],
}
# Views beyond the contract's list (documented in sql/README.md).
BEYOND_CONTRACT = {"loaded_ranges": ["vendor", "loaded_from", "loaded_until"]}


def columns(cli: Cli, qualified: str) -> list[tuple[str, str]]:
    schema, name = qualified.split(".")
    return [
        (c, t.lower())
        for c, t in cli.query(
            "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, name],
        )
    ]


def test_reporting_has_the_contracts_views_and_columns(loaded):
    built = {n for (n,) in loaded.query("select table_name from information_schema.tables where table_schema = 'reporting'")}
    assert built == set(CONTRACT) | set(BEYOND_CONTRACT)
    for view, wanted in {**CONTRACT, **BEYOND_CONTRACT}.items():
        have = [c for c, _ in columns(loaded.cli, f"reporting.{view}")]
        assert set(wanted) <= set(have), (view, set(wanted) - set(have))


def test_every_view_column_is_documented_in_its_yaml_and_staging_types_match(loaded):
    for model in load_models():
        have = columns(loaded.cli, model.qualified)
        documented = [c["name"] for c in model.columns]
        assert [c for c, _ in have] == documented, model.where
        assert model.spec.get("description"), model.where
        assert all(c.get("description") for c in model.columns), model.where
        if model.schema == "staging" and model.raw_refs:
            # The types a missing raw table's stand-in gets are the real ones.
            assert [t for _, t in have] == [c["data_type"] for c in model.columns], model.where


def test_each_file_is_one_select_and_layers_read_only_the_layer_below():
    for model in load_models():
        body = re.sub(r"'(?:[^']|'')*'", "''", re.sub(r"--[^\n]*", "", model.sql)).strip()
        if model.sql_path is None:
            continue
        assert ";" not in body.rstrip(";"), model.where
        assert re.match(r"^(with|select)\b", body, re.I), model.where
        if model.schema == "staging":
            assert {s for s, _ in model.model_refs} <= {"staging"}, model.where
        else:
            assert not model.raw_refs, f"{model.where} reads raw tables; go through staging"
        if model.schema == "intermediate":
            assert {s for s, _ in model.model_refs} <= {"staging", "intermediate"}, model.where


def test_views_build_after_the_views_they_reference():
    order = [m.qualified for m in load_models()]
    assert order[0] == "staging.reporting_settings"
    for position, model in enumerate(load_models()):
        for schema, name in model.model_refs:
            assert order.index(f"{schema}.{name}") < position, (model.qualified, schema, name)


def test_run_rebuilt_the_views_after_loading(loaded):
    # The shared warehouse only ever saw `backfill` then `run`: the views are run's.
    assert loaded.query("select count(*) from reporting.calls")[0][0] > 1000


def test_views_build_on_an_empty_warehouse_and_are_empty(tmp_path):
    cli = Cli(None, tmp_path, {"REPORTING__TIMEZONE": "UTC"})
    result = cli("views")
    assert result.returncode == 0, result.output
    # (its committed loads come from staging.committed_loads, which has no rows for bandwidth yet)
    assert "views: staging.bandwidth_calls is empty: bandwidth.calls not loaded yet" in result.output
    for view in CONTRACT:
        assert cli.query(f"select count(*) from reporting.{view}") == [(0,)]
    checked = cli("check")
    assert checked.returncode == 0, checked.output
    assert "skipped (not loaded)" in checked.output


def test_views_build_for_the_sources_that_are_loaded(loaded):
    cli = loaded.copy("cinnox_only")
    con = duckdb.connect(str(cli.warehouse))
    con.execute("drop schema bandwidth cascade")
    con.execute("drop schema genesys cascade")
    con.close()
    result = cli("views")
    assert result.returncode == 0, result.output
    assert "staging.genesys_sip_messages is empty" in result.output
    assert "staging.cinnox_call_detail is empty" not in result.output
    by_vendor = dict(cli.query("select vendor, count(*) from reporting.calls group by vendor"))
    assert by_vendor == {"cinnox": loaded.query("select count(*) from reporting.calls where vendor = 'cinnox'")[0][0]}
    assert cli.query("select count(*) from reporting.sip_messages") == [(0,)]
    # The stand-in keeps the real column types.
    assert columns(cli, "staging.bandwidth_calls") == columns(loaded.cli, "staging.bandwidth_calls")
    assert check(cli).returncode == 0


def test_views_read_only_committed_loads(loaded):
    cli = loaded.copy("uncommitted")
    con = duckdb.connect(str(cli.warehouse))
    # A row of a load that never finished (no committed _dlt_loads row), as a kill -9 can leave.
    con.execute(
        "insert into cinnox.call_detail select * replace ('uncommitted-1' as id, '999.1' as _dlt_load_id) "
        "from cinnox.call_detail limit 1"
    )
    con.close()
    assert cli.query("select count(*) from reporting.calls where call_id = 'uncommitted-1'") == [(0,)]
    assert cli.query("select count(*) from cinnox.call_detail where id = 'uncommitted-1'") == [(1,)]


def _broken_sql_dir(tmp_path: Path) -> Path:
    sql = tmp_path / "sql"
    shutil.copytree(views.SQL_DIR, sql)
    path = sql / "reporting" / "daily_calls.sql"
    path.write_text(path.read_text().replace("calls.vendor,", "calls.vendr,", 1))
    return sql


def test_a_view_that_fails_names_its_file_and_the_error_and_changes_nothing(loaded, tmp_path, monkeypatch, capsys):
    cli = loaded.copy("broken")
    before = cli.query("select count(*), sum(calls) from reporting.daily_calls")
    monkeypatch.setattr(views, "SQL_DIR", _broken_sql_dir(tmp_path))
    code = cli_module.main(["views", "--warehouse", str(cli.warehouse)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1
    assert err[0].startswith("callhouse: views: sql/reporting/daily_calls.sql: Binder Error:"), err
    assert "vendr" in err[0]
    # One transaction: the views from before are all still there, as they were.
    assert cli.query("select count(*), sum(calls) from reporting.daily_calls") == before


def test_a_reference_to_a_view_no_file_defines_is_named(tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(views.SQL_DIR, sql)
    path = sql / "reporting" / "calls.sql"
    path.write_text(path.read_text().replace("intermediate.calls_genesys", "intermediate.calls_genesis"))
    with pytest.raises(ViewBuildError, match=r"sql/reporting/calls.sql: references intermediate.calls_genesis, which no file"):
        build_views(DuckDBFile(tmp_path / "w.duckdb"), io.StringIO(), sql_dir=sql)


def test_a_circular_reference_is_named(tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(views.SQL_DIR, sql)
    path = sql / "intermediate" / "calls_cinnox.sql"
    path.write_text(
        path.read_text().replace(
            "select distinct call_id from staging.cinnox_recording_files",
            "select distinct call_id from staging.cinnox_recording_files where call_id not in (select call_id from reporting.calls)",
        )
    )
    with pytest.raises(ViewBuildError, match="circular reference"):
        load_models(sql)


def test_outcome_map_lists_every_documented_status(loaded):
    rows = loaded.query("select vendor, status, outcome from staging.outcome_map")
    statuses = {(v, s) for v, s, _ in rows}
    for status in ("Call Ended", "Declined", "Busy", "Not Answered", "Cancelled", "Abandoned", "Unreachable", "Call Failed"):
        assert ("cinnox", status) in statuses
    for state in ("started", "rejected", "active", "completed", "transferring"):
        assert ("bandwidth", state) in statuses
    for sip in ("1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "INVITE"):
        assert ("genesys", sip) in statuses
    assert {o for _, _, o in rows} == {"answered", "missed", "failed", "active"}


def test_schemas_of_the_layers_hold_only_views(loaded):
    kinds = loaded.query(
        "select table_schema, table_type, count(*) from information_schema.tables "
        f"where table_schema in ({', '.join(repr(s) for s in LAYERS)}) group by all"
    )
    assert {k for _, k, _ in kinds} == {"VIEW"}
    assert not set(RAW_SCHEMAS) & set(LAYERS)
