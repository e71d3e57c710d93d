"""Sync of de-identified encounter records from the program's server to the state."""
