"""Key ring file: load (refusing loose permissions), pick the key in force for an event time, rotate, destroy."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pipeline.common.private_file import write_private_json
from pipeline.keys.epochs import ACTIVE, DESTROYED, MIN_SECRET_BYTES, PERIODS, RETIRED


class KeyRingError(ValueError):
    """The key ring is missing, malformed or insecure. Messages never contain key material."""


@dataclass(frozen=True)
class Key:
    """One epoch's key. `secret` is None once destroyed; repr never shows it."""

    key_id: str
    not_before: dt.datetime
    not_after: dt.datetime
    status: str = ACTIVE
    secret: bytes | None = field(default=None, repr=False)

    def covers_ms(self, ts_ms: int) -> bool:
        return self.not_before.timestamp() * 1000 <= ts_ms < self.not_after.timestamp() * 1000


def _utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise KeyRingError(f"key validity time {text!r} has no UTC offset")
    return value.astimezone(dt.timezone.utc)


def epoch_bounds(period: str, moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) epoch of `period` that contains `moment` (UTC)."""
    moment = moment.astimezone(dt.timezone.utc)
    day = dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.timezone.utc)
    if period == "daily":
        return day, day + dt.timedelta(days=1)
    if period == "weekly":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=7)
    if period == "monthly":
        start = day.replace(day=1)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, end
    if period == "yearly":
        start = day.replace(month=1, day=1)
        return start, start.replace(year=start.year + 1)
    raise KeyRingError(f"unknown rotation period {period!r}; use one of {', '.join(PERIODS)}")


class KeyRing:
    """Keys ordered by validity start; at most one key covers any instant."""

    def __init__(self, keys: list[Key]):
        self.keys = sorted(keys, key=lambda k: k.not_before)
        for earlier, later in zip(self.keys, self.keys[1:]):
            if later.not_before < earlier.not_after:
                raise KeyRingError(f"keys {earlier.key_id!r} and {later.key_id!r} have overlapping validity")
        for key in self.keys:
            if key.status != DESTROYED and (key.secret is None or len(key.secret) < MIN_SECRET_BYTES):
                raise KeyRingError(f"key {key.key_id!r} is shorter than {MIN_SECRET_BYTES} bytes")
        self._starts_ms = np.array([int(k.not_before.timestamp() * 1000) for k in self.keys], dtype=np.int64)
        self._ends_ms = np.array([int(k.not_after.timestamp() * 1000) for k in self.keys], dtype=np.int64)

    # ---- selection -------------------------------------------------------------------------------
    def _covering(self, times_ms: np.ndarray) -> np.ndarray:
        """Index of the key whose epoch covers each time (whatever its status), or -1."""
        idx = np.searchsorted(self._starts_ms, times_ms, side="right") - 1
        valid = idx >= 0
        if len(self.keys):
            valid &= times_ms < self._ends_ms[np.where(valid, idx, 0)]
        else:
            valid[:] = False
        return np.where(valid, idx, -1)

    def key_index_for_times(self, times_ms: np.ndarray) -> np.ndarray:
        """Index into `self.keys` of the ACTIVE key covering each time, or -1 (none, retired or destroyed).

        Never another key than the epoch's own: one person would get two pseudonyms in one epoch and count
        twice in k-anonymity.
        """
        idx = self._covering(times_ms)
        if not len(self.keys):
            return idx
        active = np.array([k.status == ACTIVE for k in self.keys])
        return np.where((idx >= 0) & active[np.maximum(idx, 0)], idx, -1)

    def retired_for_times(self, times_ms: np.ndarray) -> np.ndarray:
        """Whether each time falls in the epoch of a retired key (its events are refused with KEY_RETIRED)."""
        idx = self._covering(times_ms)
        if not len(self.keys):
            return np.zeros(len(times_ms), dtype=bool)
        retired = np.array([k.status == RETIRED for k in self.keys])
        return (idx >= 0) & retired[np.maximum(idx, 0)]

    def held_keys(self) -> list[Key]:
        """Keys whose secret still exists (active or retired): what erasure can recompute pseudonyms with."""
        return [k for k in self.keys if k.secret is not None]

    def get(self, key_id: str) -> Key:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise KeyRingError(f"no key with id {key_id!r}")

    # ---- changes ---------------------------------------------------------------------------------
    def with_new_key(self, period: str, at: dt.datetime | None = None) -> tuple["KeyRing", Key]:
        """Add a key for the epoch containing `at` (default: the epoch after the last key, or now)."""
        if at is None:
            at = self.keys[-1].not_after if self.keys else dt.datetime.now(dt.timezone.utc)
        start, end = epoch_bounds(period, at)
        key = Key(f"{period[0]}{start:%Y%m%d}", start, end, ACTIVE, secrets.token_bytes(MIN_SECRET_BYTES))
        return KeyRing(self.keys + [key]), key

    def retired(self, key_id: str, max_age: dt.timedelta, now: dt.datetime | None = None) -> "KeyRing":
        """Retire a key whose epoch can no longer receive events: it ended more than `max_age` ago (the oldest
        event validation still accepts). Retiring earlier would dead-letter that epoch's late events."""
        key = self.get(key_id)
        now = now or dt.datetime.now(dt.timezone.utc)
        if key.status == DESTROYED:
            raise KeyRingError(f"key {key_id!r} is already destroyed")
        if key.not_after + max_age > now:
            raise KeyRingError(
                f"key {key_id!r} cannot be retired before {(key.not_after + max_age).isoformat()}: events of its "
                f"epoch are still accepted for max_age_days={max_age.total_seconds() / 86400:g} after it ends "
                "(retiring it now would send them to the DLQ)")
        return self.with_status(key_id, RETIRED)

    def with_status(self, key_id: str, status: str) -> "KeyRing":
        """Retire (keep the secret for erasure, stop using it) or destroy (wipe the secret: crypto-shredding)."""
        old = self.get(key_id)
        new = replace(old, status=status, secret=None if status == DESTROYED else old.secret)
        return KeyRing([new if k.key_id == key_id else k for k in self.keys])

    # ---- files -----------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"version": 1, "keys": [
            {"id": k.key_id, "not_before": k.not_before.isoformat(), "not_after": k.not_after.isoformat(),
             "status": k.status, "secret": base64.b64encode(k.secret).decode() if k.secret else None}
            for k in self.keys]}

    @classmethod
    def from_json(cls, data: dict) -> "KeyRing":
        try:
            keys = []
            for item in data["keys"]:
                secret = base64.b64decode(item["secret"], validate=True) if item.get("secret") else None
                keys.append(Key(str(item["id"]), _utc(item["not_before"]), _utc(item["not_after"]),
                                item.get("status", ACTIVE), secret))
        except (KeyError, TypeError, ValueError) as exc:
            # Never echo the offending value: it may be key material.
            raise KeyRingError(f"key ring is malformed ({type(exc).__name__} in a key entry)") from None
        for key in keys:
            if key.status not in (ACTIVE, RETIRED, DESTROYED):
                raise KeyRingError(f"key {key.key_id!r} has unknown status {key.status!r}")
        return cls(keys)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "KeyRing":
        path = Path(path)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyRingError(f"key ring file {path} does not exist (create one with `anonpipe keys new`)") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyRingError(f"key ring file {path} is readable by group/others (mode {stat.S_IMODE(mode):o}); "
                               "run `chmod 600` on it")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise KeyRingError(f"key ring file {path} is not valid JSON") from None
        return cls.from_json(data)

    def save(self, path: str | os.PathLike) -> None:
        """Atomic write with mode 0600 (temp file in the same folder, fsync, rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_json(path, self.to_json(), prefix=".keyring-", indent=1)


def ephemeral_ring(period: str = "yearly", around: dt.datetime | None = None) -> KeyRing:
    """Demo-only key ring: random keys for last, this and next epoch, never written to disk."""
    around = around or dt.datetime.now(dt.timezone.utc)
    start, _ = epoch_bounds(period, around)
    ring = KeyRing([])
    ring, _ = ring.with_new_key(period, start - dt.timedelta(seconds=1))
    ring, _ = ring.with_new_key(period, start)
    ring, _ = ring.with_new_key(period)
    return ring
