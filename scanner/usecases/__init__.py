"""Use cases: what a command does, composed from collect -> evaluate -> report -> gate.
Commands only parse options and call these."""
