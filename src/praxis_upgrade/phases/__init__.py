"""The default plugins: one module per phase, registered before any installed plugin."""
