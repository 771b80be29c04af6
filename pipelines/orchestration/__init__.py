"""The pipeline as schedulers see it: Dagster assets (the `dagster` extra)."""
