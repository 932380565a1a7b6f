"""crisiswatch: crisis-detection alerting for brand communication teams."""

__version__ = "0.1.0"
