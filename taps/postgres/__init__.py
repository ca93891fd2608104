"""tap-postgres: PostgreSQL tables as Singer streams (FULL_TABLE, INCREMENTAL, LOG_BASED on
pgoutput)."""
