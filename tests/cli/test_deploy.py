"""`sentiment deploy`: every binary is stored with LFS, the dry run lists exactly what the Space
needs (the app starts from a copy of those files alone), and the upload goes to the Hub's API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import httpx
import pytest
from huggingface_hub.utils import filter_repo_objects

from benchmarks.rest import call
from sentiment_app.cli.deploy import deploy, main, space_files
from sentiment_app.paths import PACKAGE_ROOT
from tests.helpers import RecordingHubApi, free_port, wait_until_serving


def is_binary(path) -> bool:
    data = path.read_bytes()
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_every_tracked_binary_file_is_matched_by_an_lfs_rule():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=PACKAGE_ROOT, capture_output=True, text=True, check=True)
    binaries = [name for name in tracked.stdout.split("\0") if name and is_binary(PACKAGE_ROOT / name)]
    assert any(name.endswith(".safetensors") for name in binaries) and any(name.endswith(".png") for name in binaries)
    attributes = subprocess.run(
        ["git", "check-attr", "filter", "--", *binaries], cwd=PACKAGE_ROOT, capture_output=True, text=True, check=True
    )
    not_lfs = [line for line in attributes.stdout.splitlines() if not line.endswith(": filter: lfs")]
    assert not not_lfs


def test_the_dry_run_lists_the_files_with_their_sizes_and_uploads_nothing(capsys):
    class NoUpload:
        def __getattr__(self, name):
            raise AssertionError(f"the dry run called {name}")

    assert main(["--space", "someone/sentiment", "--dry-run"], api=NoUpload()) == 0
    printed = capsys.readouterr().out.splitlines()
    files = space_files()
    assert [line.split()[0] for line in printed[:-1]] == [str(path) for path in files]
    total = sum((PACKAGE_ROOT / path).stat().st_size for path in files)
    assert printed[-1] == f"{len(files)} files, {total / 1e6:.1f} MB"
    names = {str(path) for path in files}
    assert {
        "app.py",
        "requirements.txt",
        "README.md",
        ".gitattributes",
        "assets/models/bilstm/model.safetensors",
    } <= names
    assert not any(name.startswith(("training/", "tests/", "runs/", ".venv/")) for name in names)


def test_the_upload_creates_a_gradio_space_and_sends_exactly_the_listed_files():
    api = RecordingHubApi()
    url = deploy("someone/sentiment", api=api)
    assert url == "https://huggingface.co/spaces/someone/sentiment"
    (_, repo, create), (_, upload_repo, upload) = api.calls
    assert repo == upload_repo == "someone/sentiment"
    assert create["repo_type"] == "space" and create["space_sdk"] == "gradio" and create["exist_ok"]
    assert upload["repo_type"] == "space" and upload["folder_path"] == str(PACKAGE_ROOT)
    assert upload["delete_patterns"] == "*"  # what an earlier deploy left goes
    on_disk = [str(path.relative_to(PACKAGE_ROOT)) for path in PACKAGE_ROOT.rglob("*") if path.is_file()]
    selected = sorted(filter_repo_objects(on_disk, allow_patterns=upload["allow_patterns"]))
    assert selected == [str(path) for path in space_files()]  # what the Hub client will send


def test_a_bad_space_name_is_refused(capsys):
    assert main(["--space", "no-user", "--dry-run"]) == 2
    assert "USER/NAME" in capsys.readouterr().err


@pytest.mark.slow
def test_the_app_starts_from_exactly_the_uploaded_files(tmp_path):
    space = tmp_path / "space"
    for path in space_files():
        (space / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PACKAGE_ROOT / path, space / path)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, app, sentiment_app; print(sentiment_app.__file__); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'training', 'benchmarks', 'tests'}))",
        ],
        cwd=space,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    location, outside = imported.stdout.strip().splitlines()[-2:]
    assert location.startswith(str(space)) and outside == "[]"  # the copy alone, nothing of this checkout
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=space,
        env={**env, "GRADIO_SERVER_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, timeout=120)
        assert process.poll() is None, process.stdout.read()
        with httpx.Client() as http:
            result = call(http, url, "predict", ["A gripping, beautifully acted film.", ""], timeout=60)
        assert result["model"] == "bilstm" and result["label"] == "positive"
    finally:
        process.terminate()
        process.wait(timeout=30)
