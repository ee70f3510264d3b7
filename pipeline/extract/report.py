"""The extract's report: report.json facts and a report.html a data-protection officer can read."""

from __future__ import annotations

import html

import numpy as np

from pipeline.extract.anonymize import ExtractResult
from pipeline.hierarchies import HierarchySpec

SAMPLE_ROWS = 5


def level_meaning(spec: HierarchySpec, level: int, height: int) -> str:
    """What a value of this attribute looks like at ``level``, in words."""
    if level == 0:
        return "original values, unchanged"
    if level >= height:
        return "* (fully generalized: no information left)"
    params = spec.params or {}
    if spec.builder == "h3":
        return f"H3 cell of resolution {params['resolutions'][level - 1]} (cells already coarser stay as they are)"
    if spec.builder == "date":
        unit = params["units"][level - 1]
        return f"{'ISO week' if unit == 'week' else unit.replace('_', ' ')} in local time ({params['tz']})"
    if spec.builder == "interval":
        return f"intervals of width {params['widths'][level - 1]:g}"
    if spec.builder == "prefix":
        return f"last {params['masks'][level - 1]} characters masked"
    return f"level {level} of the hierarchy {spec.source}"


def models_in_words(result: ExtractResult) -> list[str]:
    """Each privacy model and parameter as a sentence."""
    settings = result.settings
    who = (f"people (records linked through {', '.join(result.subject_columns)} count as one person)"
           if result.subject_columns else "records (each record is taken to be a different person)")
    sentences = [f"Every released combination of quasi-identifier values is shared by at least {settings.k} "
                 f"different {who}: k-anonymity with k = {settings.k}."]
    if settings.l is not None:
        kind = "distinct" if settings.l_variant == "distinct" else "entropy"
        sentences.append(f"Within every such group the sensitive attribute {settings.sensitive} takes at least "
                         f"{settings.l:g} {'different values' if kind == 'distinct' else 'equally frequent values in effect'}"
                         f": {kind} l-diversity with l = {settings.l:g}.")
    if settings.t is not None:
        sentences.append(f"Within every group the distribution of {settings.sensitive} differs from the whole table's "
                         f"by at most {settings.t:g} (earth mover's distance): t-closeness with t = {settings.t:g}.")
    sentences.append(f"Groups that fail are removed whole; at most {settings.suppression:.1%} of the records may be "
                     f"removed (here {result.suppressed_records} of {result.input_records}, "
                     f"{result.suppressed_records / max(result.input_records, 1):.2%}).")
    return sentences


def build_report(result: ExtractResult, context: dict) -> dict:
    """Every figure a reviewer needs to accept the extract; ``context`` adds run metadata."""
    settings, search, sizes = result.settings, result.search, result.class_sizes
    people = result.class_people if result.class_people is not None else sizes
    specs = {spec.column: spec for spec in settings.qi}
    sample = result.released.head(0) if result.released.empty else result.released.sample(
        n=min(SAMPLE_ROWS, len(result.released)), random_state=0)
    return {
        **context,
        "privacy_models": [model.describe() for model in settings.models],
        "in_words": models_in_words(result),
        "suppression_limit": settings.suppression,
        "records": {
            "input": result.input_records,
            "released": int(sizes.sum()),
            "suppressed": result.suppressed_records,
            "suppressed_share": result.suppressed_records / result.input_records,
        },
        "people": {
            "subject_columns": list(result.subject_columns),
            "released": result.people_released,
            "records_without_subject": result.records_without_subject,
        },
        "achieved": {"k": result.achieved_k, "k_unit": "people", "l": result.achieved_l},
        "transformation": {
            dim.column: {"level": level, "height": dim.height, "hierarchy": dim.source,
                         "meaning": level_meaning(specs[dim.column], level, dim.height),
                         "example": _example(result.released, dim.column),
                         "weight": dim.weight, "allowed_levels": [dim.min_level, dim.max_level],
                         **({"loss": result.qi_loss[dim.column]} if result.qi_loss else {})}
            for dim, level in zip(result.dimensions, search.levels)
        },
        "equivalence_classes": {
            "count": int(len(sizes)),
            "min_size": int(sizes.min()) if len(sizes) else 0,
            "avg_size": float(sizes.mean()) if len(sizes) else 0.0,
            "max_size": int(sizes.max()) if len(sizes) else 0,
            "min_people": int(people.min()) if len(people) else 0,
            "avg_people": float(people.mean()) if len(people) else 0.0,
        },
        "score": {"metric": settings.metric, "value": search.score},
        "risk": result.risk,
        "trajectories": result.trajectories,
        "warnings": list(result.warnings),
        "columns": {
            "quasi_identifiers": [s.column for s in settings.qi],
            "sensitive": settings.sensitive,
            "kept": list(settings.keep),
            "identifiers_kept": settings.identifier_keeps(),
            "rekeyed": list(settings.rekey),
            "dropped": result.dropped_columns,
        },
        "sample_rows": sample.astype("string").fillna("(null)").astype(str).to_dict(orient="records"),
        "search": {
            "lattice_size": search.lattice_size,
            "evaluated": search.evaluated,
            "pruned_by_monotonicity": search.pruned_by_monotonicity,
            "pruned_by_bound": search.pruned_by_bound,
            "seconds": round(search.seconds, 4),
        },
    }


