"""`anonpipe extract`: the command-line front end of the third-party extract tool."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import click

from pipeline import __version__
from pipeline.extract.anonymize import ExtractConfigError, ExtractSettings, L_VARIANTS, anonymize
from pipeline.extract.io import (ExtractIOError, append_audit_entry, check_output_dir, read_table, sha256_file,
                                 staged_output_dir, write_manifest)
from pipeline.extract.quality import METRICS
from pipeline.extract.rekey import RekeyError, key_id, recipient_key
from pipeline.extract.report import build_report, render_html
from pipeline.extract.search import SearchError
from pipeline.hierarchies import HierarchyError, parse_hierarchy_arg
from pipeline.privacy import PrivacyModelError

SECRET_ENV = "ANONPIPE_EXTRACT_SECRET"
USER_ERRORS = (ExtractConfigError, ExtractIOError, HierarchyError, SearchError, PrivacyModelError, RekeyError)


def load_secret(secret_file: Path | None) -> bytes | None:
    """The re-keying secret from --secret-file, else the environment; its value is never echoed."""
    if secret_file is not None:
        try:
            return secret_file.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise RekeyError(f"cannot read --secret-file {secret_file}: {exc.strerror}") from exc
    value = os.environ.get(SECRET_ENV)
    return value.encode("utf-8") if value else None


@click.command("extract")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--qi", multiple=True, required=True, metavar="COL=HIERARCHY",
              help="Quasi-identifier and its hierarchy: an ARX CSV file or interval:/date:/h3:/prefix: spec.")
@click.option("--sensitive", metavar="COL", help="Sensitive attribute (released, protected by --l/--t).")
@click.option("--k", type=int, required=True, help="Minimum equivalence-class size.")
@click.option("--l", "l_value", type=float, help="l-diversity of the sensitive attribute.")
@click.option("--l-variant", type=click.Choice(list(L_VARIANTS)), default="distinct", show_default=True)
@click.option("--t", "t_value", type=float, help="Equal-distance t-closeness of the sensitive attribute.")
@click.option("--suppression", type=float, default=0.0, show_default=True,
              help="Largest share of records that may be suppressed.")
@click.option("--metric", type=click.Choice(list(METRICS)), default="loss", show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output directory (new).")
@click.option("--recipient", help="Who receives the extract; names the re-keying key.")
@click.option("--keep", multiple=True, metavar="COL", help="Insensitive column to release unchanged.")
@click.option("--rekey", multiple=True, metavar="COL", help="Pseudonym column to re-key for the recipient.")
@click.option("--secret-file", type=click.Path(path_type=Path), help=f"Re-keying secret (else ${SECRET_ENV}).")
@click.option("--risk-threshold", type=float, default=0.2, show_default=True)
@click.option("--audit-log", type=click.Path(path_type=Path), help="Default: DIR/../extract-audit.log.")
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr while searching.")
def extract_command(input_path, qi, sensitive, k, l_value, l_variant, t_value, suppression, metric, out_dir,
                    recipient, keep, rekey, secret_file, risk_threshold, audit_log, progress):
    """Release INPUT as an optimally generalized k-anonymous (l-diverse, t-close) extract."""
    try:
        summary = run_extract(
            input_path=input_path, qi=qi, sensitive=sensitive, k=k, l_value=l_value, l_variant=l_variant,
            t_value=t_value, suppression=suppression, metric=metric, out_dir=out_dir, recipient=recipient,
            keep=keep, rekey=rekey, secret_file=secret_file, risk_threshold=risk_threshold,
            audit_log=audit_log, progress=progress,
        )
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary)


def run_extract(*, input_path: Path, qi, sensitive, k, l_value, l_variant, t_value, suppression, metric,
                out_dir: Path, recipient, keep, rekey, secret_file, risk_threshold, audit_log, progress) -> str:
    """Validate everything, anonymize in memory, then publish the output directory atomically."""
    settings = ExtractSettings(
        qi=tuple(parse_hierarchy_arg(arg) for arg in qi), k=k, sensitive=sensitive, l=l_value,
        l_variant=l_variant, t=t_value, suppression=suppression, metric=metric, keep=tuple(keep),
        rekey=tuple(rekey), risk_threshold=risk_threshold,
    )
    key = None
    if rekey:
        secret = load_secret(secret_file)
        if secret is None:
            raise RekeyError(f"--rekey needs a secret: set {SECRET_ENV} or pass --secret-file")
        key = recipient_key(secret, recipient or "")
    out_dir = Path(out_dir)
    check_output_dir(out_dir)
    frame = read_table(input_path)
    result = anonymize(frame, settings, rekey_key=key, progress=progress)

    context = {
        "tool": f"anonpipe {__version__} extract",
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "input": {"path": str(input_path), "sha256": sha256_file(Path(input_path))},
        "recipient": recipient,
        "rekey_key_id": key_id(key) if key is not None else None,
    }
    report = build_report(result, context)
    with staged_output_dir(out_dir) as staging:
        result.released.to_parquet(staging / "extract.parquet", index=False)
        result.released.to_csv(staging / "extract.csv", index=False)
        (staging / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        (staging / "report.html").write_text(render_html(report, result), encoding="utf-8")
        manifest = write_manifest(staging)

    audit_path = Path(audit_log) if audit_log else out_dir.resolve().parent / "extract-audit.log"
    entry = {
        **context,
        "out": str(out_dir.resolve()),
        "manifest_sha256": sha256_file(out_dir / manifest.name),
        "privacy_models": report["privacy_models"],
        "suppression_limit": suppression,
        "levels": {col: t["level"] for col, t in report["transformation"].items()},
        "records": report["records"],
        "columns": report["columns"],
        "score": report["score"],
    }
    try:
        append_audit_entry(audit_path, entry)
    except OSError as exc:
        # No extract may exist without its audit entry.
        shutil.rmtree(out_dir, ignore_errors=True)
        raise ExtractIOError(f"cannot append to audit log {audit_path}: {exc.strerror}") from exc

    levels = ", ".join(f"{col}={t['level']}" for col, t in report["transformation"].items())
    return (f"extract written to {out_dir}: {report['records']['released']} records "
            f"({report['records']['suppressed']} suppressed), k={result.achieved_k}, "
            f"{settings.metric}={result.search.score:.6f}; levels {levels}")


if __name__ == "__main__":
    extract_command()
