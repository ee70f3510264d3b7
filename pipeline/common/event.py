"""The validated event record: the keys validation adds to each event, the typed batch, rows → Arrow."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pyarrow as pa

# The validated event carries its parsed occurrence time here (epoch milliseconds, UTC).
EVENT_TIME_MS = "_ts_ms"
# …and its original bytes here (what the DLQ must hold if a later stage rejects it).
EVENT_RAW = "_raw"

# Conversion of Python values to the declared Arrow types raises these for values of another type.
CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError,
                     ValueError)


def convert_rows(events: Sequence, struct_type: pa.StructType) -> tuple[pa.StructArray, list[int]]:
    """The events as one struct array; rows whose values do not fit the types are converted as empty and listed.

    A batch that does not convert is bisected, so a few bad rows cost O(bad · log n) conversions.
    """
    try:
        return pa.array(events, type=struct_type), []
    except CONVERSION_ERRORS:
        pass
    misfits: list[int] = []
    empty = pa.array([{}], type=struct_type)

    def chunks(start: int, stop: int) -> list[pa.StructArray]:
        # Converted part by part and concatenated, not re-converted as one list: Arrow reads a struct from a dict
        # or from a sequence of pairs depending on the first row, so rows that convert alone may not together.
        try:
            return [pa.array(events[start:stop], type=struct_type)]
        except CONVERSION_ERRORS:
            if stop - start == 1:
                misfits.append(start)
                return [empty]
        middle = (start + stop) // 2
        return chunks(start, middle) + chunks(middle, stop)
    return pa.concat_arrays(chunks(0, len(events))), misfits


class TypedEvents(Sequence):
    """The events of typed envelopes, row for row; each is parsed to the reference's dict only when asked for.

    The kernel reads the Arrow columns and `free_form`; dicts are built for what still wants one event (a row
    a later operator rejects, tests), with the same content the reference path gives: orjson's parse of the
    line plus the event time and the line's bytes.
    """

    def __init__(self, raws: list[bytes], times: list[int], free_form: dict[str, list], time_key: str, raw_key: str):
        self.raws, self.times, self.free_form = raws, times, free_form
        self._keys = (time_key, raw_key)
        self._dicts: list[dict | None] = [None] * len(raws)

    def __len__(self) -> int:
        return len(self.raws)

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        event = self._dicts[row]
        if event is None:
            event = self._dicts[row] = orjson.loads(self.raws[row])
            event[self._keys[0]] = self.times[row]
            event[self._keys[1]] = self.raws[row]
        return event

    @classmethod
    def concat(cls, parts: list[TypedEvents]) -> TypedEvents:
        first = parts[0]
        if len(parts) == 1:
            return first
        free_form = {name: [v for p in parts for v in p.free_form[name]] for name in first.free_form}
        return cls([r for p in parts for r in p.raws], [t for p in parts for t in p.times], free_form, *first._keys)
