"""Producers: the campaign simulator and the JSONL file publisher, keyed by creator."""
