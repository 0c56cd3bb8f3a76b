"""Delivering reports to people (e-mail)."""
