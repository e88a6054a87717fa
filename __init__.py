"""Keepers: look at every photo, say whether it is a keeper and why, and write the answer where photographers work."""

__version__ = "0.1.0"
