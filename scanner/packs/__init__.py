"""Loading policy from files (I/O): rule packs compiled into Rules, framework catalogs.
The pure engine that runs compiled rules is scanner.rules."""
