"""certscan: policy-as-code compliance scanner for TLS/X.509 certificates."""

__version__ = "0.1.0"
