"""The engine: steps, sessions, the lock and the run that drives the phases."""
