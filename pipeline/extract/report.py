"""The extract's report: report.json facts and a self-contained report.html with embedded plots."""

from __future__ import annotations

import base64
import html
import io
import json

import matplotlib

matplotlib.use("Agg")  # headless: render to PNG bytes, never open a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pipeline.extract.anonymize import ExtractResult  # noqa: E402


def build_report(result: ExtractResult, context: dict) -> dict:
    """Every figure a reviewer needs to accept the extract; ``context`` adds run metadata."""
    settings, search, sizes = result.settings, result.search, result.class_sizes
    return {
        **context,
        "privacy_models": [model.describe() for model in settings.models],
        "suppression_limit": settings.suppression,
        "records": {
            "input": result.input_records,
            "released": int(sizes.sum()),
            "suppressed": result.suppressed_records,
            "suppressed_share": result.suppressed_records / result.input_records,
        },
        "achieved": {"k": result.achieved_k, "l": result.achieved_l},
        "transformation": {
            dim.column: {"level": level, "height": dim.height, "hierarchy": dim.source,
                         **({"loss": result.qi_loss[dim.column]} if result.qi_loss else {})}
            for dim, level in zip(result.dimensions, search.levels)
        },
        "equivalence_classes": {
            "count": int(len(sizes)),
            "min_size": int(sizes.min()) if len(sizes) else 0,
            "avg_size": float(sizes.mean()) if len(sizes) else 0.0,
            "max_size": int(sizes.max()) if len(sizes) else 0,
        },
        "score": {"metric": settings.metric, "value": search.score},
        "risk": result.risk,
        "columns": {
            "quasi_identifiers": [s.column for s in settings.qi],
            "sensitive": settings.sensitive,
            "kept": list(settings.keep),
            "rekeyed": list(settings.rekey),
            "dropped": result.dropped_columns,
        },
        "search": {
            "lattice_size": search.lattice_size,
            "evaluated": search.evaluated,
            "pruned_by_monotonicity": search.pruned_by_monotonicity,
            "pruned_by_bound": search.pruned_by_bound,
            "seconds": round(search.seconds, 4),
        },
    }


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots(result: ExtractResult) -> dict[str, str]:
    sizes = result.class_sizes
    plots = {}

    figure, axis = plt.subplots(figsize=(6, 3.2))
    axis.hist(sizes, bins=min(40, max(1, len(np.unique(sizes)))), color="#4c72b0")
    axis.axvline(result.settings.k, color="#c44e52", linestyle="--", label=f"k = {result.settings.k}")
    axis.set(xlabel="equivalence class size (records)", ylabel="classes", title="Class sizes")
    axis.legend()
    plots["Class-size histogram"] = _png(figure)

    figure, axis = plt.subplots(figsize=(6, 3.2))
    names = [d.column for d in result.dimensions]
    axis.bar(names, [d.height for d in result.dimensions], color="#dddddd", label="hierarchy height")
    axis.bar(names, list(result.search.levels), color="#55a868", label="chosen level")
    axis.set(ylabel="generalization level", title="Level per quasi-identifier")
    axis.tick_params(axis="x", rotation=45)
    axis.legend()
    plots["Generalization levels"] = _png(figure)

    figure, axis = plt.subplots(figsize=(6, 3.2))
    risks = 1.0 / sizes if len(sizes) else np.array([])
    axis.hist(risks, bins=30, weights=sizes, color="#8172b2")
    axis.axvline(result.settings.risk_threshold, color="#c44e52", linestyle="--", label="threshold")
    axis.set(xlabel="prosecutor risk (1 / class size)", ylabel="records", title="Re-identification risk")
    axis.legend()
    plots["Re-identification risk"] = _png(figure)
    return plots


def render_html(report: dict, result: ExtractResult) -> str:
    """A single HTML file: key figures, the transformation table and base64 PNG plots."""
    rows = "".join(
        f"<tr><td>{html.escape(col)}</td><td>{t['level']} / {t['height']}</td>"
        f"<td>{html.escape(t['hierarchy'])}</td><td>{t.get('loss', float('nan')):.4f}</td></tr>"
        for col, t in report["transformation"].items()
    )
    risk = report["risk"]
    facts = [
        ("records in / released / suppressed",
         f"{report['records']['input']} / {report['records']['released']} / {report['records']['suppressed']}"),
        ("achieved k", report["achieved"]["k"]),
        ("achieved l", json.dumps(report["achieved"]["l"]) or "–"),
        ("equivalence classes (min / avg size)",
         f"{report['equivalence_classes']['count']} ({report['equivalence_classes']['min_size']} / "
         f"{report['equivalence_classes']['avg_size']:.1f})"),
        (f"{report['score']['metric']} score", f"{report['score']['value']:.6f}"),
        ("prosecutor risk (highest / average)",
         f"{risk['prosecutor']['highest']:.4f} / {risk['prosecutor']['average']:.4f}"),
        ("journalist risk (highest / average)",
         f"{risk['journalist']['highest']:.4f} / {risk['journalist']['average']:.4f}"),
        ("marketer risk", f"{risk['marketer']:.4f}"),
        (f"records above risk {risk['threshold']}", risk["prosecutor"]["records_above_threshold"]),
    ]
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts)
    images = "".join(
        f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'/>"
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
        for title, data in _plots(result).items()
    )
    recipient = html.escape(str(report.get("recipient") or "–"))
    models = html.escape(", ".join(json.dumps(m) for m in report["privacy_models"]))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Extract report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}figure{{display:inline-block;margin:.5em}}</style>
</head><body>
<h1>Extract report</h1><p>Recipient: {recipient}. Privacy models:
{models}; suppression limit {report['suppression_limit']}.</p>
<h2>Summary</h2><table>{fact_rows}</table>
<h2>Transformation</h2><table><tr><th>quasi-identifier</th><th>level / height</th><th>hierarchy</th>
<th>loss</th></tr>{rows}</table>
<h2>Plots</h2>{images}
</body></html>
"""
