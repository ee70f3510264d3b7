"""Utility of the releases side by side: for one generated day, the k-anonymous and the DP release (at a few
budgets) against the true counts, on the DP release's public cells (window × partition column × listed columns).

Run: `python -m pipeline.dp.compare --events 50000 --out dp-compare.md` (also writes the .html next to it).
The true counts come from the pseudonymized rows with people linked per window, the same scope the releases use;
nothing here is published (it reads exact counts), it only tells an operator what each choice costs.

What is compared, per statistic (events, people), as the median relative error over values whose true count is
≥ `min_true` (smaller counts make relative errors meaningless):
- cell × hour: each public cell of each window, and the share of those cells the release shows at all;
- type × hour and type × day: totals per partition-column value (e.g. event type), per window and per day.
k-anonymity's estimate of a public cell sums its published rows that are not generalized in the compared
columns; rows rolled up above them, and suppressed cells, are missing from it (its error is all undercount).
DP's estimate is the published noisy value (negative values published as 0), its error the noise plus bounding.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.dp.domain import public_domain
from pipeline.dp.mechanisms import calibrate, interval95
from pipeline.dp.release import release_dp
from pipeline.dp.window import cell_columns
from pipeline.kanon.core import CellState, link_people, pre_aggregate, release_window
from pipeline.linkage import subject_ids, table_columns
from pipeline.policy.model import KAnonSection

BUDGETS = (0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Line:
    release: str
    epsilon: float | None
    statistic: str
    cell_error: float        # median relative error per (window, public cell) with a true count ≥ min_true
    cells_shown: float       # share of those cells the release shows
    type_error: float        # … per (window, partition value), e.g. event type per hour
    day_error: float         # … of the day's totals per partition value
    ci95: int | None         # ± of one published value (DP), None for exact counts


def generated_day(events: int, seed: int = 5) -> tuple[pa.Table, KAnonSection]:
    """One day of synthetic telemetry, validated and pseudonymized with the default policy."""
    from pipeline.generate import TelemetryGenerator
    from pipeline.keys.ring import ephemeral_ring
    from pipeline.policy.loader import load_policy
    from pipeline.pseudonymize.core import pseudonymize_batch
    from pipeline.validate.core import validate_batch
    policy = load_policy()
    ring = ephemeral_ring()
    lines = list(TelemetryGenerator(seed, end=dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc), hours=24).lines(events))
    tables = []
    for start in range(0, len(lines), 1000):
        valid = validate_batch([(b"\n".join(lines[start:start + 1000]), {})])
        tables.append(pseudonymize_batch(valid.events, policy, ring, columns=valid.columns).table)
    return pa.concat_tables(tables), policy.policy.kanon


def _windows(table: pa.Table, config: KAnonSection, time_column: str) -> dict[int, pa.Table]:
    size_ms = config.window.size_seconds * 1000
    starts = (table.column(time_column).cast(pa.int64()).to_numpy() // size_ms) * size_ms
    return {int(w): table.filter(pa.array(starts == w)) for w in np.unique(starts)}


def _public_keys(window_table: pa.Table, config: KAnonSection) -> tuple[list[int], list[tuple]]:
    """Each row's public cell (as in `dp` mode) and the indices of the columns the domain lists."""
    domain, _ = public_domain(config)
    listed = [i for i, values in enumerate(domain) if values != ["*"]]
    columns = [c.to_pylist() for c in cell_columns(window_table, config)]
    keys = []
    for row in zip(*columns):
        keys.append(tuple(row[i] if row[i] in domain[i] else "other" for i in listed))
    return listed, keys


def true_counts(window_table: pa.Table, config: KAnonSection) -> dict[tuple, tuple[int, int]]:
    """Exact (events, people) per public cell of one window, people linked over the window."""
    _, keys = _public_keys(window_table, config)
    people = subject_ids(table_columns(window_table, config.subject_columns)).tolist()
    events: dict[tuple, int] = defaultdict(int)
    members: dict[tuple, set] = defaultdict(set)
    for key, person in zip(keys, people):
        if person >= 0:
            events[key] += 1
            members[key].add(person)
    return {key: (events[key], len(members[key])) for key in events}


