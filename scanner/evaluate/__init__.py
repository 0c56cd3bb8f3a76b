"""Judging an inventory, purely (no clock, no I/O beyond loading waivers): evaluation,
waivers applied, and the gate that turns results into an exit code."""
