"""The project's MCP server: process control, probe, venv and its requirements."""
