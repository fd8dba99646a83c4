"""Fuzz tests of the loader and the planner; settings and helpers are in ``helpers.fuzz``."""
