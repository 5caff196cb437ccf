"""Fault drills (issue 10): each runs one job twice on private services, clean and under a
fault, and compares every stored answer. `make drills` runs them all; see RELIABILITY.md."""