def _example(released, column: str) -> str | None:
    """The most frequent released label of a column, to show what its level looks like."""
    counts = released[column].dropna().value_counts()
    return str(counts.index[0]) if len(counts) else None


def _e(value) -> str:
    return html.escape(str(value))


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _size_buckets(people: np.ndarray, k: int) -> list[list]:
    """Groups by how many people they hold: k…2k-1, 2k…5k-1, 5k…10k-1, 10k and more."""
    edges = [k, 2 * k, 5 * k, 10 * k, np.inf]
    rows = []
    for low, high in zip(edges, edges[1:]):
        inside = (people >= low) & (people < high)
        label = f"{int(low)}–{int(high) - 1}" if np.isfinite(high) else f"{int(low)} or more"
        rows.append([label, int(inside.sum())])
    return rows


def _trajectory_note(traj: dict | None) -> str:
    if not traj:
        return "<p>No person identifier is released: rows of one person cannot be linked to each other.</p>"
    return (f"<p class='warn'>A re-keyed person id ({_e(', '.join(traj['columns']))}) links each person's rows into "
            f"a trajectory: {traj['people']} people, up to {traj['max_rows_per_person']} rows each (median "
            f"{traj['median_rows_per_person']:g}). Someone who knows a few of a person's events can find that person "
            "and follow all of their rows; the risks above assume single rows.</p>")


def _source(report: dict) -> str:
    source = report.get("input") or {}
    if "zone" in source:
        days = source["days"]
        span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
        return f"lake zone {source['zone']}, {span} ({len(days)} days, {source['rows']} rows)"
    return f"file {source.get('path', '–')}"


