"""The unit layer: pgferry's pure functions over catalogs and messages frozen from real
servers (tests/unit/frozen/, written by scripts/freeze_catalogs.py).  Nothing here
starts or reaches a server."""
