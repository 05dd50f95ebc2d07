"""Nothing piles up on disk: uploads and scored files leave Gradio's cache and the app's result
store after their time, so that disk use returns to where it started."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from benchmarks.rest import call
from sentiment_app.app.service import SentimentService
from sentiment_app.app.ui import build_demo, launch_options
from tests.helpers import free_port

pytestmark = pytest.mark.slow


def file_bytes(paths: list[Path]) -> int:
    return sum(path.stat().st_size for path in paths if path.is_file())


def test_uploads_and_results_leave_the_cache_after_the_sweep(trained_models, tmp_path):
    service = SentimentService.from_directory(trained_models)
    demo = build_demo(service, delete_cache=(1, 2))  # the shipped sweep is limits.CACHE_SWEEP
    demo.launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True, **launch_options()
    )
    url = demo.local_url.rstrip("/")
    kept = []
    try:
        with httpx.Client(timeout=60) as http:
            for index in range(5):
                upload = tmp_path / f"texts{index}.csv"
                upload.write_text("text,label\ngood film,1\nbad film,0\n" * 200)
                with open(upload, "rb") as handle:
                    stored = http.post(f"{url}/gradio_api/upload", files={"files": (upload.name, handle)}).json()[0]
                file_data = {"path": stored, "meta": {"_type": "gradio.FileData"}}
                result = call(http, url, "on_score", [file_data, "text", "label", "All models"], timeout=120)
                kept += [Path(stored), Path(result["path"])]
        assert file_bytes(kept) > 0 and all(path.is_file() for path in kept)
        deadline = time.monotonic() + 30
        while file_bytes(kept) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert file_bytes(kept) == 0, [str(path) for path in kept if path.is_file()]
    finally:
        demo.close()
