"""Who the people in an extract are: subject columns linked into persons, and which columns identify them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipeline.linkage import subject_ids

# The pseudonymized zone's person identifiers; used as subjects when present and no --subject is given.
DEFAULT_SUBJECT_COLUMNS = ("user_pseudonym", "device_pseudonym", "cookie_pseudonym")
# Columns that single out a person or an event and so must not be released as they are: pseudonyms,
# raw ids, event/session/batch ids (a join key back to the lake and to backend logs).
_IDENTIFIER_NAME = re.compile(r"(^|[_.-])(id|uuid|guid|pseudonym|session|sessionid)$|_id$|^id_", re.IGNORECASE)


def is_identifier(column: str, known: frozenset[str] | set[str] = frozenset()) -> bool:
    """Is ``column`` a person/event identifier (named so, or known as one from the policy)?"""
    return column in known or bool(_IDENTIFIER_NAME.search(column))


def default_subjects(columns) -> tuple[str, ...]:
    """The default subject columns present in ``columns`` (empty: every record is its own person)."""
    return tuple(c for c in DEFAULT_SUBJECT_COLUMNS if c in set(columns))


def subject_codes(frame: pd.DataFrame, columns: tuple[str, ...]) -> tuple[np.ndarray | None, int]:
    """A dense person code per record, and how many records had no identifier at all.

    Identifiers that occur together in a record belong to one person (connected components, see
    pipeline/linkage.py), so a device seen before and after login is one person, not two.
    Records with no identifier cannot be told apart: they are all counted as ONE person, the
    direction that can only make classes look smaller, never larger.
    """
    if not columns:
        return None, 0
    # An empty CSV cell is a missing identifier, not one shared value that would link strangers.
    identifiers = [frame[c].astype("string").replace("", pd.NA).to_numpy(dtype=object, na_value=None)
                   for c in columns]
    ids = subject_ids(identifiers)
    missing = ids < 0
    if missing.any():
        ids = np.where(missing, ids.max() + 1, ids)
    _, dense = np.unique(ids, return_inverse=True)
    return dense.astype(np.int64), int(missing.sum())
