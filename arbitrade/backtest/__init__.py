"""Backtesting: the recorder, replay through the same actors, the simulated venue, reports."""
