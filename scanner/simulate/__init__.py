"""Simulated providers and estates, so the real SDK clients run offline (tests, demo, benchmarks):
HTTP-level fakes (Key Vault) and moto-built estates (the AWS landing zone)."""
