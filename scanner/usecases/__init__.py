"""Use cases: each composes collect -> evaluate -> report -> gate (or a part of it) for one
thing a user does; commands only parse options and call these."""
