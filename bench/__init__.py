"""Benchmark harness (tracker issue 8): callhouse's CINNOX backfill end to end against baselines.

    .venv/bin/python -m bench                       # everything: 100k, 1M, nightly growth, latency
    .venv/bin/python -m bench --calls 100000        # one throughput size, all paths
    .venv/bin/python -m bench --quick               # 5k calls, for a smoke run (no speed claims)
    .venv/bin/python -m bench --nightly-growth --history-calls 5000000
    .venv/bin/python -m bench --latency --rate 5
    .venv/bin/python -m bench --calls 20000 --paths callhouse --profile
    .venv/bin/python -m bench --calls 100000 --paths callhouse --callhouse-env SOURCES__CINNOX__CHECKPOINT_ROWS=50000
    .venv/bin/python -m bench --duckdb-versions 2.0.0 --rounds 5   # callhouse on DuckDB 2.0.0 vs the pinned one, 100k calls

Each measured path is its own subprocess (wall, CPU and peak RSS of that process alone, see
measure.py); the sandbox serves from another process (sandbox_process.py). Paths: the real
`callhouse backfill`; fetch only (baseline_fetch.py); a plain dlt pipeline with dict pages,
default and parquet loaders (baseline_dlt.py); DuckDB read_json + UNNEST (baseline_duckdb.py);
the same rows into PostgreSQL by COPY (baseline_pgcopy.py), against callhouse's PostgreSQL path.
Results: stdout and bench/results/latest.md (+ latest.json), git-ignored.
"""
