"""Suspicious follower spikes: detector, classification and alert lifecycle (pure core)."""
