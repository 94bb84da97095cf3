"""Checks turn one window's aggregated statistics into judged ``MetricRow``s.

Each module is pure: statistics and profile in, rows out. No SQL here, so every check is
tested on tiny hand-made inputs.
"""
