"""Container health probe: the worker's /metrics answers and its Kafka bootstrap server accepts connections."""

# Standard library only: it runs in the image's venv on every probe, and must not import the pipeline
# (seconds of start-up per probe) nor print anything that could hold configuration secrets.
import os
import socket
import sys
import urllib.request

PROBE_TIMEOUT_SECONDS = 4.0


def metrics_answer(port: str) -> bool:
    """True when the worker's Prometheus endpoint on this container answers 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=PROBE_TIMEOUT_SECONDS) as response:
            return response.status == 200
    except OSError:
        return False


def broker_reachable(bootstrap: str) -> bool:
    """True when any of the bootstrap servers (host:port, comma-separated) accepts a TCP connection."""
    for server in filter(None, (part.strip() for part in bootstrap.split(","))):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=PROBE_TIMEOUT_SECONDS):
                return True
        except (OSError, ValueError):
            continue
    return False


def main() -> int:
    """0 when healthy, 1 otherwise (Docker/podman HEALTHCHECK and Kubernetes exec probes read the exit code)."""
    port = os.environ.get("ANONPIPE_METRICS_PORT", "9108")
    if port != "0" and not metrics_answer(port):
        return 1
    bootstrap = os.environ.get("ANONPIPE_BOOTSTRAP", "")
    if bootstrap and not broker_reachable(bootstrap):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
