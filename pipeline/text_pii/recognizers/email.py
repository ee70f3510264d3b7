"""Presidio's email recognizer with a domain check that can never go to the network."""

from __future__ import annotations

from typing import Optional

import tldextract
from presidio_analyzer.predefined_recognizers import EmailRecognizer

# An explicit empty URL list: even if tldextract was imported (and its module-level
# extractor built) before pipeline.text_pii set TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS,
# this extractor uses only the suffix list bundled with tldextract, and no disk cache.
_OFFLINE_EXTRACT = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """Email addresses whose domain ends in a public suffix (bundled list)."""

    canonical_form = staticmethod(str.lower)

    def validate_result(self, pattern_text: str) -> Optional[bool]:  # noqa: D102
        return _OFFLINE_EXTRACT(pattern_text).fqdn != ""
