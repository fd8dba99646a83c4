"""A tiny HTTP file server on loopback whose misbehaviour a test chooses.

Each request's headers are recorded; ``drops`` says how many GETs are cut off after
half of their body (the connection closed mid-body, as a flaky CDN does), and
``ranges`` whether ``Range`` requests are honoured.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class FileServer:
    body: bytes
    content_type: str = "image/png"
    drops: int = 0
    ranges: bool = True
    seen: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    host: str = "127.0.0.1"

    def url(self, name: str = "result.png", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}/files/{name}"


def _handler(server: FileServer):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                headers: dict[str, str] = {}
                while True:
                    h = self.rfile.readline().decode("latin-1").strip()
                    if not h:
                        break
                    k, _, v = h.partition(":")
                    headers[k.strip().lower()] = v.strip()
                server.seen.append(headers)
                body, status, extra = server.body, "200 OK", ""
                rng = headers.get("range", "")
                if server.ranges and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[6:-1])
                    body = server.body[start:]
                    status = "206 Partial Content"
                    extra = f"Content-Range: bytes {start}-{len(server.body) - 1}/{len(server.body)}\r\n"
                head = (f"HTTP/1.1 {status}\r\nContent-Type: {server.content_type}\r\n"
                        f"Content-Length: {len(body)}\r\nAccept-Ranges: bytes\r\n{extra}\r\n").encode()
                if server.drops > 0:
                    server.drops -= 1
                    self.wfile.write(head + body[: len(body) // 2])
                    self.wfile.flush()
                    return  # the connection closes mid-body
                self.wfile.write(head + body)
                self.wfile.flush()

    return Handler


@contextmanager
def file_server(server: FileServer, port: int = 0) -> Iterator[FileServer]:
    """Serve ``server`` on its host (127.0.0.1 unless set) and ``port`` (any free one by default)."""
    tcp = socketserver.ThreadingTCPServer((server.host, port), _handler(server))
    tcp.daemon_threads = True
    server.port = tcp.server_address[1]
    thread = threading.Thread(target=tcp.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        tcp.shutdown()
        tcp.server_close()
