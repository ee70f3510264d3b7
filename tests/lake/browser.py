"""Headless Chromium for the dashboard tests: the DOM after the page's script ran, and screenshots."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine: `apt-get install -y chromium` to run the dashboard browser tests")


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                            text=True, timeout=120)
    errors = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert not errors, f"the page logged: {errors}"
    return result


def dump_dom(page: Path, fragment: str, profile: Path) -> str:
    result = _run(["--dump-dom", f"{page.as_uri()}#{fragment}"], profile)
    assert "data-ready=\"1\"" in result.stdout, "the dashboard script did not finish"
    return result.stdout


def screenshot(page: Path, fragment: str, out: Path, profile: Path, height: int = 3000) -> Path:
    _run([f"--window-size=1100,{height}", f"--screenshot={out}", f"{page.as_uri()}#{fragment}"], profile)
    assert out.stat().st_size > 20_000
    return out


class DashboardDom(HTMLParser):
    """Each chart's data table (header and rows), its marks' values, and the KPI values."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.marks: dict[str, list[tuple[str, str]]] = {}
        self.kpis: dict[str, str] = {}
        self._chart: str | None = None
        self._in_table = False
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and "data-chart" in a:
            self._chart = a["data-chart"]
            self.tables[self._chart], self.marks[self._chart] = [], []
        elif tag == "table" and "data" in (a.get("class") or "").split() and self._chart:
            self._in_table = True
        elif tag == "tr" and self._in_table:
            self.tables[self._chart].append([])
        elif tag in ("td", "th") and self._in_table:
            self._cell = []
        elif "mark" in (a.get("class") or "").split() and self._chart:
            self.marks[self._chart].append((a.get("data-key"), a.get("data-value")))
        elif "data-kpi" in a:
            self.kpis[a["data-kpi"]] = a.get("data-value")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._chart][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table" and self._in_table:
            self._in_table = False
        elif tag == "figure":
            self._chart = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
