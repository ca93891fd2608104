"""tap-csv: CSV files as Singer streams."""
