"""Where the data lands: a DuckDB file, a DuckLake or PostgreSQL, each a class behind kind.Warehouse
(choice.py picks one by the setting)."""
