"""tap-rest: JSON HTTP APIs as Singer streams, from a config file."""
