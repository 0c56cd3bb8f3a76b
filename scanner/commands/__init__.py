"""Typer commands: each parses options and calls the layers; no scanning logic here."""