def render_html(report: dict, result: ExtractResult) -> str:
    """A single self-contained HTML page, in words first and figures second."""
    risk, records, settings = report["risk"], report["records"], result.settings
    protect = "".join(f"<li>{_e(s)}</li>" for s in report["in_words"])
    warnings = "".join(f"<li>{_e(w)}</li>" for w in report["warnings"])
    warning_box = f"<div class='warn'><h2>Warnings</h2><ul>{warnings}</ul></div>" if warnings else ""
    attributes = _table(
        ["attribute", "released as", "level", "allowed levels", "weight", "information lost"],
        [[col, t["meaning"] + (f", e.g. {t['example']}" if t.get("example") and t["level"] < t["height"] else ""),
          f"{t['level']} of {t['height']}", f"{t['allowed_levels'][0]}–{t['allowed_levels'][1]}",
          f"{t['weight']:g}", f"{t['loss']:.1%}" if "loss" in t else "–"]
         for col, t in report["transformation"].items()],
    )
    columns = report["columns"]
    rekey = report.get("rekey_key") or "none"
    column_rows = [
        ["generalized (quasi-identifiers)", ", ".join(columns["quasi_identifiers"]) or "–"],
        ["released unchanged", ", ".join(columns["kept"] + ([columns["sensitive"]] if columns["sensitive"] else []))
         or "–"],
        ["identifiers released (--allow-identifiers)", ", ".join(columns["identifiers_kept"]) or "none"],
        ["re-keyed (new pseudonyms, key: " + rekey + ")", ", ".join(columns["rekeyed"]) or "none"],
        ["dropped (not released)", ", ".join(columns["dropped"]) or "none"],
    ]
    traj = report["trajectories"]
    if traj:
        column_rows.append(["person id linking rows", f"{', '.join(traj['columns'])}: {traj['people']} people, up to "
                            f"{traj['max_rows_per_person']} rows each (median {traj['median_rows_per_person']:g})"])
    threshold = risk["threshold"]
    risk_rows = [
        ["prosecutor", "knows the person is in the extract and what their attributes are",
         f"{risk['prosecutor']['highest']:.1%}", f"{risk['prosecutor']['average']:.2%}",
         f"{risk['prosecutor']['people_above_threshold']}"],
        ["journalist", "matches the extract against the population it came from",
         f"{risk['journalist']['highest']:.1%}", f"{risk['journalist']['average']:.2%}",
         f"{risk['journalist']['people_above_threshold']}"],
        ["marketer", "tries to re-identify everyone at once (expected share succeeded)", "–",
         f"{risk['marketer']:.2%}", "–"],
    ]
    people = report["people"]
    who = (f"{people['released']} people (linked through {', '.join(people['subject_columns'])})"
           if people["subject_columns"] else "one person per record")
    sample_rows = report["sample_rows"]
    sample = _table(list(sample_rows[0]), [list(r.values()) for r in sample_rows]) if sample_rows else "<p>none</p>"
    people_per_class = result.class_people if result.class_people is not None else result.class_sizes
    search = report["search"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Extract report{(' for ' + _e(report['recipient'])) if report.get('recipient') else ''}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:62em;margin:1.5em auto;color:#222;line-height:1.4}}
table{{border-collapse:collapse;margin:.4em 0 1em}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left;
vertical-align:top}}th{{background:#f3f3f3}}.warn{{border:2px solid #c0392b;background:#fdecea;padding:.2em 1em;
margin:1em 0}}.facts td:first-child{{font-weight:600}}small{{color:#666}}</style>
</head><body>
<h1>Anonymized extract{(' for ' + _e(report['recipient'])) if report.get('recipient') else ''}</h1>
<p><small>{_e(report.get('tool', ''))}, created {_e(report.get('created_at', ''))}. Source: {_e(_source(report))}.</small></p>
<table class="facts">
<tr><td>records</td><td>{records['input']} read, {records['released']} released, {records['suppressed']} removed</td></tr>
<tr><td>people</td><td>{_e(who)}</td></tr>
<tr><td>smallest group</td><td>{report['achieved']['k']} people (required: at least {settings.k})</td></tr>
<tr><td>groups</td><td>{report['equivalence_classes']['count']}, on average {report['equivalence_classes']['avg_people']:.1f} people</td></tr>
</table>
{warning_box}
<h2>How the people in it are protected</h2><ul>{protect}</ul>
<h2>Attributes: how precise each one is</h2>{attributes}
<p><small>Information lost: the share of each attribute's detail given up, removed records counting as fully lost
(0% = exact, 100% = nothing left; ARX's Loss, Iyengar 2002). A higher weight makes the search keep that attribute
more precise; the allowed levels bound what the search may choose.</small></p>
<h2>Columns</h2>{_table(["what", "columns"], column_rows)}
<h2>Re-identification risk</h2>
<p>Risk that an attacker picks out one person, counted in people (not rows). A group of n people gives 1/n.</p>
{_table(["attacker", "who that is", "highest", "average", f"people above {threshold:.0%}"], risk_rows)}
{_trajectory_note(traj)}
<h2>Group sizes</h2>{_table(["people in the group", "groups"], _size_buckets(people_per_class, settings.k))}
<h2>Sample rows</h2><p><small>{len(sample_rows)} randomly chosen released rows, exactly as delivered.</small></p>{sample}
<details><summary>Technical details</summary>
<p>Quality model {_e(report['score']['metric'])}: {report['score']['value']:.6f}. Search: {search['evaluated']} of
{search['lattice_size']} transformations evaluated ({search['pruned_by_monotonicity']} pruned by monotonicity,
{search['pruned_by_bound']} by the bound) in {search['seconds']:.2f} s. Policy: {_e(report.get('policy', {}).get('source', '–'))}.
Re-keying key id: {_e(report.get('rekey_key_id') or '–')}.</p></details>
</body></html>
"""
