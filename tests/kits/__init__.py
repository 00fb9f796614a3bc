"""Shared test kits: content and upgrade helpers, a fake plugin."""
