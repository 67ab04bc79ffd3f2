"""JSON schemas that ship with the package (see metadata.py)."""
