"""Attacks on the Batch tab's uploads, each built in the test: wide or ambiguous files, requests
that carry too much, and results that would otherwise pile up on disk."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import httpx
import pytest

from sentiment_app.app.errors import UserInputError
from sentiment_app.app.handlers import ALL_MODELS, Handlers
from sentiment_app.app.results import ResultStore
from sentiment_app.app.service import SentimentService
from sentiment_app.limits import (
    MAX_COLUMNS,
    MAX_REQUEST_BYTES,
    MAX_UPLOAD_BYTES,
    MIB,
    PREVIEW_CELL_CHARS,
    PREVIEW_COLUMNS,
    SHOWN_COLUMN_NAMES,
)


@pytest.fixture(scope="module")
def service(trained_models):
    return SentimentService.from_directory(trained_models)


def refusal(service, path: Path) -> str:
    with pytest.raises(UserInputError) as caught:
        service.inspect_upload(path)
    return str(caught.value)


def refusal_and_peak(service, path: Path) -> tuple[str, int]:
    """The refusal's message and the peak of Python's allocations while it was made."""
    tracemalloc.start()
    try:
        message = refusal(service, path)
        return message, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_million_column_csv_is_refused_from_its_header_in_bounded_memory(service, tmp_path):
    path = tmp_path / "wide.csv"
    columns = 10**6
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("x" * columns) + "\n")
    assert path.stat().st_size > 9 * 10**6
    message, peak = refusal_and_peak(service, path)
    assert "header line" in message and f"at most {MAX_COLUMNS} columns" in message
    assert peak < 4 * path.stat().st_size, f"peak {peak / MIB:.0f} MiB"  # the bytes and their text, no table


def test_too_many_columns_and_overlong_names_are_refused(service, tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n" + "x," * MAX_COLUMNS + "x\n")
    assert f"{MAX_COLUMNS + 1} columns; the limit is {MAX_COLUMNS}" in refusal(service, wide)
    long_name = tmp_path / "long.csv"
    long_name.write_text("text," + "n" * 300 + "\ngood,1\n")
    assert "column 2 is 300 characters" in refusal(service, long_name)
    many_keys = tmp_path / "keys.jsonl"
    many_keys.write_text("\n".join(json.dumps({f"k{i}": "x", "text": "good"}) for i in range(MAX_COLUMNS + 5)))
    assert "distinct keys" in refusal(service, many_keys)


def test_the_upload_message_and_preview_are_capped(service, tmp_path):
    path = tmp_path / "many.csv"
    names = ["text", *(f"extra{i}" for i in range(60))]
    path.write_text(",".join(names) + "\n" + ",".join(["good film " * 100] + ["v"] * 60) + "\n")
    columns, _, _, message = Handlers(service).inspect_upload(str(path))
    assert len(columns) == 61 and message.endswith(f"and {61 - SHOWN_COLUMN_NAMES} more")
    result = service.score_file(path, "text", models=[service.default_model])
    row = result.preview[0]
    assert len(row) == PREVIEW_COLUMNS + 4  # the file's first columns and the model's four
    assert len(row["text"]) == PREVIEW_CELL_CHARS + 1 and row["text"].endswith("…")
    assert any(f"{PREVIEW_COLUMNS} of the file's 61 columns" in note for note in result.notes)
    assert len(result.output_path.read_text().splitlines()[0].split(",")) == 65  # the CSV keeps them all


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('text,label\n"good film,1\nbad film,0\nok,1\n', "line 2: a quote opened here is never closed"),
        ('text,label\ngood,1\n"bad" film,0\n', "line 3: malformed CSV"),
        ("text,text\ngood,1\n", "columns 1 and 2 are both named 'text'"),
        ("text,,label\ngood,x,1\n", "column 2 of the header has no name"),
        ("text,label\ngood,1\nbad,0,extra\n", "line 3 has 3 fields; the header has 2"),
        ("text,label\ngood,1\nbad\n", "line 3 has 1 field; the header has 2"),
    ],
    ids=["unbalanced quote", "quote in field", "duplicate names", "unnamed column", "extra field", "missing field"],
)
def test_files_that_parse_ambiguously_are_refused_with_the_line(service, tmp_path, content, expected):
    path = tmp_path / "ambiguous.csv"
    path.write_text(content)
    assert expected in refusal(service, path)


def test_a_quoted_field_across_lines_is_one_row_not_refused(service, tmp_path):
    path = tmp_path / "multiline.csv"
    path.write_text('text,label\n"good\nfilm",1\nbad,0\n')
    assert service.inspect_upload(path)[1] == [{"text": "good\nfilm", "label": "1"}, {"text": "bad", "label": "0"}]


def test_deeply_nested_json_and_object_texts_get_a_clear_message(service, tmp_path):
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in refusal(service, nested)
    nested_line = tmp_path / "nested.jsonl"
    nested_line.write_text('{"text": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    assert "line 1 is nested too deeply" in refusal(service, nested_line)
    objects = tmp_path / "objects.jsonl"
    objects.write_text('{"text": "good"}\n{"text": {"a": 1}}\n')
    with pytest.raises(UserInputError, match="record 2: 'text' holds a JSON object, not text"):
        service.score_file(objects, "text")


def test_a_column_the_scores_would_overwrite_is_refused(service, tmp_path):
    name = service.default_model
    path = tmp_path / "clash.csv"
    path.write_text(f"text,{name}_label\ngood,mine\n")
    with pytest.raises(UserInputError, match=f"already has a column '{name}_label'"):
        service.score_file(path, "text", models=[name])


def test_the_size_limit_is_stated_in_the_unit_it_is_set_in(service, tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: no disk used
    message = refusal(service, path)
    assert "the limit is 25 MiB" in message and "26" not in message


def test_scored_files_are_kept_in_bounded_number_then_age_out(service, tmp_path):
    now = [0.0]
    store = ResultStore(keep=3, max_age_s=60, clock=lambda: now[0], root=tmp_path / "results")
    (tmp_path / "results").mkdir()
    upload = tmp_path / "texts.csv"
    upload.write_text("text\ngood film\nbad film\n")

    def disk_use() -> int:
        return sum(path.stat().st_size for path in (tmp_path / "results").rglob("*") if path.is_file())

    start = disk_use()
    scored = Handlers(service)
    service.results, previous = store, service.results
    try:
        outputs = [Path(scored.score_file(str(upload), "text", None, ALL_MODELS)[0]) for _ in range(10)]
    finally:
        service.results = previous
    assert len(store) == 3 and all(path.exists() for path in outputs[-3:])
    assert not any(path.exists() for path in outputs[:-3])
    now[0] = 61
    store.sweep()
    assert len(store) == 0 and disk_use() == start


# --- over HTTP: what reaches Gradio's upload route --------------------------------------------


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x/", files=[("files", (name, data)) for name, data in files])
    return request.read(), request.headers["content-type"]


def upload(url: str, body: bytes, content_type: str) -> httpx.Response:
    return httpx.post(
        f"{url.rstrip('/')}/gradio_api/upload", content=body, headers={"content-type": content_type}, timeout=60
    )


def test_one_request_with_four_large_files_and_an_exe_is_refused_before_storing(app_url, tmp_path):
    body, content_type = multipart([(f"part{i}.csv", b"x" * (20 * MIB)) for i in range(4)] + [("tool.exe", b"MZ")])
    response = upload(app_url, body, content_type)
    assert response.status_code == 413 and "per request" in response.text
    body, content_type = multipart([("a.csv", b"text\ngood\n"), ("b.csv", b"text\nbad\n")])
    response = upload(app_url, body, content_type)
    assert response.status_code == 400 and "2 files in one upload; the limit is 1" in response.text
    body, content_type = multipart([("tool.exe", b"MZ\x90\x00")])
    response = upload(app_url, body, content_type)
    assert response.status_code == 415 and "'tool.exe' is not a .csv" in response.text
    body, content_type = multipart([("texts.csv", b"text\ngood film\n")])
    response = upload(app_url, body, content_type)
    assert response.status_code == 200 and response.json()[0].endswith("texts.csv")  # a good one still goes in
    assert httpx.get(f"{app_url.rstrip('/')}/gradio_api/info", timeout=30).status_code == 200  # and the server is up


def test_a_request_that_lies_about_its_length_is_refused(app_url):
    body, content_type = multipart([("texts.csv", b"text\ngood\n")])
    with httpx.Client() as http:
        request = http.build_request(
            "POST",
            f"{app_url.rstrip('/')}/gradio_api/upload",
            content=iter([body]),
            headers={"content-type": content_type},
        )
        response = http.send(request)  # a streamed body: no Content-Length
    assert response.status_code == 411
    assert MAX_REQUEST_BYTES < 2 * MAX_UPLOAD_BYTES


def test_a_file_of_a_million_empty_rows_is_refused_before_it_is_split(service, tmp_path):
    for name, content in (("blank.txt", "\n" * 2_000_000), ("commas.csv", "a,b\n" + ",\n" * 1_000_000)):
        path = tmp_path / name
        path.write_text(content)
        message, peak = refusal_and_peak(service, path)
        assert "the limit is 100,000" in message
        assert peak < 100 * MIB, f"{name}: peak {peak / MIB:.0f} MiB"  # was 271 MB for 1 MB of newlines


def test_a_table_over_the_cell_limit_is_refused(service, tmp_path):
    path = tmp_path / "cells.csv"
    columns = 30
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ("x," * (columns - 1) + "x\n") * 70_000)
    assert "cells (rows times columns); the limit is 2,000,000" in refusal(service, path)


def test_a_misspelled_label_column_is_named(service, tmp_path):
    path = tmp_path / "texts.csv"
    path.write_text("text,label\ngood film,1\n")
    with pytest.raises(UserInputError, match="No label column 'lable'"):
        service.score_file(path, "text", label_column="lable")


def test_every_multipart_route_and_every_post_body_is_bounded(app_url):
    url = app_url.rstrip("/")
    body, content_type = multipart([("a.csv", b"text\ngood\n"), ("b.csv", b"text\nbad\n")])
    for route in ("/gradio_api/component_server", "/gradio_api/process_recording"):
        response = httpx.post(f"{url}{route}", content=body, headers={"content-type": content_type}, timeout=60)
        assert response.status_code == 400 and "the limit is 1" in response.text, route
    big = httpx.post(
        f"{url}/gradio_api/call/predict",
        content=b'{"data": ["' + b"x" * (MAX_REQUEST_BYTES + 1) + b'", ""]}',
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert big.status_code == 413
    body, content_type = multipart([("texts.csv", b"text\ngood film\n")])
    twice = httpx.post(
        f"{url}/gradio_api/upload",
        content=body,
        headers=[("content-type", content_type), ("content-type", "multipart/form-data; boundary=other")],
        timeout=60,
    )
    assert twice.status_code == 400 and "more than one content-type header" in twice.text


def test_a_client_that_trickles_its_upload_is_cut_off(app_url, monkeypatch):
    import socket
    from urllib.parse import urlparse

    from sentiment_app.app import upload_guard

    monkeypatch.setattr(upload_guard, "UPLOAD_READ_TIMEOUT_S", 1)
    address = urlparse(app_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(
            b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 1000\r\n\r\n--b\r\n"
        )  # and nothing more
        reply = connection.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 408") and "did not arrive within 1 seconds" in reply
