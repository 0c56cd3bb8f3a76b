"""Reading what users give certscan: YAML/JSON documents with line numbers, schema checks,
problems reported all at once (exit 2), the config file, shipped resources, saved inventories."""
