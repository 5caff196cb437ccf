"""Benchmarks: loaders, framing, answer extraction and deterministic scorers.

Pure code shared by the scheduler (loading questions) and the worker (scoring answers). It
imports nothing from models/, worker/, scheduler/ or simulator/. The simulator may read the
benchmarks' *data* (:mod:`benchmarks.synth_math` generates the synth-math problems, as a
dataset file would hold them), never their prompts or parsers.
"""
