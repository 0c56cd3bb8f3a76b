"""Shipped with certscan; read through scanner.inputs.resources (importlib.resources)."""
