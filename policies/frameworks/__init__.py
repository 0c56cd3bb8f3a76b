"""Shipped with certscan; read through scanner.resources (importlib.resources)."""
