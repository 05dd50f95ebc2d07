"""Models on the Hub: a repo id loads from the local Hub cache (offline, as the test builds it),
only the files of a model directory are accepted, and `sentiment push` uploads one up to the
Hub's API (a recording stand-in here: no network)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest

from sentiment_app import load_predictor
from sentiment_app.cli.push import main as push_main
from sentiment_app.storage.hub import is_repo_id, push_model
from sentiment_app.storage.model_dir import MODEL_FILES, ModelLoadError
from tests.helpers import RecordingHubApi

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hub cache, offline, in place of the user's."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache


def cache_repo(cache, repo_id: str, source, extra: dict[str, bytes] | None = None):
    """Lay `source`'s files out as the Hub cache does: blobs by hash, a snapshot of symlinks, refs/main."""
    root = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = root / "snapshots" / COMMIT
    (root / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)
    files = {name: (source / name).read_bytes() for name in MODEL_FILES if (source / name).is_file()}
    for name, data in {**files, **(extra or {})}.items():
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / name)
    return snapshot


def test_a_repo_id_loads_from_the_hub_cache_and_predicts_as_the_directory_does(hub_cache, tiny_model_dir):
    cache_repo(hub_cache, "someone/tiny-bilstm", tiny_model_dir)
    from_hub = load_predictor("someone/tiny-bilstm")
    local = load_predictor(tiny_model_dir)
    assert from_hub.name == "someone/tiny-bilstm"  # named by its repo, not by the commit folder
    texts = ["the film is wonderful", "this movie is dreadful"]
    assert [p.probabilities for p in from_hub.predict(texts)] == [p.probabilities for p in local.predict(texts)]


def test_a_repo_that_holds_other_files_is_refused(hub_cache, tiny_model_dir):
    cache_repo(hub_cache, "someone/with-code", tiny_model_dir, extra={"modeling.py": b"import os\n"})
    with pytest.raises(ModelLoadError, match="holds 'modeling.py', which no model directory holds"):
        load_predictor("someone/with-code")


def test_a_snapshot_file_that_points_outside_the_cache_is_refused(hub_cache, tiny_model_dir, tmp_path):
    snapshot = cache_repo(hub_cache, "someone/escape", tiny_model_dir)
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({}))
    (snapshot / "metrics.json").unlink()
    os.symlink(outside, snapshot / "metrics.json")
    with pytest.raises(ModelLoadError, match="metrics.json is not a regular file in the Hub cache"):
        load_predictor("someone/escape")


def test_a_repo_not_in_the_cache_offline_is_a_clear_error(hub_cache):
    with pytest.raises(ModelLoadError, match="someone/absent: not in the local Hub cache"):
        load_predictor("someone/absent")


def test_what_counts_as_a_repo_id(tmp_path, monkeypatch):
    assert is_repo_id("someone/model-1.0") and not is_repo_id("bilstm") and not is_repo_id("a/b/c")
    assert not is_repo_id("../etc") and not is_repo_id("someone/..")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "mine").mkdir(parents=True)
    assert not is_repo_id("runs/mine")  # an existing local path wins
    assert not is_repo_id("runs/mnie")  # and a mistyped one under an existing folder stays a path


def test_push_uploads_only_the_files_of_a_model_directory(tiny_model_dir, tmp_path):
    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir, directory)
    (directory / "notes.txt").write_text("not part of the model")
    api = RecordingHubApi()
    assert push_model(directory, "someone/tiny", api=api) == "https://huggingface.co/someone/tiny"
    (_, repo, create), (_, _, upload) = api.calls
    assert repo == "someone/tiny" and create == {"repo_type": "model", "private": False, "exist_ok": True}
    assert upload["folder_path"] == str(directory) and sorted(upload["allow_patterns"]) == sorted(MODEL_FILES)


def test_push_refuses_what_would_not_load_and_bad_repo_ids(tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    api = RecordingHubApi()
    assert push_main([str(broken), "--repo", "someone/broken"], api=api) == 2
    assert "sentiment push: error:" in capsys.readouterr().err and not api.calls
    with pytest.raises(SystemExit):
        push_main([str(broken), "--repo", "not a repo"], api=api)
