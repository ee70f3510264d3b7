"""Lake zones on an object store (s3://, gs://, abfs://, file://) through pyarrow's filesystem layer.

Delivery guarantee: the same as the local writer's. An object-store PUT is atomic (readers see the whole object
or none), so no temp-name-and-rename is needed; object footers list their batch ids, which the sink's ledger
lists before writing (pipeline/lake/ledger.py), so a replay adds nothing.
Credentials come from the environment, as pyarrow reads them (e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or
the instance role); never put them in the URL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.common.columns import DATE_COLUMN
from pipeline.lake.layout import object_store_prefix
from pipeline.lake.writer import PARQUET_COMPRESSION


@dataclass(frozen=True)
class ObjectStoreLake:
    """A lake root on any filesystem pyarrow can open from a URI."""

    filesystem: pafs.FileSystem
    root: str

    @classmethod
    def from_url(cls, url: str) -> "ObjectStoreLake":
        try:
            filesystem, root = pafs.FileSystem.from_uri(url)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise ValueError(f"lake URL is not usable: {exc}") from None
        return cls(filesystem, root.rstrip("/"))

    def zone_root(self, zone: str) -> str:
        return object_store_prefix(self.root, zone)

    def write_partition_file(self, zone: str, date_value: str, name: str, table: pa.Table,
                             partition_column: str = DATE_COLUMN) -> str:
        """One object, hive style; a PUT is atomic, so readers never see part of it."""
        path = f"{self.zone_root(zone)}/{partition_column}={date_value}/{name}"
        pq.write_table(table, path, filesystem=self.filesystem, compression=PARQUET_COMPRESSION)
        return path
