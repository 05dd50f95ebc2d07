"""The server's log is readable: an expected user error is one line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from benchmarks.rest import GradioCallError, call
from sentiment_app.paths import PACKAGE_ROOT
from tests.helpers import free_port, wait_until_serving

pytestmark = pytest.mark.slow


def test_expected_errors_are_logged_as_one_line_each(trained_models, tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "sentiment_app.cli.serve", "--models-dir", str(trained_models), "--port", str(port)],
            env={**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
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
