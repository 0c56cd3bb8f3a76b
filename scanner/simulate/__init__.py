"""Simulated providers that answer at the HTTP level, so the real SDK clients run offline (tests, demo)."""
