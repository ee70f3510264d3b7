"""No network: building the engine and analyzing work with every socket connection refused."""

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.text_pii import TextPiiEngine

REPO_ROOT = Path(__file__).resolve().parents[2]
TEXT = "почта aigerim@mail.kz, сайт https://egov.kz, ИИН 900101300126, тел. 87011234567"


@pytest.fixture
def no_network(monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_build_and_analyze_offline(no_network, tmp_path, monkeypatch):
    monkeypatch.setenv("ANONPIPE_CACHE_DIR", str(tmp_path))  # forces blank pipelines to be created now
    engine = TextPiiEngine.from_config()
    found = {f.entity_type for f in engine.analyze(TEXT, "ru")} | {f.entity_type for f in engine.analyze(TEXT, "kk")}
    assert found == {"EMAIL", "URL", "IIN", "PHONE"}
    assert no_network == []
    cached = sorted(p.name for p in (tmp_path / "spacy").iterdir())
    assert len(cached) == 2 and not [name for name in cached if name.startswith(".")], cached  # ru + xx, no staging dirs


def test_fresh_interpreter_offline(tmp_path):
    """Blocks sockets before anything is imported, so import-time fetches would fail too."""
    script = textwrap.dedent(
        f"""
        import socket
        def refuse(*a, **k):
            raise SystemExit("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from pipeline.text_pii import TextPiiEngine
        engine = TextPiiEngine.from_config()
        print(sorted({{f.entity_type for f in engine.analyze({TEXT!r})}}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "", "HOME": str(tmp_path), "ANONPIPE_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "['EMAIL', 'IIN', 'PHONE', 'URL']"


def test_missing_model_path_is_refused_not_downloaded(tmp_path, monkeypatch):
    from pipeline.text_pii import nlp

    monkeypatch.setattr(nlp, "ensure_blank_pipeline", lambda language, root=None: tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        nlp.build_nlp_engine(["ru"])
