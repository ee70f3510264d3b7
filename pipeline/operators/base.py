"""Operator contract: validated params, declared output columns, and a column-in → columns-out transform."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from pipeline.keys.ring import KeyRing


class OperatorParams(BaseModel):
    """Base of every operator's parameters: unknown parameters are an error at policy load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(OperatorParams):
    pass


@dataclass
class BatchContext:
    """What every operator may read besides its own column: event times and the key in force per row."""

    times_ms: np.ndarray
    key_index: np.ndarray  # index into ring.keys per row; rows without a usable key were rejected upstream
    ring: KeyRing
    services: dict[str, Any] = field(default_factory=dict)  # shared heavy objects (e.g. the text PII engine)

    @property
    def size(self) -> int:
        return len(self.times_ms)


@dataclass
class OperatorResult:
    """Output columns (name → Arrow array of the batch's length) and rows to dead-letter (row → reason)."""

    columns: dict[str, pa.Array]
    rejects: dict[int, tuple[str, str]] = field(default_factory=dict)


class Operator(ABC):
    """Transforms one input field of the whole batch into output columns.

    `values` is an Arrow array typed from telemetry-event.v1 (a struct array for objects with declared
    properties, null where absent), or a list of Python values (None when absent) for free-form objects such
    as `properties`. Operators compute on distinct values (see pipeline.operators.columnar).
    """

    name: ClassVar[str]
    Params: ClassVar[type[OperatorParams]] = NoParams
    reads_values: ClassVar[bool] = True  # False: the kernel skips extracting the field and passes nulls

    def __init__(self, field_path: str, params: OperatorParams, output: str | None):
        self.field_path = field_path
        self.params = params
        self.output = output or self.default_output(field_path)

    def default_output(self, field_path: str) -> str:
        return field_path.replace(".", "_")

    @abstractmethod
    def output_schema(self) -> list[pa.Field]:
        """The Arrow fields this operator adds to the pseudonymized record."""

    @abstractmethod
    def apply(self, values: pa.Array | list, ctx: BatchContext) -> OperatorResult:
        """Transform a whole batch column; must not do I/O."""

    def prefetch(self, values: pa.Array | list, ctx: BatchContext) -> None:
        """Called with the same `values` and `ctx` before any operator's apply: work that can start early (handed
        to another process) starts here. `apply` gives the same result whether or not this ran."""
