"""A throwaway Prosody for benchmarks, built from the test rig (tests/rig)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from rig.certs import make_rig_pki  # noqa: E402
from rig.prosody import ProsodyServer  # noqa: E402


@contextlib.contextmanager
def bench_server(*, file_share: bool = False) -> Iterator[ProsodyServer]:
    """A started Prosody (archive limit raised by the rig's config) trusted via
    SSL_CERT_FILE; stopped and removed on exit. ``file_share``: with the XEP-0363 upload
    component (mod_http_file_share, see tests/rig/prosody.py)."""
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-") as tmp:
        pki = make_rig_pki(Path(tmp) / "pki")
        os.environ["SSL_CERT_FILE"] = str(pki.ca_cert_path)
        server = ProsodyServer(
            Path(tmp) / "prosody", cert=pki.server, log_level="warn", file_share=file_share
        )
        server.start()
        try:
            yield server
        finally:
            server.cleanup()
