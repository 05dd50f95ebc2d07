"""`sentiment push`: share a trained model directory as a Hugging Face Hub model repo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sentiment_app.storage.hub import REPO_ID, push_model
from sentiment_app.storage.model_dir import ModelLoadError

EPILOG = """examples:
  hf auth login                                          # once: a token with write access
  sentiment push runs/bilstm --repo you/bilstm-sentiment
  sentiment predict --model you/bilstm-sentiment         # anyone can then load it by its id

Only the files of a model directory are uploaded (config.json, tokenizer.json,
model.safetensors, metrics.json, README.md); the model card carries the Hub's metadata.
"""


def main(argv: list[str] | None = None, api=None) -> int:
    parser = argparse.ArgumentParser(
        prog="sentiment push",
        description="Upload a model directory to a Hugging Face Hub model repo.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", type=Path, help="a model directory written by `sentiment train`")
    parser.add_argument("--repo", required=True, metavar="USER/NAME", help="the model repo to create or update")
    parser.add_argument("--private", action="store_true", help="make a new repo private (default: public)")
    args = parser.parse_args(argv)
    if not REPO_ID.match(args.repo):
        parser.error(f"--repo takes USER/NAME, not {args.repo!r}")
    try:
        url = push_model(args.directory, args.repo, private=args.private, api=api)
    except ModelLoadError as error:
        print(f"sentiment push: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the Hub's errors (auth, network, names) end in one line
        print(f"sentiment push: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"pushed: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
