"""The server's log is readable: an expected user error is one line, not a traceback."""

from __future__ import annotations

import httpx
import pytest

from benchmarks.rest import GradioCallError, call
from tests.helpers import free_port, start_server, wait_until_serving

pytestmark = pytest.mark.slow


def test_expected_errors_are_logged_as_one_line_each(trained_models, tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as output:
        process = start_server(trained_models, port, stdout=output)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_serving(url, process)
        with httpx.Client() as http:
            for data in (["", ""], ["the film is wonderful", "nonesuch"]):
                with pytest.raises(GradioCallError):
                    call(http, url, "predict", data)
            assert call(http, url, "predict", ["the film is wonderful", ""])["label"] in ("positive", "negative")
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = log.read_text()
    refusals = [line for line in text.splitlines() if "predict refused:" in line]
    assert len(refusals) == 2, text[-3000:]
    assert "Unknown model 'nonesuch'" in refusals[1]
    assert "Traceback" not in text, text[-3000:]
