"""Optimizer parts: schedules, candidate parsing, and the optimization loop."""
