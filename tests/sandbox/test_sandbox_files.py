"""The sandbox serves real media for its result URLs, with content types and byte ranges."""

from __future__ import annotations

import struct

import httpx

from renderer.sandbox.files import byte_range, media_bytes


def test_the_shipped_media_are_real_files():
    png = media_bytes("sample.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (320, 180)
    mp4 = media_bytes("sample.mp4")
    assert mp4[4:8] == b"ftyp" and b"avc1" in mp4 and b"moov" in mp4
    assert media_bytes("sample.webm")[:4] == b"\x1a\x45\xdf\xa3"  # EBML


def test_result_files_are_served_with_types_and_ranges(sandbox):
    base = sandbox.base_url
    with httpx.Client() as c:
        whole = c.get(f"{base}/files/vid_1.mp4")
        assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
        assert whole.headers["accept-ranges"] == "bytes" and whole.content == media_bytes("sample.mp4")
        png = c.get(f"{base}/files/img_1.png")
        assert png.headers["content-type"] == "image/png" and png.content == media_bytes("sample.png")
        assert c.get(f"{base}/files/x.webm").headers["content-type"] == "video/webm"
        size = len(whole.content)
        part = c.get(f"{base}/files/vid_1.mp4", headers={"Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == whole.content[10:20]
        assert part.headers["content-range"] == f"bytes 10-19/{size}"
        tail = c.get(f"{base}/files/vid_1.mp4", headers={"Range": "bytes=-5"})
        assert tail.status_code == 206 and tail.content == whole.content[-5:]
        rest = c.get(f"{base}/files/vid_1.mp4", headers={"Range": f"bytes={size - 3}-"})
        assert rest.content == whole.content[-3:]
        past = c.get(f"{base}/files/vid_1.mp4", headers={"Range": f"bytes={size}-"})
        assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
        head = c.head(f"{base}/files/vid_1.mp4")
        assert head.status_code == 200 and head.content == b""
    assert sandbox.state.counters.requests["GET /files"] == 7


def test_byte_range_parsing():
    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-0", 100) == (0, 0)
    assert byte_range("bytes=90-200", 100) == (90, 99)
    assert byte_range("bytes=-200", 100) == (0, 99)
    assert byte_range("bytes=5-2", 100) == "bad"
    assert byte_range("bytes=0-1,5-6", 100) is None  # several ranges: the whole file
    assert byte_range("items=0-1", 100) is None
