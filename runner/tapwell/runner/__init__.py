"""The orchestration: the `tapwell` CLI, the project file (tapwell.yml), runs with their attempts
and retries, the state and history store (files or PostgreSQL) with its locks, recovery, drift
validation, schedules, notifications, connector installs and the demo. It runs connectors as
processes and never imports one."""
