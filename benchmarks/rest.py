"""A minimal client for Gradio's REST API: POST /gradio_api/call/<endpoint>, then read the
event stream of the result. Used by the load test and the round-trip benchmark."""

from __future__ import annotations

import json
from typing import Any

import httpx


class GradioCallError(RuntimeError):
    pass


def call(http: httpx.Client, base_url: str, endpoint: str, data: list[Any], timeout: float = 30.0) -> Any:
    """Call a named endpoint and return its output (the first value of `data` in the result)."""
    url = f"{base_url.rstrip('/')}/gradio_api/call/{endpoint}"
    started = http.post(url, json={"data": data}, timeout=timeout)
    started.raise_for_status()
    event_id = started.json()["event_id"]
    event = None
    with http.stream("GET", f"{url}/{event_id}", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = line.split(":", 1)[1].strip()
                if event == "error":
                    raise GradioCallError(payload)
                return json.loads(payload)[0]
    raise GradioCallError(f"{endpoint}: the stream ended without a result")
