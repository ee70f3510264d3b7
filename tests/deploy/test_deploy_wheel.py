"""The built wheel carries every data file the package reads at run time (the image installs the wheel, not the tree)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def package_data_files() -> set[str]:
    """Every non-Python file under pipeline/, links followed, as it must appear inside the wheel."""
    files = set()
    for directory, subdirectories, names in os.walk(REPO / "pipeline", followlinks=True):
        subdirectories[:] = [name for name in subdirectories if name != "__pycache__"]
        for name in names:
            if not name.endswith((".py", ".pyc")):
                files.add((Path(directory) / name).relative_to(REPO).as_posix())
    return files


def test_wheel_contains_every_package_data_file(tmp_path):
    # Regression: the event schema reached the package only through the editable install, so the container
    # image (a regular install) failed at start-up with FileNotFoundError for pipeline/schemas/*.json.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, timeout=300)
    (wheel,) = tmp_path.glob("anonpipe-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = set(archive.namelist())
    expected = package_data_files()
    assert "pipeline/schemas/telemetry-event.v1.json" in expected
    assert expected <= packaged, sorted(expected - packaged)
