"""Orders API."""
