"""tap-mysql: MySQL and MariaDB tables as Singer streams, exact and fast (FULL_TABLE, INCREMENTAL,
LOG_BASED). A drop-in for singer-io's and PipelineWise's tap-mysql: same config, catalog and
bookmark shapes."""
