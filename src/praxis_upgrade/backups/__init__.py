"""Backups: manifest, creation, restore and the catalog (list, verify, prune)."""