def true_by_type(window_table: pa.Table, config: KAnonSection) -> dict[tuple, tuple[int, int]]:
    """Exact (events, people) per partition value of one window, people linked over the window."""
    people = subject_ids(table_columns(window_table, config.subject_columns)).tolist()
    values = window_table.column(config.partition_column).to_pylist()
    events: dict[tuple, int] = defaultdict(int)
    members: dict[tuple, set] = defaultdict(set)
    for value, person in zip(values, people):
        if person >= 0:
            events[(value,)] += 1
            members[(value,)].add(person)
    return {key: (events[key], len(members[key])) for key in events}


def kanon_estimate(window_table: pa.Table, config: KAnonSection, time_column: str) -> tuple[dict, dict]:
    """Published k-anonymous rows summed per public cell (rows generalized in a compared column are lost there)
    and per partition value (every published row counts: the partition column is never generalized)."""
    listed, _ = _public_keys(window_table.slice(0, 0), config)
    domain, _ = public_domain(config)
    cells: dict = {}
    for (_, cell), update in pre_aggregate(window_table, config, time_column).items():
        state = cells.setdefault(cell, CellState())
        state.events += update.events
        state.subjects |= update.subjects
    by_value: dict = defaultdict(dict)
    for cell, state in link_people(cells).items():
        by_value[cell[0]][cell] = state
    per_cell: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for value, group in by_value.items():
        for row in release_window(group, config).rows:
            # people are summed over rows: a person in two rows counts twice (k-anonymity publishes no union)
            per_type[value][0] += row.events
            per_type[value][1] += row.subjects
            if any(i > 0 and row.levels[i - 1] > 0 for i in listed):
                continue
            key = tuple(row.cell[i] if row.cell[i] in domain[i] else "other" for i in listed)
            per_cell[key][0] += row.events
            per_cell[key][1] += row.subjects
    return ({key: tuple(v) for key, v in per_cell.items()}, {(key,): tuple(v) for key, v in per_type.items()})


def dp_estimate(window_table: pa.Table, config: KAnonSection) -> dict[tuple, tuple[int, int]]:
    listed, _ = _public_keys(window_table.slice(0, 0), config)
    people = subject_ids(table_columns(window_table, config.subject_columns))
    release = release_dp(cell_columns(window_table, config), people, config=config, mode="dp")
    return {tuple(row.cell[i] for i in listed): (row.events, row.users) for row in release.rows}


def _relative(truth: np.ndarray, estimate: np.ndarray) -> float:
    return float(np.median(np.abs(estimate - truth) / truth)) if len(truth) else float("nan")


def _errors(truth: dict, estimates: dict, s: int, min_true: int) -> tuple[float, float]:
    """(median relative error, share shown) over keys whose true value is ≥ min_true."""
    keys = [key for key, value in truth.items() if value[s] >= min_true]
    t = np.array([truth[key][s] for key in keys], dtype=float)
    e = np.array([estimates.get(key, (0, 0))[s] for key in keys], dtype=float)
    shown = float(np.mean([key in estimates for key in keys])) if keys else float("nan")
    return _relative(t, e), shown


def _by_day(per_window: dict) -> dict:
    out: dict = defaultdict(lambda: [0, 0])
    for (window, *key), value in per_window.items():
        out[tuple(key)][0] += value[0]
        out[tuple(key)][1] += value[1]
    return {key: tuple(v) for key, v in out.items()}


def _lines(release: str, epsilon, truth: dict, estimates: dict, min_true: int, ci) -> list[Line]:
    """`truth` / `estimates`: {"cell": {(window, *cell): (events, people)}, "type": {(window, value): …}}."""
    out = []
    for s, statistic in enumerate(("events", "people")):
        cell_error, shown = _errors(truth["cell"], estimates["cell"], s, min_true)
        type_error, _ = _errors(truth["type"], estimates["type"], s, min_true)
        day_error, _ = _errors(_by_day(truth["type"]), _by_day(estimates["type"]), s, min_true)
        out.append(Line(release, epsilon, statistic, cell_error, shown, type_error, day_error,
                        ci[s] if ci else None))
    return out


