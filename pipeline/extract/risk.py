"""Re-identification risk of a released table under the prosecutor, journalist and marketer models."""

from __future__ import annotations

import numpy as np


def reidentification_risk(sample_sizes: np.ndarray, population_sizes: np.ndarray, threshold: float,
                          records: np.ndarray | None = None) -> dict:
    """Risk figures for released classes of ``sample_sizes`` people each.

    Models after El Emam & Dankar 2008, "Protecting privacy using k-anonymity" (JAMIA 15(5)),
    as reported by ARX: a record in a released class of size f_j whose class holds F_j
    records in the attacker's population has prosecutor risk 1/f_j (the attacker knows the
    target is in the extract), journalist risk 1/F_j (the attacker matches against the
    population), and the marketer risk is the expected share of records re-identified when
    every record is attacked, sum_j f_j / F_j / n.

    The unit is the person: f_j and F_j count distinct people (a person with five events in a
    class is one), since an attacker singles out people, not rows. Averages are over the
    released (person, class) memberships; ``records`` (rows per class, default f) only adds
    how many rows sit in classes above the threshold. ``population_sizes`` must be >=
    ``sample_sizes`` elementwise; pass the sample sizes when the extract is the whole population.
    """
    f = np.asarray(sample_sizes, dtype=float)
    F = np.asarray(population_sizes, dtype=float)
    rows = f if records is None else np.asarray(records, dtype=float)
    n = f.sum()
    if n == 0:
        empty = {"highest": 0.0, "average": 0.0, "people_above_threshold": 0, "records_above_threshold": 0,
                 "share_above_threshold": 0.0}
        return {"unit": "people", "threshold": threshold, "prosecutor": empty, "journalist": dict(empty),
                "marketer": 0.0}
    return {
        "unit": "people",
        "threshold": threshold,
        "prosecutor": _summary(f, rows, 1.0 / f, threshold, n),
        "journalist": _summary(f, rows, 1.0 / F, threshold, n),
        "marketer": float((f / F).sum() / n),
    }


def _summary(people: np.ndarray, rows: np.ndarray, risk: np.ndarray, threshold: float, n: float) -> dict:
    above = risk > threshold
    return {
        "highest": float(risk.max()),
        "average": float((people * risk).sum() / n),
        "people_above_threshold": int(people[above].sum()),
        "records_above_threshold": int(rows[above].sum()),
        "share_above_threshold": float(people[above].sum()) / n,
    }
