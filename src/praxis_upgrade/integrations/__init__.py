"""Integrations: git hook, VS Code tasks, MCP tools for assistants, several projects."""
