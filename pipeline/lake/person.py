"""Who is the person behind an erasure or access request: every pseudonym linked to the given identifiers.

For each key still held, the given identifiers are pseudonymized (the seeds), then the pseudonymized zone is
linked with pipeline.linkage (user ↔ device ↔ cookie ↔ session seen together in one row, within one key's
epoch: other epochs' pseudonyms differ by design). Every component holding a seed is the person, unless it has
more than `max_component` user/device/cookie identifiers: a shared or kiosk device links strangers, so such a
component is not expanded (only rows carrying the seeds themselves count as the person's) and is reported.
Sessions are not counted against the cap (one person has many). Works on local and object-store lakes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.common.columns import KEY_ID_COLUMN
from pipeline.keys.pseudonym import pseudonym
from pipeline.keys.ring import KeyRing
from pipeline.lake.layout import DEFAULT_MAX_COMPONENT, PSEUDONYMIZED, zone_dir
from pipeline.linkage import NO_SUBJECT, subject_ids


UNCAPPED_FIELDS = frozenset({"session_id"})
# Keyed-HMAC fields that identify an event, not a person: never linked or matched.
NOT_PERSON_FIELDS = frozenset({"event_id"})


class PersonError(ValueError):
    """The request cannot be resolved. Messages never contain an identifier or a pseudonym."""


@dataclass(frozen=True)
class ZoneSource:
    """The pseudonymized zone of one lake: a local folder or an object-store prefix."""

    filesystem: pafs.FileSystem
    root: str
    local: bool
    label: str  # for reports: "local" or the URL scheme and bucket, never credentials

    @classmethod
    def local_lake(cls, data_dir: str | os.PathLike) -> "ZoneSource":
        return cls(pafs.LocalFileSystem(), str(zone_dir(data_dir, PSEUDONYMIZED)), True, "local")

    @classmethod
    def object_store(cls, url: str) -> "ZoneSource":
        from pipeline.lake.object_store import ObjectStoreLake
        lake = ObjectStoreLake.from_url(url)
        return cls(lake.filesystem, lake.zone_root(PSEUDONYMIZED), False, url.split("?", 1)[0])

    def files(self) -> list[str]:
        """Data files of the zone (date partitions only; hidden and temp files skipped)."""
        selector = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        found = []
        for info in self.filesystem.get_file_info(selector):
            name = info.base_name
            if info.type == pafs.FileType.File and name.endswith(".parquet") and not name.startswith((".", "_")):
                found.append(info.path)
        return sorted(found)

    def read(self, path: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(path, columns=columns, filesystem=self.filesystem)


@dataclass
class OversizedComponent:
    key_id: str
    identifiers: dict[str, int]  # column → distinct identifiers (counts only: no pseudonyms in reports)
    rows: int


@dataclass
class Person:
    """The person's pseudonyms per key: key id → column → pseudonyms."""

    pseudonyms: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    seeds: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    oversized: list[OversizedComponent] = field(default_factory=list)
    keys_checked: list[str] = field(default_factory=list)

    def linked_counts(self) -> dict[str, int]:
        """Column → pseudonyms found beyond the seeds (what linkage added), summed over keys."""
        counts: dict[str, int] = {}
        for key_id, columns in self.pseudonyms.items():
            for column, values in columns.items():
                extra = len(values - self.seeds.get(key_id, {}).get(column, set()))
                if extra:
                    counts[column] = counts.get(column, 0) + extra
        return dict(sorted(counts.items()))

    def mask(self, table: pa.Table) -> np.ndarray:
        """Rows of `table` carrying any of the person's pseudonyms under the key that made them."""
        hit = np.zeros(table.num_rows, dtype=bool)
        if KEY_ID_COLUMN not in table.column_names or table.num_rows == 0:
            return hit
        key_ids = table.column(KEY_ID_COLUMN)
        for key_id, columns in self.pseudonyms.items():
            in_key = None
            for column, values in columns.items():
                if column not in table.column_names or not values:
                    continue
                found = pc.is_in(table.column(column).cast(pa.string()), pa.array(sorted(values), pa.string()))
                in_key = found if in_key is None else pc.or_(in_key, found)
            if in_key is not None:
                both = pc.fill_null(pc.and_(pc.equal(key_ids, key_id), in_key), False)
                hit |= both.to_numpy(zero_copy_only=False)
        return hit


