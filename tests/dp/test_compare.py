"""The utility comparison: its numbers move the way the mechanisms say they must, and the page renders."""

from __future__ import annotations

import math

from pipeline.dp.compare import compare, generated_day, markdown, to_html


def test_more_budget_means_less_error_and_k_anonymity_counts_exactly_what_it_shows():
    table, config = generated_day(3000)
    lines = compare(table, config, budgets=(0.1, 10.0), min_true=5)
    by = {(line.release, line.epsilon, line.statistic): line for line in lines}
    for statistic in ("events", "people"):
        assert by[("dp", 10.0, statistic)].cell_error < by[("dp", 0.1, statistic)].cell_error
        assert by[("dp", 10.0, statistic)].cells_shown == 1.0  # dp shows every public cell
        assert by[("dp", 0.1, statistic)].ci95 > by[("dp", 10.0, statistic)].ci95
    kanon = by[("k_anonymity", None, "events")]
    assert kanon.ci95 is None and kanon.type_error <= 0.05  # only suppressed events are missing per type
    text = markdown(lines, table.num_rows, 5)
    assert text.count("\n| dp |") == 4 and "<table" in to_html(text)
    assert all(not math.isnan(line.cell_error) for line in lines)
