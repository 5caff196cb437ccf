"""The per-instruction difficulty of AlpacaEval's length-controlled GLM, estimated from recorded
judgments of many systems.

alpaca_eval downloads the difficulty (``instruction_difficulty`` of ``df_gamed.csv``) from the
Hugging Face hub. It was made by the joint fit of the package's
``notebooks/instruction_difficulty.ipynb``, which :func:`instruction_difficulty` redoes over the
systems it is given (for itas: the 30 of ``alpaca_eval/annotations/``)::

    logit P(system s wins on instruction i) = a_s * tanh(delta_len / std_s)   # s's length slope
                                            + c_s                             # s's bias
                                            + d_i                             # i's difficulty
                                            + g                               # shared term

one L1 logistic regression of the soft preferences over all the systems' rows at once, fitted
as the GLM is (:func:`~benchmarks.judged.alpaca_eval_glm.fit_soft_logistic`: duplicated rows,
5-fold cross-validation grouped by row). ``delta_len`` is the baseline's length minus the
system's and ``std_s`` its standard deviation (ddof 1) over s's rows; rows whose system output is
empty, and unread rows, are left out, as in the notebook. The instructions are dummy-coded with
the first (index 0) as reference, so ``d_0 = 0``; the d_i are the difficulty.

Deviations from the notebook, both without effect on the figures here: the notebook adds a
uniform jitter of 1e-4 characters to ``delta_len`` (so that the baseline against itself, whose
lengths are all equal, divides by a non-zero std); here a system with no spread in length gets a
length feature of 0, deterministically. The columns are ordered baseline first, then the systems
as given, then the instructions, then the shared term.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sparse

from benchmarks.judged.alpaca_eval_data import IndexBy, SystemJudgments
from benchmarks.judged.alpaca_eval_glm import fit_soft_logistic
from benchmarks.judged.alpaca_eval_stats import normalise_preference

__all__ = ["instruction_difficulty"]


def instruction_difficulty(systems: Sequence[SystemJudgments],
                           index_by: IndexBy = "instruction") -> list[float]:
    """The difficulty of instructions 0..(largest index seen), from the joint fit over
    ``systems`` (see the module docstring); 0.0 for an index no system judged. ``index_by``
    says how a row's instruction is found (alpaca_eval's notebook: ``position``). Raises
    ValueError when no row can be fitted."""
    ordered = sorted(systems, key=lambda s: not s.is_baseline)  # stable: the baseline first
    n_systems = len(ordered)
    rows: list[tuple[int, float, int, float]] = []  # (system, length feature, index, target)
    for k, system in enumerate(ordered):
        kept = [(i, p - 1.0) for i, p in enumerate(map(normalise_preference, system.preference))
                if p is not None and system.len_system[i] != 0]
        if not kept:
            continue
        delta = np.array([system.len_baseline[i] - system.len_system[i] for i, _ in kept],
                         dtype=float)
        spread = float(np.std(delta, ddof=1)) if len(delta) > 1 else 0.0
        length = np.tanh(delta / spread) if spread > 0 and math.isfinite(spread) \
            else np.zeros_like(delta)
        where = system.indices(index_by)
        rows += [(k, float(f), where[i], p) for (i, p), f in zip(kept, length, strict=True)]
    if not rows:
        raise ValueError("no judged row to estimate the instruction difficulty from")
    n_instructions = max(r[2] for r in rows) + 1
    # Columns: slope per system, bias per system, instructions 1..n-1, the shared term.
    first_index = 2 * n_systems
    shared = first_index + n_instructions - 1
    data, row_ids, col_ids = [], [], []
    for r, (k, length_feature, index, _) in enumerate(rows):
        cells = [(k, length_feature), (n_systems + k, 1.0), (shared, 1.0)]
        if index > 0:
            cells.append((first_index + index - 1, 1.0))
        for column, value in cells:
            row_ids.append(r)
            col_ids.append(column)
            data.append(value)
    features = sparse.csr_matrix((data, (row_ids, col_ids)), shape=(len(rows), shared + 1))
    model = fit_soft_logistic(features, [r[3] for r in rows])
    coefficients = model.coef_[0]
    return [0.0] + [float(c) for c in coefficients[first_index:shared]]
