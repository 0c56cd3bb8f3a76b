"""Evidence bundles for auditors: writing one (bundle), signing its manifest (signing) and
verifying one (verify). The bundle is registered as the `evidence` output format."""
