"""bondpremia."""
