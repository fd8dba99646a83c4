"""Reading a multipart/form-data body, for the stand-ins whose APIs take uploads.

Written by hand, small on purpose (one form, read whole, within the sandbox's body
limit): starlette's own form parser needs python-multipart, a dependency for this alone.
"""

from __future__ import annotations

import re


def _param(header: str, name: str) -> str | None:
    match = re.search(rf'(?:^|;)\s*{name}="([^"]*)"', header) or re.search(rf"(?:^|;)\s*{name}=([^;\s]+)", header)
    return match.group(1) if match else None


def is_multipart(content_type: str) -> bool:
    return content_type.lower().startswith("multipart/form-data")


def parse_multipart(body: bytes, content_type: str, expected: str = "the image as multipart/form-data with a `file` field",
                    ) -> dict[str, tuple[str | None, str | None, bytes]]:
    """name -> (filename, content type, bytes). Small on purpose: one form, read whole.

    Raises ValueError (its message asks for ``expected``) when the body is no such form."""
    boundary = _param(content_type, "boundary")
    if not is_multipart(content_type) or not boundary:
        raise ValueError(f"send {expected}")
    fields: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, sep, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        name = _param(headers.get("content-disposition", ""), "name")
        if name:
            fields[name] = (_param(headers["content-disposition"], "filename"), headers.get("content-type"), data.removesuffix(b"\r\n"))
    return fields
