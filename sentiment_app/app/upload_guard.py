"""An ASGI middleware that bounds every request body and refuses an upload before Gradio
stores or parses any of it.

Gradio's own limit is per file; this one bounds the whole request, the number of files and
their types, on every route that takes multipart bodies.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath

from python_multipart.multipart import MultipartParser, parse_options_header

from sentiment_app.limits import (
    MAX_FILES_PER_REQUEST,
    MAX_REQUEST_BYTES,
    MAX_UPLOADS_AT_ONCE,
    UPLOAD_READ_TIMEOUT_S,
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
    """Every POST body bounded; a multipart one (Gradio parses them on several routes: uploads,
    component servers, recordings) read whole, checked, then handed on, or refused."""

    def __init__(self, app) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(MAX_UPLOADS_AT_ONCE)  # multipart bodies held at once

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            headers = single_headers(scope["headers"])
            declared_length(headers)
        except UploadRefused as refusal:
            await refuse(send, refusal.status, str(refusal))
            return
        content_type = headers.get(b"content-type", b"")
        if not parse_options_header(content_type)[0].startswith(b"multipart/"):
            await self.app(scope, bounded(receive), send)
            return
        async with self.slots:  # held until the app is done with the body
            try:
                body = await asyncio.wait_for(read_body(headers, receive), UPLOAD_READ_TIMEOUT_S)
                check_upload(body, content_type)
            except TimeoutError:
                await refuse(send, 408, f"the upload did not arrive within {UPLOAD_READ_TIMEOUT_S} seconds")
                return
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


def single_headers(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The request's headers; a repeated Content-Type or Content-Length is refused (the guard and
    the app could otherwise read different ones)."""
    headers: dict[bytes, bytes] = {}
    for name, value in raw:
        name = name.lower()
        if name in (b"content-type", b"content-length") and name in headers:
            raise UploadRefused(400, f"more than one {name.decode()} header")
        headers[name] = value
    return headers


def declared_length(headers: dict[bytes, bytes]) -> int | None:
    """The Content-Length, refused when it is not a number or over MAX_REQUEST_BYTES."""
    declared = headers.get(b"content-length")
    if declared is None:
        return None
    if not declared.isdigit():
        raise UploadRefused(400, "the Content-Length is not a number")
    if int(declared) > MAX_REQUEST_BYTES:
        raise UploadRefused(
            413, f"the request is {size_text(int(declared))}; the limit is {size_text(MAX_REQUEST_BYTES)} per request"
        )
    return int(declared)


def bounded(receive):
    """`receive` that ends the request (as a disconnect) once its body passes MAX_REQUEST_BYTES."""
    size = 0

    async def receive_bounded():
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        return {"type": "http.disconnect"} if size > MAX_REQUEST_BYTES else message

    return receive_bounded


async def read_body(headers: dict[bytes, bytes], receive) -> bytes:
    """The request body, refused once it declares or sends more than MAX_REQUEST_BYTES."""
    if declared_length(headers) is None:
        raise UploadRefused(411, "an upload needs a Content-Length header")
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