def seeds(ring: KeyRing, identifiers: Mapping[str, str], fields: Mapping[str, tuple[str, int]]
          ) -> dict[str, dict[str, set[str]]]:
    """Key id → column → pseudonym of each given identifier, under every key still held."""
    for name, value in identifiers.items():
        if name not in fields:
            raise PersonError(f"field {name!r} is not erasable; known: {', '.join(sorted(fields))}")
        if not value:
            raise PersonError(f"an empty {name} was given")
    return {key.key_id: {fields[name][0]: {pseudonym(key.secret, name, str(value), fields[name][1])}
                         for name, value in identifiers.items()}
            for key in ring.held_keys()}


def _id_rows(sources: list[ZoneSource], columns: list[str]) -> Iterator[pa.Table]:
    for source in sources:
        for path in source.files():
            names = pq.read_schema(path, filesystem=source.filesystem).names
            if KEY_ID_COLUMN not in names:
                raise PersonError(f"{path} has no {KEY_ID_COLUMN} column, so its rows cannot be matched to a key")
            table = source.read(path, [c for c in [KEY_ID_COLUMN, *columns] if c in names])
            for column in columns:
                if column not in table.column_names:
                    table = table.append_column(column, pa.nulls(table.num_rows, pa.string()))
            yield table.select([KEY_ID_COLUMN, *columns])


def resolve(sources: list[ZoneSource], ring: KeyRing, identifiers: Mapping[str, str],
            fields: Mapping[str, tuple[str, int]], max_component: int = DEFAULT_MAX_COMPONENT) -> Person:
    """The person's pseudonyms in every source, linked per key epoch, capped (see the module docstring)."""
    if not identifiers:
        raise PersonError("give at least one identifier")
    fields = {name: spec for name, spec in fields.items() if name not in NOT_PERSON_FIELDS}
    person = Person(seeds=seeds(ring, identifiers, fields), keys_checked=[k.key_id for k in ring.held_keys()])
    person.pseudonyms = {k: {c: set(v) for c, v in cols.items()} for k, cols in person.seeds.items()}
    columns = [column for column, _ in fields.values()]
    capped = [column for name, (column, _) in fields.items() if name not in UNCAPPED_FIELDS]
    tables = [t.cast(pa.schema([(n, pa.string()) for n in t.column_names])) for t in _id_rows(sources, columns)]
    if not tables:
        return person
    everything = pa.concat_tables(tables)
    for key_id, key_seeds in person.seeds.items():
        rows = everything.filter(pc.equal(everything.column(KEY_ID_COLUMN), key_id))
        if rows.num_rows == 0:
            continue
        # Row → linked subject, vectorized (pipeline.linkage); only the person's few subjects are then unpacked.
        subjects = subject_ids([rows.column(c) for c in columns])
        touched = np.zeros(rows.num_rows, dtype=bool)
        for column, values in key_seeds.items():
            if column in rows.column_names:
                found = pc.is_in(rows.column(column), pa.array(sorted(values), pa.string()))
                touched |= pc.fill_null(found, False).to_numpy(zero_copy_only=False)
        for subject in np.unique(subjects[touched]).tolist():
            if subject == NO_SUBJECT:
                continue
            members = pa.array(subjects == subject)
            identifiers = {c: set(pc.unique(rows.column(c).filter(members)).drop_null().to_pylist()) for c in columns}
            identifiers = {c: v for c, v in identifiers.items() if v}
            size = sum(len(identifiers.get(c, ())) for c in capped)
            if size > max_component:
                person.oversized.append(OversizedComponent(
                    key_id, {c: len(v) for c, v in sorted(identifiers.items())}, int(pc.sum(members).as_py())))
                continue
            for column, values in identifiers.items():
                person.pseudonyms[key_id].setdefault(column, set()).update(values)
    return person


def local_and_remote(data_dir: str | os.PathLike, lake_url: str | None) -> list[ZoneSource]:
    """The local pseudonymized zone (if it exists) and the object-store one (if a lake URL is configured)."""
    sources = []
    if Path(zone_dir(data_dir, PSEUDONYMIZED)).is_dir():
        sources.append(ZoneSource.local_lake(data_dir))
    if lake_url:
        sources.append(ZoneSource.object_store(lake_url))
    return sources
