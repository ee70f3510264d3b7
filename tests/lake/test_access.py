"""Zones as roles: each audience's Unix account can read its zones' files and nothing else."""

from __future__ import annotations

import os
import stat
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pipeline.lake.access import AccessError, apply_zone_permissions, configured_groups
from pipeline.lake.layout import AUDIT, DLQ, PSEUDONYMIZED, SHAREABLE_ZONES, ZONE_ACCESS, zone_root

from .conftest import DAYS
from .synthetic import build_lake

ANALYST_GID, RESTRICTED_GID, OUTSIDER_UID = 40001, 40002, 40003


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_modes_per_zone(data_dir):
    dlq_file = zone_root(data_dir, DLQ) / "date=2025-01-30" / "r.ndjson"
    dlq_file.parent.mkdir(parents=True)
    dlq_file.write_text("{}")
    os.chmod(dlq_file, 0o644)  # e.g. copied in by hand
    apply_zone_permissions(data_dir, groups={})
    for zone, access in ZONE_ACCESS.items():
        root = zone_root(data_dir, zone)
        assert _mode(root) == access.dir_mode, zone
        for path in root.rglob("*"):
            assert _mode(path) == (access.dir_mode if path.is_dir() else access.mode_for(path.name)), path
    assert _mode(dlq_file) == 0o600 and _mode(zone_root(data_dir, DLQ)) == 0o700


def test_unknown_group_is_a_clear_error():
    with pytest.raises(AccessError, match="ANONPIPE_SHAREABLE_GROUP=no-such-group-x: no such group"):
        configured_groups({"ANONPIPE_SHAREABLE_GROUP": "no-such-group-x"})


def _can_read(path, gid):
    """Whether an account outside the owner, in group `gid` only, can read the file (a real open, as `head`)."""
    out = subprocess.run(["head", "-c", "1", str(path)], user=OUTSIDER_UID, group=gid, extra_groups=[gid],
                         capture_output=True)
    return out.returncode == 0


@pytest.fixture
def shared_data_dir(ring):
    """A lake under a folder other accounts may traverse (pytest's tmp_path is private to its owner)."""
    top = Path(tempfile.mkdtemp(prefix="anonpipe-access-"))
    os.chmod(top, 0o755)
    build_lake(top / "data", DAYS, ring=ring)
    yield top / "data"
    shutil.rmtree(top)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as other Unix accounts (runs in CI containers)")
def test_each_audience_reads_only_its_zones(shared_data_dir):
    data_dir = shared_data_dir
    (zone_root(data_dir, DLQ) / "date=2025-01-30").mkdir(parents=True)
    (zone_root(data_dir, DLQ) / "date=2025-01-30" / "r.ndjson").write_text("{}")
    os.chmod(data_dir, 0o755)
    os.chmod(data_dir / "lake", 0o755)
    groups = {z: (ANALYST_GID if z in SHAREABLE_ZONES else RESTRICTED_GID if z in (PSEUDONYMIZED, AUDIT) else None)
              for z in ZONE_ACCESS}
    apply_zone_permissions(data_dir, groups=groups)
    files = {z: next(p for p in zone_root(data_dir, z).rglob("*") if p.is_file()) for z in (*SHAREABLE_ZONES,
                                                                                         PSEUDONYMIZED, DLQ)
             if any(p.is_file() for p in zone_root(data_dir, z).rglob("*"))}  # people: once release-people ran
    analyst = {z: _can_read(p, ANALYST_GID) for z, p in files.items()}
    restricted = {z: _can_read(p, RESTRICTED_GID) for z, p in files.items()}
    assert analyst == {"aggregates": True, "window_stats": True, "pseudonymized": False, "dlq": False}
    assert restricted == {"aggregates": False, "window_stats": False, "pseudonymized": True, "dlq": False}


def test_worker_start_gives_zone_roots_their_modes(tmp_path):
    from types import SimpleNamespace

    from pipeline.worker import StartupError, prepare
    data_dir = tmp_path / "fresh" / "data"
    settings = SimpleNamespace(data_dir=data_dir, lake_url=None, policy_path=None, keyring_path=None, demo=False)
    with pytest.raises(Exception) as caught:  # stops later, at the missing key ring: the folders exist by then
        prepare(settings)
    assert not isinstance(caught.value, StartupError)
    assert _mode(data_dir) == 0o700
    assert {z: _mode(zone_root(data_dir, z)) for z in ZONE_ACCESS} == {z: a.dir_mode for z, a in ZONE_ACCESS.items()}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a file as another account")
def test_an_owner_only_audit_log_planted_by_another_account_is_refused(tmp_path):
    from pipeline.lake.audit import ERASURE_LOG, append_audit
    planted = zone_root(tmp_path, AUDIT) / ERASURE_LOG
    planted.parent.mkdir(parents=True)
    planted.write_text("")
    os.chown(planted, OUTSIDER_UID, RESTRICTED_GID)  # as if a restricted reader created it first
    with pytest.raises(PermissionError, match="belongs to another account"):
        append_audit(tmp_path, ERASURE_LOG, {"action": "forget"}, mode=0o600)
    assert planted.read_text() == ""
