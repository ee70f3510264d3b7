"""Independent people checker: who is one person, reconstructed from the pseudonymized zone as an attacker would.

No pipeline code on the checking side (not pipeline/linkage.py, not pipeline/kanon/): a dict union-find over
(column, pseudonym) pairs that occur in one event, per window (optionally per window and stage partition), then
every published aggregate row and every shareable window-stats number is recounted in these people.
"""

from __future__ import annotations

import zlib

import pandas as pd

from checks import assign_events_to_rows, epoch_ms

ID_COLUMNS = ["user_pseudonym", "device_pseudonym", "cookie_pseudonym", "session_pseudonym"]
HOUR_MS = 3_600_000


def people(events: pd.DataFrame, scope: list[str]) -> pd.Series:
    """A person label per event: connected components of co-occurring pseudonyms within each `scope` group."""
    parent: dict = {}

    def find(node):
        root = node
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    keys = list(zip(*[events[c] for c in scope])) if scope else [()] * len(events)
    rows = list(zip(*[events[c] for c in ID_COLUMNS]))
    firsts = []
    for key, ids in zip(keys, rows):
        nodes = [(key, column, value) for column, value in zip(ID_COLUMNS, ids) if isinstance(value, str)]
        for node in nodes[1:]:
            parent[find(node)] = find(nodes[0])
        firsts.append(nodes[0] if nodes else None)
    return pd.Series([None if f is None else repr(find(f)) for f in firsts], index=events.index)


def with_scope(events: pd.DataFrame, partitions: int) -> pd.DataFrame:
    events = events.copy()
    events["window"] = (epoch_ms(events["event_hour"]) // HOUR_MS) * HOUR_MS
    events["stage_partition"] = [zlib.crc32((t or "").encode()) % partitions for t in events["event_type"]]
    return events


def check_release(events: pd.DataFrame, aggregates: pd.DataFrame, stats: pd.DataFrame, k: int,
                  partitions: int, scope: list[str]) -> list[str]:
    """Every problem found (empty when every shareable number covers ≥ k people of the checker)."""
    problems: list[str] = []
    events = with_scope(events, partitions)
    events["person"] = people(events, scope)
    aggregates = aggregates.reset_index(drop=True)
    assignment = assign_events_to_rows(events, aggregates)
    for row, members in events[assignment >= 0].groupby(assignment[assignment >= 0]):
        n = members["person"].nunique()
        if n < k:
            problems.append(f"aggregate row {row} ({aggregates.loc[row, 'event_type']}, users="
                            f"{aggregates.loc[row, 'users']}) covers {n} people < k={k}")
    events["suppressed"] = assignment < 0
    windows = stats[stats["kind"] == "window"].copy()
    windows["window"] = epoch_ms(windows["window_start"])
    for _, row in windows.iterrows():
        mine = events[(events["window"] == row["window"]) & (events["stage_partition"] == row["partition"])]
        suppressed = mine[mine["suppressed"]]["person"].nunique()
        shown = {c: row[c] for c in ("events", "users", "suppressed_events", "suppressed_users") if pd.notna(row[c])}
        where = f"stats window {row['window']} partition {row['partition']}"
        if 0 < suppressed < k and shown:
            problems.append(f"{where}: shows {shown} while the suppressed part is {suppressed} people < k={k}")
        if shown and len(mine) and mine["person"].nunique() < k:
            problems.append(f"{where}: shows {shown} for {mine['person'].nunique()} people < k={k}")
        if pd.notna(row["events"]) and int(row["events"]) != len(mine):
            problems.append(f"{where}: events={row['events']} but the zone holds {len(mine)}")
        if pd.notna(row["suppressed_events"]) and int(row["suppressed_events"]) != int(mine["suppressed"].sum()):
            # published rows + suppressed totals = every event: the only difference that exists is the one shown
            problems.append(f"{where}: suppressed_events={row['suppressed_events']} but "
                            f"{int(mine['suppressed'].sum())} events are in no published row")
        if not shown and not (0 < suppressed < k):
            problems.append(f"{where}: withheld although its suppressed part is {suppressed} people")
    return problems
