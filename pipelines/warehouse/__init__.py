"""Where the data lands: a DuckDB file or a DuckLake (choice.py picks by the setting)."""
