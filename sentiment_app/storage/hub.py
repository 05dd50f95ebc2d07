"""Model directories on the Hugging Face Hub: downloaded by repo id into the Hub's cache and
checked before use, and uploaded from a local model directory; Spaces uploaded the same way."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sentiment_app.storage.model_dir import MODEL_FILES, ModelLoadError, is_model_dir, load_model_dir

# "user/name": what the Hub calls a repo id
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
HUB_FILES = (*MODEL_FILES, ".gitattributes")  # what a model repo may hold; nothing executable
logger = logging.getLogger(__name__)


def is_repo_id(name: str) -> bool:
    """ "user/name", where neither the path nor its first folder exists here: a mistyped local path
    (runs/bilsmt beside runs/) stays a missing path instead of becoming a download."""
    if not REPO_ID.match(name) or ".." in name:
        return False
    return not Path(name).exists() and not Path(name.split("/")[0]).exists()


def download_model(repo_id: str, revision: str | None = None) -> Path:
    """The repo's model directory in the Hub cache (downloaded once, offline afterwards). Only a
    model directory's files are downloaded, and a snapshot holding anything else is refused."""
    try:
        from huggingface_hub import snapshot_download

        logger.info("model %s: from the Hugging Face Hub (or its local cache)", repo_id)
        directory = Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(HUB_FILES)))
    except ImportError as error:
        raise ModelLoadError(
            f"{repo_id}: loading from the Hub needs huggingface_hub (pip install huggingface_hub)"
        ) from error
    except Exception as error:  # the Hub's and the network's errors, whatever their class
        reason = (
            "not in the local Hub cache and the Hub cannot be reached"
            if "LocalEntryNotFound" in type(error).__name__
            else "could not download from the Hugging Face Hub"
        )
        raise ModelLoadError(f"{repo_id}: {reason} ({type(error).__name__}: {error})") from error
    check_downloaded(directory, repo_id)
    return directory


def repo_cache_folder(repo_id: str) -> Path:
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    return Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model")


def check_downloaded(directory: Path, repo_id: str) -> None:
    """Only allowed names; each a regular file that stays inside the cache folder of the repo."""
    cache_root = repo_cache_folder(repo_id).resolve()
    if not directory.resolve().is_relative_to(cache_root):
        raise ModelLoadError(f"{repo_id}: the download is not inside its folder of the Hub cache")
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


def upload(folder: Path, repo_id: str, files: list[str], *, repo_type: str, private: bool = False, api=None) -> str:
    """Create the repo if needed and upload exactly `files` (relative to `folder`), removing what an
    earlier upload left that is not among them; returns the repo's URL."""
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    sdk = {"space_sdk": "gradio"} if repo_type == "space" else {}
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, **sdk)
    api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type=repo_type,
        allow_patterns=files,
        delete_patterns="*",  # the Hub keeps .gitattributes whatever this says
        commit_message=f"Upload with `sentiment {'deploy' if repo_type == 'space' else 'push'}`",
    )
    return f"https://huggingface.co/{'spaces/' if repo_type == 'space' else ''}{repo_id}"


def push_model(directory: Path, repo_id: str, *, private: bool = False, api=None) -> str:
    """Upload a model directory (checked to load first) to a Hub model repo; returns its URL."""
    directory = Path(directory)
    load_model_dir(directory)  # refuse anything that would not load back
    present = [name for name in MODEL_FILES if (directory / name).is_file()]
    return upload(directory, repo_id, present, repo_type="model", private=private, api=api)
