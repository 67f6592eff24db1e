"""Durable processing state: typed records of the changelog and their codec (pure)."""
