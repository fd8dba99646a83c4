"""Replace a file whole or not at all: the manifest, a plan file, JUnit XML, the report.

A reader (a re-run, CI, git) must never find half a file, so the text goes to a temporary
file in the same folder, is fsynced, and is renamed over the target. The temporary file
is made 0600 by ``mkstemp``; the result is made readable (0644) like any file we write.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text(path: Path, text: str, fsync: bool = True) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8). OSError is the caller's to translate.

    ``fsync=False``: atomic against a killed process (the kernel keeps what was written), not
    against a machine that loses power (a run's frequent manifest checkpoints)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
