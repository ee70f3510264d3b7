"""Free-text PII detection and anonymization (Presidio, offline) for Russian and Kazakh telemetry."""

import os

# Must run before presidio (and tldextract) is imported: with the URL list empty, tldextract
# uses its bundled public-suffix snapshot instead of fetching one with no timeout.
os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
# natasha's tiny matrix products are 5-10x slower when OpenBLAS spreads them over threads.
# Only effective if numpy has not been imported yet; a deployment should export it too.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .engine import ACTIONS, Finding, TextPiiEngine  # noqa: E402

__all__ = ["ACTIONS", "Finding", "TextPiiEngine"]
