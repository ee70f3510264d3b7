"""`time_bucket`: truncate the event time to minute / 15 min / hour / day (UTC)."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)

BUCKET_MS = {"minute": 60_000, "15min": 900_000, "hour": 3_600_000, "day": 86_400_000}


class TimeBucketParams(OperatorParams):
    granularity: Literal["minute", "15min", "hour", "day"] = "hour"


class TimeBucket(Operator):
    """Reads the parsed event time (the validator's), not the raw string, so every offset form agrees."""

    name = "time_bucket"
    reads_values = False
    Params = TimeBucketParams

    def default_output(self, field_path: str) -> str:
        return "event_time_bucket"

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.timestamp("ms", tz="UTC"))]

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        size = BUCKET_MS[self.params.granularity]
        buckets = (ctx.times_ms // size) * size
        return OperatorResult({self.output: pa.array(buckets, type=pa.timestamp("ms", tz="UTC"))})
