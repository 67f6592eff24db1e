"""Composition root: settings, the command line, and the embedded demo."""
