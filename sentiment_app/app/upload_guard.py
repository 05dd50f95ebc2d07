"""An ASGI middleware that refuses an upload before Gradio stores any of it.

Gradio's own limit is per file; this one bounds the whole request, the number of files and
their types, so no request can fill the upload cache with what the app will never read.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath

from python_multipart.multipart import MultipartParser, parse_options_header

from sentiment_app.limits import (
    MAX_FILES_PER_REQUEST,
    MAX_REQUEST_BYTES,
    MAX_UPLOADS_AT_ONCE,
    UPLOAD_SUFFIXES,
    size_text,
)


class UploadRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def uploaded_filenames(body: bytes, content_type: bytes) -> list[str]:
    """The file names of a multipart/form-data body's file parts."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise UploadRefused(400, "an upload must be multipart/form-data")
    names: list[str] = []
    header: dict[str, bytes] = {"field": b"", "value": b""}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        if header["field"].lower() == b"content-disposition":
            filename = parse_options_header(header["value"])[1].get(b"filename")
            if filename is not None:
                names.append(filename.decode("utf-8", "replace"))
        header["field"], header["value"] = b"", b""

    parser = MultipartParser(
        options[b"boundary"],
        {"on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end},
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception as error:  # python-multipart raises several kinds for a malformed body
        raise UploadRefused(400, f"the upload is not a valid multipart body ({error})") from error
    return names


def check_upload(body: bytes, content_type: bytes) -> None:
    """Refuse (UploadRefused) a body with too many files or a type the app does not read."""
    names = uploaded_filenames(body, content_type)
    if len(names) > MAX_FILES_PER_REQUEST:
        raise UploadRefused(400, f"{len(names)} files in one upload; the limit is {MAX_FILES_PER_REQUEST}")
    for name in names:
        suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise UploadRefused(415, f"{name!r} is not a {', '.join(UPLOAD_SUFFIXES)} file")


class UploadGuard:
    """Read an upload request whole (it is bounded), check it, then hand it on or refuse it."""

    def __init__(self, app) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(MAX_UPLOADS_AT_ONCE)  # bodies held in memory at once

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/upload"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        async with self.slots:
            try:
                body = await read_body(headers, receive)
                check_upload(body, headers.get(b"content-type", b""))
            except UploadRefused as refusal:
                await refuse(send, refusal.status, str(refusal))
                return
        delivered = False

        async def replay():
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def read_body(headers: dict[bytes, bytes], receive) -> bytes:
    """The request body, refused once it declares or sends more than MAX_REQUEST_BYTES."""
    declared = headers.get(b"content-length")
    if declared is None or not declared.isdigit():
        raise UploadRefused(411, "an upload needs a Content-Length header")
    if int(declared) > MAX_REQUEST_BYTES:
        raise UploadRefused(
            413, f"the upload is {size_text(int(declared))}; the limit is {size_text(MAX_REQUEST_BYTES)} per request"
        )
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise UploadRefused(400, "the upload was cut off")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise UploadRefused(
                413, f"the upload is over {size_text(MAX_REQUEST_BYTES)}; that is the limit per request"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def refuse(send, status: int, message: str) -> None:
    body = message.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
