"""A window's pseudonymized rows (Arrow) → DP release: people linked over the window, then `release_dp`.

The linkage scope is the rows given (one window, and in the stream one stage partition): identifiers that occur
together in these rows are one person; identifiers that never meet here count as different people, and each of
them gets the full per-person bound (docs/dp.md says what that does to the guarantee).
"""

from __future__ import annotations

import pyarrow as pa

from pipeline.dp.release import DPWindowRelease, release_dp
from pipeline.kanon.hierarchy import UNKNOWN
from pipeline.linkage import subject_ids, table_columns
from pipeline.policy.model import KAnonSection


def cell_columns(table: pa.Table, config: KAnonSection) -> list[pa.ChunkedArray]:
    names = [config.partition_column, *config.cell_attributes]
    return [table.column(name).cast(pa.string()).fill_null(UNKNOWN) for name in names]


def release_table(table: pa.Table, config: KAnonSection, mode: str = "dp", share: float = 1.0) -> DPWindowRelease:
    """DP release of one window given as event-level rows with the policy's cell and subject columns."""
    subjects = subject_ids(table_columns(table, config.subject_columns))
    return release_dp(cell_columns(table, config), subjects, config=config, mode=mode, share=share)
