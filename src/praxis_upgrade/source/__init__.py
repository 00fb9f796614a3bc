"""The praxis-os source clone and the installs it targets."""
