"""Calibration: fit simulated LLMs to the four recorded GPT-3 systems of GSM8K and compare.

The model (simulator/README.md, "Skill model") is a two-parameter item-response model with one
latent difficulty per question shared by all LLMs, b ~ N(0, 1):

    P(system s solves question q) = sigmoid(a_s * (theta_s - b_q))

Fitting maximises the marginal likelihood of the recorded right/wrong matrix (b integrated out
with Gauss-Hermite quadrature; the 1,319 x 4 matrix compresses to 16 patterns). The shared b is
what correlates the systems' successes. Then the fitted LLMs answer every question through the
simulator's own reply path (the same code the server runs), over several seeds, and the command
prints recorded vs simulated accuracy per system and "both right" rate per pair.

Pass criteria: every accuracy within 2 points, every pair rate within 5.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from simulator.answer_keys import RECORDED_SYSTEMS, KeyStore, load_gsm8k
from simulator.fleet import LLMSpec, load_fleet
from simulator.server import Simulator, _Call
from simulator.text import normalize_number, normalize_question
from simulator.values import Kind, extract

__all__ = ["fit_2pl", "run_calibration"]

ACCURACY_TOLERANCE = 2.0  # points
PAIR_TOLERANCE = 5.0  # points
SEEDS = 5  # simulated samples per question; averages out the simulation's own noise

SIM_NAMES = {
    "6b_finetuning": "gpt3-6b-finetune-sim",
    "6b_verification": "gpt3-6b-verifier-sim",
    "175b_finetuning": "gpt3-175b-finetune-sim",
    "175b_verification": "gpt3-175b-verifier-sim",
}


def load_recorded(data: Path) -> tuple[list[str], np.ndarray]:
    """Questions and the recorded right/wrong matrix (questions x RECORDED_SYSTEMS)."""
    text = (data / "example_model_solutions.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    matrix = np.array([[bool(r[s]["is_correct"]) for s in RECORDED_SYSTEMS] for r in rows])
    return [normalize_question(r["question"]) for r in rows], matrix


def _nll(params: np.ndarray, patterns: np.ndarray, counts: np.ndarray) -> float:
    nodes, weights = np.polynomial.hermite_e.hermegauss(61)
    k = patterns.shape[1]
    theta, slope = params[:k], np.exp(params[k:])
    z = slope[None, :] * (theta[None, :] - nodes[:, None])  # nodes x systems
    log_p, log_q = -np.logaddexp(0, -z), -np.logaddexp(0, z)
    ll = patterns @ log_p.T + (1 - patterns) @ log_q.T + np.log(weights / weights.sum())
    peak = ll.max(axis=1, keepdims=True)
    marginal = peak[:, 0] + np.log(np.exp(ll - peak).sum(axis=1))
    return float(-(counts * marginal).sum())


def fit_2pl(matrix: np.ndarray, steps: int = 1000) -> list[tuple[float, float]]:
    """(ability, discrimination) per column of a right/wrong matrix, by marginal likelihood.

    Adam on central-difference gradients: the problem has 2 x systems parameters and the data
    16 patterns, so this takes about a second and needs no optimiser library.
    """
    pattern_counts = Counter(tuple(int(x) for x in row) for row in matrix)
    patterns = np.array(list(pattern_counts), dtype=float)
    counts = np.array(list(pattern_counts.values()), dtype=float)
    k = matrix.shape[1]
    x = np.concatenate([np.zeros(k), np.full(k, np.log(1.5))])
    m, v = np.zeros_like(x), np.zeros_like(x)
    lr, eps = 0.05, 1e-5
    for t in range(1, steps + 1):
        grad = np.empty_like(x)
        for i in range(len(x)):
            e = np.zeros_like(x)
            e[i] = eps
            grad[i] = (_nll(x + e, patterns, counts) - _nll(x - e, patterns, counts)) / (2 * eps)
        grad /= counts.sum()
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        x -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        if np.abs(grad).max() < 1e-7:
            break  # converged: the per-question gradient is negligible
        if t % 250 == 0:
            lr /= 3
    return [(float(x[i]), float(np.exp(x[k + i]))) for i in range(k)]


def simulate(
    simulator: Simulator, llms: Sequence[str], questions: Sequence[str], seeds: int
) -> tuple[np.ndarray, np.ndarray]:
    """Right/wrong and answer of each LLM's sample ``seed`` per question (seeds x q x llms).

    Goes through :meth:`Simulator.choices`, the server's own reply path.
    """
    out = np.zeros((seeds, len(questions), len(llms)), dtype=bool)
    answers = np.empty((seeds, len(questions), len(llms)), dtype=object)
    for qi, question in enumerate(questions):
        key = simulator.keys.get(question)
        prompt = f"{question}\n\nSolve it step by step; finish with a line starting 'Answer:'."
        for li, name in enumerate(llms):
            for seed in range(seeds):
                call = _Call(
                    simulator.fleet.llms[name],
                    [{"role": "user", "content": prompt}],
                    None,
                    1,
                    seed,
                    1.0,
                )
                (choice,) = simulator.choices(call)
                answer = extract(Kind.NUMBER, choice.text)
                answers[seed, qi, li] = answer
                out[seed, qi, li] = key is not None and answer == key.answer
    return out, answers


def majority_right(answers: Sequence[str | None], truth: str) -> bool:
    """Plurality vote; ties go to the answer of the earliest system (as in the recorded 44%)."""
    return Counter(answers).most_common(1)[0][0] == truth


def wrong_agreement(rows: Sequence[tuple[Sequence[str | None], str]]) -> float:
    """Among pairs of systems both wrong on a question, how often they give the same answer."""
    same = total = 0
    for values, truth in rows:
        wrong = [v for v in values if v is not None and v != truth]
        for i in range(len(wrong)):
            for j in range(i + 1, len(wrong)):
                total += 1
                same += wrong[i] == wrong[j]
    return same / max(total, 1)


def recorded_answers(data: Path) -> list[tuple[list[str | None], str]]:
    """Per question: the four systems' final answers and the true answer."""
    text = (data / "example_model_solutions.jsonl").read_text(encoding="utf-8")
    out = []
    for line in filter(str.strip, text.splitlines()):
        row = json.loads(line)
        values = [
            normalize_number(row[s]["solution"].rsplit("A:", 1)[-1])
            if "A:" in row[s]["solution"]
            else None
            for s in RECORDED_SYSTEMS
        ]
        truth = normalize_number(row["ground_truth"].rsplit("A:", 1)[-1]) or ""
        out.append((values, truth))
    return out


