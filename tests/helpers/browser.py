"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

No websocket library and no driver: Chromium reads commands from fd 3 and writes
answers and events to fd 4, each a JSON object ended by a NUL byte. What the tests
need: open a page at a window width, read its laid-out height, take a full-page
screenshot, and collect every console message, page error and log entry (a
Content-Security-Policy violation is one).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--hide-scrollbars", "--remote-debugging-pipe")


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _above_four(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, binary: str, profile: Path, timeout: float = 60.0) -> None:
        self.timeout = timeout
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # above 4, so that placing them at 3 and 4 in the child overwrites neither
        to_child_r, from_child_w = (_above_four(fd) for fd in (to_child_r, from_child_w))

        def fds() -> None:  # the child's fd 3 reads our commands, fd 4 writes its answers
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=fds, pass_fds=(3, 4))
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def __enter__(self) -> Browser:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call("Browser.close", session=False)
        except Exception:  # already gone: the kill below still ends it
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)

    # -- the protocol ---------------------------------------------------------------

    def call(self, method: str, session: bool = True, **params: Any) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        answer = self._until(lambda m: m.get("id") == self._next, method)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def _until(self, done: Any, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "method" in msg:
                    self.events.append(msg)
                if done(msg):
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {what} within {self.timeout} s")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe waiting for {what}")
                self._buf += chunk

    # -- what the tests use -----------------------------------------------------------

    def open(self, page: Path, width: int = 1400, height: int = 900, fragment: str = "") -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.events.clear()
        started = self.call("Page.navigate", url=page.resolve().as_uri() + (f"#{fragment}" if fragment else ""))
        if "loaderId" not in started:  # only the fragment changed: the page stays, nothing loads
            return
        if not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self._until(lambda m: m.get("method") == "Page.loadEventFired", "the page's load event")

    def evaluate(self, expression: str) -> Any:
        """A value read by the inspector (not a page script: the page's policy allows none)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(str(result["exceptionDetails"]))
        return result["result"].get("value")

    def height(self) -> int:
        return int(self.evaluate("document.documentElement.scrollHeight"))

    def screenshot(self, path: Path, width: int = 1400) -> None:
        h = self.height()
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": h, "scale": 1})["data"]
        path.write_bytes(base64.b64decode(data))

    def messages(self) -> list[str]:
        """Console calls, uncaught errors and log entries (CSP violations, failed loads) since ``open``."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e.get("method") == "Runtime.consoleAPICalled":
                out.append(f"console.{p.get('type')}: {p.get('args')}")
            elif e.get("method") == "Runtime.exceptionThrown":
                out.append(f"exception: {p.get('exceptionDetails')}")
            elif e.get("method") == "Log.entryAdded":
                entry = p.get("entry", {})
                out.append(f"log {entry.get('level')} {entry.get('source')}: {entry.get('text')}")
        return out
