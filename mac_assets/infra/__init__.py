"""Infrastructure, not methodology: settings, the DuckDB warehouse, backups, and Dagster's instance and runs.

Dagster-free: `settings`, `warehouse`, `backup`. Dagster wiring: `io_manager`, `partitions`, `runs`,
`event_log` (the instance storage `dagster.yaml` names).
"""
