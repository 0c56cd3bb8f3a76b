"""The use cases: each composes collect -> evaluate -> report -> gate for one job (scan, report,
triage, merge, demo, notify, ...). Commands (scanner.commands) parse options and call these;
nothing here imports the CLI."""
