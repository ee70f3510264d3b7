"""One extract run: validate the arguments, read the file or lake zone, anonymize, publish atomically, audit."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd

from pipeline import __version__
from pipeline.extract.anonymize import ExtractConfigError, ExtractSettings, anonymize
from pipeline.extract.io import (ExtractIOError, append_audit_entry, check_output_dir, read_table, sha256_file,
                                 staged_output_dir, write_manifest)
from pipeline.extract.lake_input import ZONES as LAKE_ZONES
from pipeline.extract.lake_input import read_lake
from pipeline.extract.people import DEFAULT_SUBJECT_COLUMNS
from pipeline.extract.policy_defaults import PolicyDefaultsError, load_policy_defaults
from pipeline.extract.progress import Progress
from pipeline.extract.rekey import RekeyError, key_id, one_off_key, recipient_key
from pipeline.extract.report import build_report, render_html
from pipeline.extract.search import SearchError
from pipeline.extract.secret import load_secret
from pipeline.hierarchies import HierarchyError, parse_hierarchy_arg
from pipeline.lake.audit import EXTRACT_LOG, append_audit
from pipeline.privacy import PrivacyModelError

USER_ERRORS = (ExtractConfigError, ExtractIOError, HierarchyError, SearchError, PrivacyModelError, RekeyError,
               PolicyDefaultsError)


def _column_list(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def run_extract(*, input_path: Path | None, data_dir: Path | None, zone: str, days: str | None, columns: str | None,
                qi, policy_path, sensitive, k, subjects, l_value, l_variant, t_value, suppression, metric, weights,
                level_bounds, out_dir: Path, recipient, keep, allow_identifiers, rekey, stable_key, secret_file,
                risk_threshold, audit_log, progress: str) -> str:
    """Validate everything, anonymize in memory, then publish the output directory atomically."""
    report_progress = Progress(progress)
    if (input_path is None) == (data_dir is None):
        raise ExtractConfigError("give either an INPUT file or --from-lake DATA_DIR")
    defaults = load_policy_defaults(policy_path)
    explicit = {spec.column: spec for spec in (parse_hierarchy_arg(a, defaults.hierarchy_defaults) for a in qi)}
    wanted = _column_list(columns)
    if not wanted and not explicit:
        raise ExtractConfigError("give the quasi-identifiers: --columns COL,… and/or --qi COL=HIERARCHY")
    subject_columns = None if not subjects else (() if list(subjects) == ["none"] else tuple(subjects))
    key, key_mode = _rekey_key(rekey, stable_key, recipient, secret_file, load_secret)
    out_dir = Path(out_dir)
    check_output_dir(out_dir)

    needed = list(dict.fromkeys(wanted + list(explicit) + list(keep) + list(rekey)
                                + ([sensitive] if sensitive else []) + list(subject_columns or ())))
    with report_progress.phase("reading"):
        if data_dir is not None:
            _audit_lake_read(data_dir, zone, days, needed, recipient, out_dir)
            frame, source = read_lake(data_dir, zone, days or "all", needed, optional=DEFAULT_SUBJECT_COLUMNS)
        else:
            frame = read_table(input_path)
            source = {"path": str(input_path), "sha256": sha256_file(Path(input_path)), "rows": len(frame)}
            if wanted:
                absent = [c for c in wanted if c not in frame.columns]
                if absent:
                    raise ExtractConfigError(f"--columns: unknown column(s) {', '.join(absent)}; "
                                             f"the input has: {', '.join(map(str, frame.columns))}")
    timestamps = {c for c in wanted if pd.api.types.is_datetime64_any_dtype(frame[c])}
    specs = [explicit.get(c) or defaults.spec_for(c, c in timestamps) for c in wanted]
    specs += [spec for column, spec in explicit.items() if column not in wanted]
    # A timestamp on its default ladder is never released raw (UTC, to the millisecond): its finest
    # level is the first unit in local time, unless --levels says otherwise.
    bounded = {column for column, _, _ in level_bounds}
    level_bounds = tuple(level_bounds) + tuple(
        (c, 1, None) for c in wanted if c in timestamps and c not in explicit and c not in defaults.ladders
        and c not in bounded)

    settings = ExtractSettings(
        qi=tuple(specs), k=k, sensitive=sensitive, l=l_value, l_variant=l_variant, t=t_value,
        suppression=suppression, metric=metric, keep=tuple(keep), rekey=tuple(rekey), risk_threshold=risk_threshold,
        weights=weights, level_bounds=level_bounds, subjects=subject_columns, allow_identifiers=allow_identifiers,
        known_identifiers=defaults.identifiers,
    )
    result = anonymize(frame, settings, rekey_key=key, progress=report_progress)

    context = {
        "tool": f"anonpipe {__version__} extract",
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "input": source,
        "policy": {"source": defaults.source, "time_zone": defaults.time_zone},
        "recipient": recipient,
        "rekey_key_id": key_id(key) if key is not None else None,
        "rekey_key": key_mode,
    }
    report = build_report(result, context)
    with report_progress.phase(f"writing {len(result.released)} records"):
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
        "warnings": report["warnings"],
    }
    try:
        append_audit_entry(audit_path, entry)
    except OSError as exc:
        # No extract may exist without its audit entry.
        shutil.rmtree(out_dir, ignore_errors=True)
        raise ExtractIOError(f"cannot append to audit log {audit_path}: {exc.strerror}") from exc

    levels = ", ".join(f"{col}={t['level']}" for col, t in report["transformation"].items())
    people = f", {result.people_released} people" if result.people_released is not None else ""
    warnings = "".join(f"\nwarning: {w}" for w in result.warnings)
    return (f"extract written to {out_dir}: {report['records']['released']} records{people} "
            f"({report['records']['suppressed']} suppressed), k={result.achieved_k} people, "
            f"{settings.metric}={result.search.score:.6f}; levels {levels}{warnings}")


def _audit_lake_read(data_dir, zone: str, days, columns: list[str], recipient, out_dir: Path) -> None:
    """Record the restricted-zone read in <data>/audit/extract.log before it happens; no record, no read."""
    if zone not in LAKE_ZONES:
        raise ExtractIOError(f"--zone {zone!r}: an extract reads {', '.join(LAKE_ZONES)}")
    try:
        append_audit(data_dir, EXTRACT_LOG, {"action": "extract", "zone": zone, "days": days or "all",
                                             "columns": columns, "recipient": recipient,
                                             "out": str(Path(out_dir).resolve())})
    except OSError as exc:
        raise ExtractIOError(f"cannot record the read in the lake's audit log ({exc.strerror}); nothing was read") \
            from exc


def _rekey_key(rekey, stable_key: bool, recipient: str | None, secret_file, load_secret) -> tuple[bytes | None, str]:
    """The re-keying key: one-off by default; the recipient's stable key only when asked for."""
    if not rekey:
        if stable_key:
            raise ExtractConfigError("--stable-key needs --rekey COL")
        return None, "none"
    if not stable_key:
        return one_off_key(), "one-off (this extract only)"
    secret = load_secret(secret_file)
    if secret is None:
        raise RekeyError("--stable-key needs a secret: set ANONPIPE_EXTRACT_SECRET or pass --secret-file")
    return recipient_key(secret, recipient or ""), f"stable for recipient {recipient}"
