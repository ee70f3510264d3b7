"""The DP guarantee tested on the outputs: the published distributions with and without one person differ by no
more than e^ε, and the n−1 (fake devices) attack that breaks k-anonymity learns no more than ε allows.

Test design (the false-alarm rate is what makes the thresholds principled, not tuned):
- `RUNS` releases of the same window with and without a victim who sends 10,000 events into one cell.
- For every event S = {published value ≥ t} and its complement, over a grid of t for the victim's cell's events
  and users, we check P[S | with] ≤ e^ε · P[S | without] and the reverse. A check fails only when the
  one-sided Clopper–Pearson lower bound of the left side exceeds e^ε times the upper bound of the right side;
  each bound is taken at α / (2·checks), so the whole test raises a false alarm with probability ≤ α = 0.001.
- Without bounding the victim's 10,000 events move the cell by thousands and every check fails (see the note).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta

from dp_cases import background, published, small_config, with_rows
from pipeline.dp.release import release_dp
from pipeline.kanon.core import CellState, release_window

EPSILON = 1.0
RUNS = 1500
ALPHA = 1e-3
VICTIM = 10_000_000
CELL = ("search", "iOS")


def lower(successes: int, n: int, a: float) -> float:
    return 0.0 if successes == 0 else float(beta.ppf(a, successes, n - successes + 1))


def upper(successes: int, n: int, a: float) -> float:
    return 1.0 if successes == n else float(beta.ppf(1 - a, successes + 1, n - successes))


def violations(a: np.ndarray, b: np.ndarray, epsilon: float, thresholds: list[int], checks: int) -> list[str]:
    found = []
    level = ALPHA / (2 * checks)
    for t in thresholds:
        for name, sa, sb in ((f"≥{t}", int((a >= t).sum()), int((b >= t).sum())),
                             (f"<{t}", int((a < t).sum()), int((b < t).sum()))):
            for x, y, direction in ((sa, sb, "with/without"), (sb, sa, "without/with")):
                if lower(x, len(a), level) > math.exp(epsilon) * upper(y, len(b), level):
                    found.append(f"P[{name}] {direction}: {x}/{len(a)} vs {y}/{len(b)}")
    return found


def samples(columns, subjects, config, mode: str) -> np.ndarray:
    out = np.zeros((RUNS, 2), dtype=np.int64)
    for i in range(RUNS):
        value = published(release_dp(columns, subjects, config=config, mode=mode), CELL)
        out[i] = value if value else (0, 0)
    return out


def test_distributions_with_and_without_one_person_differ_by_at_most_e_to_the_epsilon():
    config = small_config(EPSILON)
    base = background()
    without = samples(*base, config, "dp")
    with_victim = samples(*with_rows(base, CELL, VICTIM, 10_000), config, "dp")
    found = []
    grids = []
    for column in (0, 1):
        pooled = np.r_[without[:, column], with_victim[:, column]]
        grids.append(sorted(set(np.quantile(pooled, np.linspace(0.05, 0.95, 10)).astype(int).tolist())))
    checks = 4 * sum(len(g) for g in grids)
    for column, grid in enumerate(grids):
        found += violations(with_victim[:, column], without[:, column], EPSILON, grid, checks)
    assert not found, f"ε = {EPSILON} exceeded on the outputs ({RUNS} runs each): {found[:5]}"
    # the victim is visible only through noise: the mean shift of the events is ≤ max_events (10), not 10,000
    assert abs(with_victim[:, 0].mean() - without[:, 0].mean()) < 15


def attack_accuracy(release, k: int, trials: int, config, mode: str, seed: int = 5) -> tuple[float, float]:
    """n−1 attack: the attacker adds k−1 fake devices to the victim's cell and guesses 'victim present' from
    the published row alone. Returns (true-positive rate, false-positive rate) of the attacker's best rule."""
    rng = np.random.default_rng(seed)
    outcomes = {True: [], False: []}
    for trial in range(trials):
        present = bool(trial % 2)
        columns, subjects = background(seed=int(rng.integers(1 << 30)))
        columns = [[c for c in columns[0] if True], columns[1]]
        # the cell is otherwise empty: only fakes (and maybe the victim) are in it
        keep = [i for i, cell in enumerate(zip(*columns)) if cell != CELL]
        columns = [[columns[0][i] for i in keep], [columns[1][i] for i in keep]]
        subjects = subjects[keep]
        for fake in range(k - 1):
            columns, subjects = with_rows((columns, subjects), CELL, 5_000_000 + fake, 1)
        if present:
            columns, subjects = with_rows((columns, subjects), CELL, VICTIM, 1)
        outcomes[present].append(release(columns, subjects))
    return outcomes[True], outcomes[False]


def kanon_release(config):
    def run(columns, subjects):
        cells: dict = {}
        for cell, subject in zip(zip(*columns), subjects.tolist()):
            state = cells.setdefault(cell, CellState())
            state.events += 1
            state.subjects.add(subject)
        rows = release_window(cells, config).rows
        return next((r.subjects for r in rows if r.cell == CELL and r.levels == (0,)), None)
    return run


def best_guess_rates(present: list, absent: list) -> tuple[float, float]:
    """The attacker's best threshold rule on the published users value (None = cell not published)."""
    values = sorted({-1 if v is None else v for v in present + absent})
    best = (0.0, 0.0)
    for t in values:
        tpr = np.mean([(-1 if v is None else v) >= t for v in present])
        fpr = np.mean([(-1 if v is None else v) >= t for v in absent])
        if tpr - fpr > best[0] - best[1]:
            best = (float(tpr), float(fpr))
    return best


def test_n_minus_1_attack_reveals_the_victim_under_k_anonymity():
    config = small_config(EPSILON)
    present, absent = attack_accuracy(kanon_release(config), config.k, 40, config, "k_anonymity")
    assert all(v == config.k for v in present) and all(v is None for v in absent)
    assert best_guess_rates(present, absent) == (1.0, 0.0)


@pytest.mark.parametrize("mode", ["dp", "both"])
def test_n_minus_1_attack_learns_no_more_than_epsilon_allows(mode):
    config = small_config(EPSILON)
    trials = 1200

    def run(columns, subjects):
        value = published(release_dp(columns, subjects, config=config, mode=mode), CELL)
        return None if value is None else value[1]
    # In `both` the attacker needs enough fakes to reach the noisy threshold at all: give them plenty.
    fakes = config.k if mode == "dp" else 200
    present, absent = attack_accuracy(run, fakes, trials, config, mode)
    tpr, fpr = best_guess_rates(present, absent)
    # Any rule satisfies TPR ≤ e^ε·FPR + δ. The margin is a 3-sigma binomial allowance for picking the best of
    # the thresholds on the same samples (the bound itself is not tuned); k-anonymity above gives TPR − FPR = 1.
    n = trials / 2
    margin = 3 * math.sqrt(0.25 / n) * (1 + math.exp(EPSILON)) + config.dp.delta_per_window
    assert tpr <= math.exp(EPSILON) * fpr + margin, (tpr, fpr)
    assert tpr - fpr <= (math.exp(EPSILON) - 1) / (math.exp(EPSILON) + 1) + margin, (tpr, fpr)
