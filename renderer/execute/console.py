"""The run's text output: scrubbed of credentials, and safe when its reader goes away.

``renderer run ... | head -1`` closes the pipe after one line. The next write would
raise ``BrokenPipeError`` in the middle of the run; instead the run is told once
(``on_broken``: stop submitting, stop waiting, like a first Ctrl-C), later writes are
dropped, and the command still writes its manifest and exits non-zero.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TextIO

from renderer.execute.scrub import Scrubber
from renderer.text import utf8_safe


class RunOutput:
    def __init__(self, stream: TextIO, scrubber: Scrubber) -> None:
        self._stream = stream
        self._scrubber = scrubber
        self.broken = False
        self.on_broken: Callable[[], None] | None = None

    def write(self, text: str) -> int:
        if self.broken:
            return len(text)
        try:
            return self._stream.write(utf8_safe(self._scrubber.text(text)))  # an answer's lone surrogate: escaped
        except (BrokenPipeError, ConnectionResetError):
            self._broke()
            return len(text)

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self._stream.flush()
        except (BrokenPipeError, ConnectionResetError):
            self._broke()

    def isatty(self) -> bool:
        isatty = getattr(self._stream, "isatty", None)
        return bool(isatty and isatty())

    def _broke(self) -> None:
        self.broken = True
        silence(self._stream)
        if self.on_broken is not None:
            self.on_broken()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno... as the stream has them
        return getattr(self._stream, name)


def silence(stream: Any) -> None:
    """Point a closed pipe's descriptor at /dev/null: the interpreter's last flush must not fail."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
    except OSError:
        pass
