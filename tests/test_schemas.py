"""The committed dlt schemas in schemas/ are what the code really loads."""

from pathlib import Path

from pipelines.commands.schemas import SCHEMA_DIR, live_summaries, load_reference_warehouse, render
from pipelines.sources.registry import NAMES as SOURCE_NAMES


def test_committed_schemas_match_what_a_load_creates(tmp_path: Path):
    summaries = live_summaries(load_reference_warehouse(tmp_path))
    assert set(summaries) == set(SOURCE_NAMES)
    for name, summary in summaries.items():
        committed = (SCHEMA_DIR / f"{name}.schema.yaml").read_text()
        assert render(summary) == committed, f"schemas/{name}.schema.yaml differs from the code: run `make schemas` and review"
    cinnox = summaries["cinnox"]["tables"]
    assert cinnox["call_detail"]["columns"]["call_date"]["data_type"] == "timestamp"
    assert cinnox["call_detail"]["columns"]["caller"]["data_type"] == "text"
    assert cinnox["call_detail__recording_event_list"]["columns"]["call_detail_id"].get("merge_key")
