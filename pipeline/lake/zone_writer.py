"""Write a buffer of sink messages into one lake zone (local folder or object store), skipping what it holds.

Delivery guarantee (with the sink acknowledging messages only after `write` returns): every row of every
message is on disk exactly once. A buffer delivered again — the sink crashed after writing and before its
offsets were committed, another worker took the partition over, or an upstream stage re-produced a batch with
the same batch id — finds its batch ids in the ledger and writes nothing twice. A crash between two partition
files of one buffer is covered the same way: the ledger is per partition.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lake.layout import zone_dir
from pipeline.lake.ledger import BatchLedger
from pipeline.lake.object_store import ObjectStoreLake
from pipeline.lake.rollover import PlannedFile, SinkMessage, plan_files
from pipeline.lake.writer import write_partition_file


@dataclass
class ZoneWriter:
    """`write(messages)` → planned files made durable; `lake` None means the local `data_dir`/lake."""

    data_dir: Path
    zone: str
    lake: ObjectStoreLake | None = None
    ledger: BatchLedger = field(init=False)

    def __post_init__(self) -> None:
        if self.lake is None:
            root = zone_dir(self.data_dir, self.zone)
            try:
                root.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                pass  # something else where the folder belongs: the sink's writes fail, are logged and retried
            self.ledger = BatchLedger.local(os.fspath(root))
        else:
            self.ledger = BatchLedger(self.lake.filesystem, self.lake.zone_root(self.zone))

    def write(self, messages: list[SinkMessage]) -> list[PlannedFile]:
        planned = plan_files(messages, self.ledger.held)
        for file in planned:
            if self.lake is None:
                write_partition_file(self.data_dir, self.zone, file.date_value, file.name, file.table)
            else:
                self.lake.write_partition_file(self.zone, file.date_value, file.name, file.table)
        return planned
