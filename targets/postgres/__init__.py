"""target-postgres: Singer streams into PostgreSQL, COPY into staging then merge, state kept with the data."""
