"""Model directories on the Hugging Face Hub: downloaded by repo id into the Hub's cache and
checked before use, and uploaded from a local model directory."""

from __future__ import annotations

import re
from pathlib import Path

from sentiment_app.storage.model_dir import MODEL_FILES, ModelLoadError, is_model_dir, load_model_dir

# "user/name": what the Hub calls a repo id (a local path wins when both exist)
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
HUB_FILES = (*MODEL_FILES, ".gitattributes")  # what a model repo may hold; nothing executable


def is_repo_id(name: str) -> bool:
    return bool(REPO_ID.match(name)) and ".." not in name and not Path(name).exists()


def download_model(repo_id: str, revision: str | None = None) -> Path:
    """The repo's model directory in the Hub cache (downloaded once, offline afterwards), refused
    unless it holds only the files a model directory may hold, each a regular file in the cache."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        directory = Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(HUB_FILES)))
    except LocalEntryNotFoundError as error:
        raise ModelLoadError(
            f"{repo_id}: not in the local Hub cache and the Hub cannot be reached ({error})"
        ) from error
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise ModelLoadError(f"{repo_id}: could not download from the Hugging Face Hub ({error})") from error
    check_downloaded(directory, repo_id)
    return directory


def check_downloaded(directory: Path, repo_id: str) -> None:
    """Only allowed names; each a regular file that stays inside the cache folder of the repo."""
    cache_root = directory.resolve().parent.parent  # <cache>/models--user--name/snapshots/<commit>
    for entry in directory.iterdir():
        if entry.name not in HUB_FILES:
            raise ModelLoadError(
                f"{repo_id}: holds {entry.name!r}, which no model directory holds (allowed: {', '.join(HUB_FILES)})"
            )
        target = entry.resolve()
        if not target.is_file() or not target.is_relative_to(cache_root):
            raise ModelLoadError(f"{repo_id}: {entry.name} is not a regular file in the Hub cache")
    if not is_model_dir(directory):
        raise ModelLoadError(f"{repo_id}: no config.json; not a model directory made by `sentiment train`")


def push_model(directory: Path, repo_id: str, *, private: bool = False, api=None) -> str:
    """Upload a model directory (checked to load first) to a Hub model repo; returns its URL."""
    directory = Path(directory)
    load_model_dir(directory)  # refuse anything that would not load back
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    present = [name for name in MODEL_FILES if (directory / name).is_file()]
    api.upload_folder(
        folder_path=str(directory),
        repo_id=repo_id,
        repo_type="model",
        allow_patterns=present,
        commit_message=f"Upload {directory.name} with `sentiment push`",
    )
    return f"https://huggingface.co/{repo_id}"
