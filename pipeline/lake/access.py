"""Give every zone folder its audience's group and modes (ZONE_ACCESS), so each audience reads only its zones."""

from __future__ import annotations

import grp
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from pipeline.lake.layout import ZONE_ACCESS, zone_root


class AccessError(ValueError):
    """A configured group does not exist or the zone folders cannot be given their modes."""


@dataclass(frozen=True)
class ZonePermissions:
    zone: str
    root: Path
    group: str | None
    fixed: int  # files and folders whose mode or group was changed


def configured_groups(environ: Mapping[str, str] = os.environ) -> dict[str, int | None]:
    """Zone → gid of its readers' group from the environment (None: keep the writer's own group)."""
    groups: dict[str, int | None] = {}
    for zone, access in ZONE_ACCESS.items():
        name = environ.get(access.group_env) if access.group_env else None
        if not name:
            groups[zone] = None
            continue
        try:
            groups[zone] = int(name) if name.isdigit() else grp.getgrnam(name).gr_gid
        except KeyError:
            raise AccessError(f"{access.group_env}={name}: no such group") from None
    return groups


def _fix(path: Path, mode: int, gid: int | None) -> bool:
    info = path.lstat()
    changed = False
    if gid is not None and info.st_gid != gid:
        os.chown(path, -1, gid, follow_symlinks=False)
        changed = True
    if (info.st_mode & 0o7777) != mode:
        os.chmod(path, mode)
        changed = True
    return changed


def apply_zone_permissions(data_dir: str | os.PathLike, groups: Mapping[str, int | None] | None = None,
                           create: bool = True, walk: bool = True,
                           zones: Iterable[str] | None = None) -> list[ZonePermissions]:
    """Create each zone root (when `create`) and give it, its folders and its files the zone's group and modes.

    Files are made by the writers with 0640/0600; this also repairs anything copied in by hand. Symbolic links
    are left alone (never followed), so a link cannot widen access to a file outside the zone. `walk=False` sets
    the zone roots only (a worker at start-up: the files below inherit the group through the setgid folders).
    `zones` limits the work to those zones (default: all of ZONE_ACCESS).
    """
    groups = configured_groups() if groups is None else groups
    done = []
    for zone in ZONE_ACCESS if zones is None else zones:
        access = ZONE_ACCESS[zone]
        root = zone_root(data_dir, zone)
        if not root.is_dir():
            if not create:
                continue
            root.mkdir(parents=True, exist_ok=True)
        gid = groups.get(zone)
        fixed = int(_fix(root, access.dir_mode, gid))
        for current, folders, files in os.walk(root) if walk else ():
            for name in folders:
                path = Path(current) / name
                if not path.is_symlink():
                    fixed += _fix(path, access.dir_mode, gid)
            for name in files:
                path = Path(current) / name
                if not path.is_symlink():
                    fixed += _fix(path, access.mode_for(name), gid)
        done.append(ZonePermissions(zone, root, None if gid is None else str(gid), fixed))
    return done