def _dp_by_type(cells: dict) -> dict:
    """Per (window, partition value) sums of the noisy public cells: post-processing, unbiased (unclamped)."""
    out: dict = defaultdict(lambda: [0, 0])
    for (window, value, *_), (events, people) in cells.items():
        out[(window, value)][0] += events
        out[(window, value)][1] += people
    return {key: tuple(v) for key, v in out.items()}


def compare(table: pa.Table, config: KAnonSection, budgets=BUDGETS, min_true: int = 10,
            time_column: str = "event_hour") -> list[Line]:
    """Relative errors of the k-anonymous release and of the DP release at each ε per window (one partition)."""
    windows = _windows(table, config, time_column)
    truth: dict = {"cell": {}, "type": {}}
    kanon: dict = {"cell": {}, "type": {}}
    for window, rows in windows.items():
        truth["cell"].update({(window, *key): value for key, value in true_counts(rows, config).items()})
        truth["type"].update({(window, *key): value for key, value in true_by_type(rows, config).items()})
        cells, types = kanon_estimate(rows, config, time_column)
        kanon["cell"].update({(window, *key): value for key, value in cells.items()})
        kanon["type"].update({(window, *key): value for key, value in types.items()})
    lines = _lines("k_anonymity", None, truth, kanon, min_true, None)
    for epsilon in budgets:
        at = config.model_copy(update={"dp": config.dp.model_copy(update={"epsilon_per_window": epsilon,
                                                                           "epsilon_per_period": epsilon * 24})})
        noisy: dict = {}
        for window, rows in windows.items():
            noisy.update({(window, *key): value for key, value in dp_estimate(rows, at).items()})
        ci = (interval95(calibrate(at.dp.max_events, epsilon * at.dp.events_share)[0]),
              interval95(calibrate(at.dp.max_cells, epsilon * at.dp.users_share)[0]))
        lines += _lines("dp", epsilon, truth, {"cell": noisy, "type": _dp_by_type(noisy)}, min_true, ci)
    return lines


def markdown(lines: list[Line], events: int, min_true: int) -> str:
    out = [f"# Release utility on one generated day ({events:,} events)", "",
           f"Median relative error against the true counts; cells with a true count ≥ {min_true}. "
           "ε is per window (one stage partition); a day of 24 windows spends 24 ε.", "",
           "| release | ε / window | statistic | cell × hour | cells shown | type × hour | type × day | ± 95 % (cell) |",
           "|---|---|---|---|---|---|---|---|"]
    for line in lines:
        out.append(f"| {line.release} | {'—' if line.epsilon is None else f'{line.epsilon:g}'} | {line.statistic} | "
                   f"{line.cell_error:.1%} | {line.cells_shown:.0%} | {line.type_error:.1%} | {line.day_error:.1%} | "
                   f"{'exact' if line.ci95 is None else line.ci95} |")
    return "\n".join(out) + "\n"


def to_html(text: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith("|") and not line.startswith("|---")]
    cells = [[html.escape(c.strip()) for c in row.strip("|").split("|")] for row in rows]
    head = "".join(f"<th>{c}</th>" for c in cells[0])
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells[1:])
    title = html.escape(text.splitlines()[0].lstrip("# "))
    note = html.escape(text.splitlines()[2])
    return (f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1><p>{note}</p>"
            f"<table border=1 cellpadding=4><tr>{head}</tr>{body}</table>\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--min-true", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="write markdown here (and .html next to it)")
    args = parser.parse_args(argv)
    table, config = generated_day(args.events)
    text = markdown(compare(table, config, min_true=args.min_true), table.num_rows, args.min_true)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".html").write_text(to_html(text), encoding="utf-8")


if __name__ == "__main__":
    main()

