"""Security: safe defaults for binding and sharing, uploads kept in temporary directories,
bounded file sizes, and the pinned dependencies audited where the audit service is reachable."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from sentiment_app.app.handlers import ALL_MODELS, Handlers
from sentiment_app.app.service import SentimentService
from sentiment_app.app.ui import launch_options
from sentiment_app.cli.serve import build_parser
from sentiment_app.limits import MAX_UPLOAD_BYTES
from sentiment_app.paths import PACKAGE_ROOT
from tests.helpers import free_port, start_server, wait_until_serving

ROOT = PACKAGE_ROOT


def test_defaults_bind_to_localhost_without_share_links():
    args = build_parser().parse_args([])
    assert args.host is None and args.share is False  # None: Gradio's 127.0.0.1, or the env var
    assert "share" not in launch_options() and "server_name" not in launch_options()
    assert launch_options()["max_file_size"] == MAX_UPLOAD_BYTES == 25 * 1024 * 1024


@pytest.mark.slow
def test_the_app_listens_on_loopback_only(trained_models):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GRADIO_SERVER")}
    process = start_server(trained_models, port, env=env)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", process)
        import psutil

        listening = [
            c.laddr for c in psutil.Process(process.pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
        ]
        assert listening and all(address.ip in ("127.0.0.1", "::1") for address in listening)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "gradio.live" not in output and "public URL" not in output


def test_scored_files_stay_in_a_temporary_directory(trained_models, tmp_path):
    handlers = Handlers(SentimentService.from_directory(trained_models))
    upload = tmp_path / "..%2F..%2Fetc%2Fpasswd.csv"
    upload.write_text("text\nthe film is wonderful\n")
    output, _, _, _ = handlers.score_file(str(upload), "text", None, ALL_MODELS)
    resolved = Path(output).resolve()
    assert resolved.is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert "/" not in resolved.name.replace("-scored.csv", "") and ".." not in resolved.name


def test_oversized_uploads_are_refused_before_reading(trained_models, tmp_path):
    handlers = Handlers(SentimentService.from_directory(trained_models))
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: no disk used
    output, _, _, notes = handlers.score_file(str(path), "text", None, ALL_MODELS)
    assert output is None and "the limit is" in notes


def test_pinned_dependencies_have_no_known_vulnerabilities(tmp_path):
    """pip-audit against the pinned app requirements. Skipped, with the reason, where the
    vulnerability service cannot be reached (these machines only reach package indexes)."""
    audit = shutil.which("pip-audit")
    if audit is None:
        pytest.skip("pip-audit is not installed")
    result = subprocess.run(
        [audit, "-r", str(ROOT / "requirements.txt"), "--no-deps", "--disable-pip", "--progress-spinner", "off"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    if "could not be audited" in output or "ConnectionError" in output or "Name or service" in output:
        pytest.skip(
            "pip-audit could not reach vulnerability data for the pinned packages from "
            "here (only package downloads are reachable); run it where PyPI's JSON API is"
        )
    assert result.returncode == 0, output
