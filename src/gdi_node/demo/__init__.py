"""Demo data for ``gdi-node demo``."""
