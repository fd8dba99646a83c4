"""Files a campaign names (matrix data files, local files a provider uploads such as `input_file`).

A campaign from a pull request may name ``../../etc/passwd``, an absolute path,
or a symlink that leads out of its folder; only files below the campaign's own
folder are ever read. One rule, used by the planner and the executor alike.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from renderer.errors import DataFileError, LimitError, Location

_DIGESTS: dict[tuple[str, int, int, int], str] = {}
MAX_FILE_BYTES = 100 * 1024 * 1024  # the largest upload an API takes; a 50 GB sparse file took minutes to hash


def confined_path(folder: Path, name: Any, what: str, where: Location) -> Path:
    """The path ``name`` names below ``folder`` (symlinks resolved), or a located DataFileError."""
    if not isinstance(name, str) or not name.strip():
        raise DataFileError(f"{what} needs a file name relative to the campaign file", where)
    if Path(name).is_absolute():
        raise DataFileError(f"{what} {name!r} is absolute; name it relative to the campaign's folder", where)
    try:
        root = folder.resolve()
        target = (root / name).resolve()  # resolves symlinks too, so links out are caught
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL in the name, a symlink loop
        raise DataFileError(f"{what} {name!r}: {getattr(exc, 'strerror', None) or exc}", where) from None
    if not target.is_relative_to(root):
        raise DataFileError(f"{what} {name!r} is outside the campaign's folder", where)
    return target


def regular_file(path: Path, what: str, where: Location, max_bytes: int = MAX_FILE_BYTES) -> os.stat_result:
    """``path`` is a regular file no larger than ``max_bytes``: its status, or a located error."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DataFileError(f"{what} {path.name!r} not found (looked in {path.parent})", where) from None
    except OSError as exc:
        raise DataFileError(f"{what} {path.name!r}: {exc.strerror or exc}", where) from None
    if not path.is_file():
        raise DataFileError(f"{what} {path.name!r} is not a regular file", where)
    if st.st_size > max_bytes:
        raise LimitError(f"{what} {path.name!r} is {st.st_size} bytes; the limit is {max_bytes} bytes", where)
    return st


def file_digest(path: Path, what: str, where: Location, max_bytes: int = MAX_FILE_BYTES) -> str:
    """sha256 of a regular file's content, cached by identity so 100,000 instances read it once."""
    st = regular_file(path, what, where, max_bytes)
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    digest = _DIGESTS.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digest = _DIGESTS[key] = h.hexdigest()
    return digest
