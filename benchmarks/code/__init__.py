"""Code benchmarks (HumanEval, MBPP, CodeContests): scored by running the code.

The package stays pure: it says what to run and how to read the outcome; the worker runs it in
its sandbox (worker/sandbox). See :mod:`benchmarks.code.base` for the contract.
"""
