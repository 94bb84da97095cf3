"""Drift detection: methods that compare a current window with a reference, and their registry."""