def run_calibration(data: Path, fleet_path: Path | None, out: TextIO) -> bool:
    """Fit, simulate, print the comparison; True when within the tolerances."""
    questions, recorded = load_recorded(data)
    fitted = fit_2pl(recorded)
    fleet = load_fleet(fleet_path)
    out.write("Fitted 2PL parameters (difficulty ~ N(0,1)) vs the fleet file:\n")
    out.write(f"  {'system':<20}{'LLM':<26}{'ability':>9}{'slope':>8}   fleet ability/slope\n")
    llms: dict[str, LLMSpec] = {}
    for system, (ability, slope) in zip(RECORDED_SYSTEMS, fitted, strict=True):
        name = SIM_NAMES[system]
        shipped = fleet.llms.get(name)
        ship = f"{shipped.ability:.3f}/{shipped.discrimination:.3f}" if shipped else "(absent)"
        out.write(f"  {system:<20}{name:<26}{ability:>9.3f}{slope:>8.3f}   {ship}\n")
        llms[name] = LLMSpec(name, ability, slope, ability, 0.0, 0.0, 1.0, 0.0, 0.0)
    params = dict(zip(RECORDED_SYSTEMS, fitted, strict=True))
    keys = KeyStore(load_gsm8k(data, params))
    simulator = Simulator(dataclasses.replace(fleet, llms=llms), keys)
    names = [SIM_NAMES[s] for s in RECORDED_SYSTEMS]
    sim, sim_answers = simulate(simulator, names, questions, SEEDS)

    ok = True
    out.write(
        f"\nAccuracy on {len(questions)} GSM8K test questions "
        f"(simulated: mean over {SEEDS} seeds)\n"
    )
    out.write(f"  {'system':<20}{'recorded':>10}{'simulated':>11}{'diff':>8}\n")
    for i, system in enumerate(RECORDED_SYSTEMS):
        rec, got = 100 * recorded[:, i].mean(), 100 * sim[:, :, i].mean()
        flag = abs(rec - got) <= ACCURACY_TOLERANCE
        ok &= flag
        out.write(
            f"  {system:<20}{rec:>9.1f}%{got:>10.1f}%{got - rec:>+8.1f}"
            f"{'' if flag else '  OFF (> 2 points)'}\n"
        )
    out.write('\n"Both right" rate per pair\n')
    out.write(f"  {'pair':<40}{'recorded':>10}{'simulated':>11}{'diff':>8}\n")
    for i in range(4):
        for j in range(i + 1, 4):
            rec = 100 * (recorded[:, i] & recorded[:, j]).mean()
            got = 100 * (sim[:, :, i] & sim[:, :, j]).mean()
            flag = abs(rec - got) <= PAIR_TOLERANCE
            ok &= flag
            pair = f"{RECORDED_SYSTEMS[i]} + {RECORDED_SYSTEMS[j]}"
            out.write(
                f"  {pair:<40}{rec:>9.1f}%{got:>10.1f}%{got - rec:>+8.1f}"
                f"{'' if flag else '  OFF (> 5 points)'}\n"
            )
    rec_any, sim_any = 100 * recorded.any(axis=1).mean(), 100 * sim.any(axis=2).mean()
    out.write(
        f"\nAt least one right (informative): recorded {rec_any:.1f}%, simulated {sim_any:.1f}%\n"
    )
    rec_vote = 100 * np.mean([majority_right(v, t or "") for v, t in recorded_answers(data)])
    sim_vote = 100 * np.mean(
        [
            majority_right(list(sim_answers[s, q]), keys.get(questions[q]).answer)  # type: ignore[union-attr]
            for s in range(SEEDS)
            for q in range(len(questions))
        ]
    )
    out.write(
        f"Majority vote of the four (informative): recorded {rec_vote:.1f}%, "
        f"simulated {sim_vote:.1f}%\n"
    )
    sim_rows = [
        (list(sim_answers[s, q]), keys.get(questions[q]).answer)  # type: ignore[union-attr]
        for s in range(SEEDS)
        for q in range(len(questions))
    ]
    out.write(
        f"Same wrong answer when two are wrong (informative): recorded "
        f"{100 * wrong_agreement(recorded_answers(data)):.1f}%, simulated "
        f"{100 * wrong_agreement(sim_rows):.1f}%\n"
    )
    solved = Counter(int(x) for x in recorded.sum(axis=1))
    sim_solved = Counter(int(x) for x in sim.sum(axis=2).ravel())
    out.write(
        "Questions solved by 0/1/2/3/4 systems: recorded "
        + "/".join(str(solved[k]) for k in range(5))
        + ", simulated (per seed) "
        + "/".join(f"{sim_solved[k] / SEEDS:.0f}" for k in range(5))
        + "\n"
    )
    out.write(
        f"\nCalibration {'PASSED' if ok else 'FAILED'} (tolerance: accuracy "
        f"{ACCURACY_TOLERANCE:.0f} points, pair rates {PAIR_TOLERANCE:.0f} points)\n"
    )
    return ok
