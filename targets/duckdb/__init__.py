"""target-duckdb: Singer streams into DuckDB, the embedded default warehouse."""
