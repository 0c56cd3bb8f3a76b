"""The history of scans: a store (SQLite or PostgreSQL) and what is computed from it."""
