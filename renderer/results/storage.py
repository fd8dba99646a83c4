"""Where downloaded outputs are kept: a local folder, or any fsspec URL.

The one module that touches ``fsspec``. A local folder needs nothing else:
files are stored by content (``.store/<sha256>``) and hard-linked (else copied)
to their readable names. An fsspec target (``s3://bucket/prefix``, ``gs://``,
``file://``) gets both as copies; its filesystem package (s3fs, gcsfs, ...) is
the user's to install, and its absence is a clear error, not a traceback.

fsspec is for *writing* to the folder the user configured. A result URL an API
answers is never opened through it (``file://``, ``s3://`` would let an API read
this machine or the runner's buckets): downloads fetch http(s) only.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Protocol

STORE = ".store"
PARTIAL = ".partial"
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


class StorageError(Exception):
    """A target or a source could not be read or written; the text says why."""


def scheme_of(url: str) -> str | None:
    m = _SCHEME.match(url)
    return m.group(1).lower() if m else None


def is_fsspec_url(text: str) -> bool:
    """An outputs folder given as an fsspec URL: any scheme but http(s)."""
    scheme = scheme_of(text)
    return scheme is not None and scheme not in ("http", "https")


def _fs(url: str) -> tuple[Any, str]:
    try:
        import fsspec
        from fsspec.core import url_to_fs
    except ImportError as exc:  # pragma: no cover - a dependency
        raise StorageError(f"fsspec is not installed: {exc}") from None
    try:
        return url_to_fs(url)
    except (ImportError, ValueError) as exc:
        known: list[str] = list(getattr(fsspec, "available_protocols", list)())
        hint = "" if scheme_of(url) in known else " (unknown protocol)"
        raise StorageError(f"cannot open {url}: {exc}{hint}; install the matching fsspec filesystem package") from None


class Target(Protocol):
    def store_size(self, sha: str) -> int | None: ...
    def has_name(self, name: str, size: int) -> bool: ...
    def keep(self, local: Path, sha: str, name: str) -> None: ...
    def record_path(self, name: str) -> str: ...


class LocalTarget:
    """A folder on this machine; partial downloads live in it too, so a re-run resumes them."""

    def __init__(self, root: Path, record_base: Path) -> None:
        self.root = root
        self.record_base = record_base
        self.staging = root / PARTIAL

    def _store(self, sha: str) -> Path:
        return self.root / STORE / sha

    def store_size(self, sha: str) -> int | None:
        p = self._store(sha)
        return p.stat().st_size if p.is_file() else None

    def has_name(self, name: str, size: int) -> bool:
        p = self.root / name
        return p.is_file() and p.stat().st_size == size

    def keep(self, local: Path, sha: str, name: str) -> None:
        store = self._store(sha)
        store.parent.mkdir(parents=True, exist_ok=True)
        if local != store:
            os.replace(local, store)  # same filesystem: staging is under root
        dest = self.root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.link")
        tmp.unlink(missing_ok=True)
        try:
            os.link(store, tmp)
        except OSError:  # no hard links here (some filesystems): a copy
            shutil.copyfile(store, tmp)
        os.replace(tmp, dest)

    def record_path(self, name: str) -> str:
        return Path(os.path.relpath(self.root / name, self.record_base)).as_posix()


class FsspecTarget:
    """A remote (or fsspec ``file://``) folder: the store and the readable name are copies."""

    def __init__(self, url: str, staging: Path) -> None:
        self.url = url.rstrip("/")
        self.fs, self.base = _fs(self.url)
        self.staging = staging

    def _size(self, path: str) -> int | None:
        try:
            return int(self.fs.size(path)) if self.fs.exists(path) else None
        except (OSError, ValueError, TypeError):
            return None

    def store_size(self, sha: str) -> int | None:
        return self._size(f"{self.base}/{STORE}/{sha}")

    def has_name(self, name: str, size: int) -> bool:
        return self._size(f"{self.base}/{name}") == size

    def keep(self, local: Path, sha: str, name: str) -> None:
        try:
            for path in (f"{self.base}/{STORE}/{sha}", f"{self.base}/{name}"):
                parent = path.rsplit("/", 1)[0]
                self.fs.makedirs(parent, exist_ok=True)
                self.fs.put_file(str(local), path)
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot write to {self.url}: {exc}") from None
        local.unlink(missing_ok=True)

    def record_path(self, name: str) -> str:
        return f"{self.url}/{name}"


def target_for(where: str, record_base: Path, staging: Path) -> LocalTarget | FsspecTarget:
    """``where`` is a local folder (absolute, or relative to the current one) or an fsspec URL."""
    if is_fsspec_url(where):
        return FsspecTarget(where, staging)
    return LocalTarget(Path(where), record_base)
