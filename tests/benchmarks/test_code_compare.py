"""CodeContests' output comparison (DeepMind's rule): tokens, case, numbers within 1e-5."""

from __future__ import annotations

import pytest

from benchmarks.code.compare import FLOAT_TOLERANCE, outputs_match


@pytest.mark.parametrize(("expected", "actual"), [
    ("6\n", "6"),                                  # a missing final newline
    ("1 2\n3 4\n", "1 2 \n3 4 \n\n\n"),            # trailing spaces, blank lines
    ("1\n2\n3\n", "1 2 3"),                        # lines or one line: the same tokens
    ("YES\n", "yes"), ("No", "NO"),                # case
    ("0.333333\n", "0.3333333333333333"),          # another precision
    ("78.539816340\n", "78.539816"),
    ("2\n", "2.0"), ("2.5", "2.50000"),            # an integer against a float
    ("1e-7", "0"),                                 # within the absolute tolerance
    ("+5", "5"),
])
def test_outputs_that_match(expected: str, actual: str) -> None:
    assert outputs_match(expected, actual)


@pytest.mark.parametrize(("expected", "actual"), [
    ("6", "7"),
    ("1 2 3", "1 2"), ("1 2", "1 2 3"),           # a different number of tokens
    ("0.5", "0.50002"),                            # beyond 1e-5
    ("100000000000000000001", "100000000000000000000"),  # integers compare exactly
    ("YES", "YES."), ("abc", "ab c"),
    ("", "0"),
    ("nan", "NaN0"),
])
def test_outputs_that_do_not(expected: str, actual: str) -> None:
    assert not outputs_match(expected, actual)


def test_the_tolerance_is_deepminds_and_absolute() -> None:
    assert FLOAT_TOLERANCE == 1e-5
    assert outputs_match("1000000.0", "1000000.000009")
    assert not outputs_match("1000000.0", "1000000.00002")
