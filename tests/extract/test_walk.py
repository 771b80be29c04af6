"""PageBuffer: pages of each table gathered into larger Arrow tables before dlt sees them."""

from __future__ import annotations

import pyarrow as pa

from pipelines.extract.walk import PageBuffer


def page(ids: list[str], **extra: list) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.string()), **{k: pa.array(v, pa.string()) for k, v in extra.items()}})


def test_pages_are_gathered_until_flush_rows_then_handed_over_together():
    buffer = PageBuffer(flush_rows=5)
    assert buffer.add("calls", page(["a", "b"])) == []
    assert buffer.add("calls", page(["c", "d"])) == []
    [(table, gathered)] = buffer.add("calls", page(["e"]))
    assert table == "calls"
    assert gathered.column("id").to_pylist() == ["a", "b", "c", "d", "e"]
    assert buffer.drain() == []


def test_each_table_is_counted_on_its_own():
    buffer = PageBuffer(flush_rows=3)
    assert buffer.add("calls", page(["a", "b"])) == []
    assert buffer.add("legs", page(["l1", "l2"])) == []
    [(table, gathered)] = buffer.add("legs", page(["l3"]))
    assert (table, gathered.num_rows) == ("legs", 3)


def test_drain_hands_over_everything_left_in_table_order():
    buffer = PageBuffer(flush_rows=100)
    buffer.add("calls", page(["a"]))
    buffer.add("legs", page(["l1"]))
    buffer.add("calls", page(["b"]))
    drained = buffer.drain()
    assert [(table, gathered.column("id").to_pylist()) for table, gathered in drained] == [
        ("calls", ["a", "b"]),
        ("legs", ["l1"]),
    ]
    assert buffer.drain() == []


def test_a_single_page_is_handed_over_as_it_is():
    buffer = PageBuffer(flush_rows=1)
    one = page(["a"])
    [(_, gathered)] = buffer.add("calls", one)
    assert gathered is one


def test_pages_with_different_extra_columns_concatenate_with_nulls():
    buffer = PageBuffer()
    buffer.add("calls", page(["a"], codec=["opus"]))
    buffer.add("calls", page(["b"], region=["eu"]))
    buffer.add("calls", page(["c"]))
    [(_, gathered)] = buffer.drain()
    assert gathered.schema == pa.schema([("id", pa.string()), ("codec", pa.string()), ("region", pa.string())])
    assert gathered.to_pydict() == {"id": ["a", "b", "c"], "codec": ["opus", None, None], "region": [None, "eu", None]}
