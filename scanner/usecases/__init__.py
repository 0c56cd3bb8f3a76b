"""The use cases: each composes collect -> evaluate -> report -> gate for one job (scan, report,
triage, merge, demo, ...). Commands (scanner.commands) parse options and call these; nothing
here imports the CLI."""
