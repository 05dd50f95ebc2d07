"""`sentiment deploy`: upload the app to a Hugging Face Space through the Hub's HTTP API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sentiment_app.paths import PACKAGE_ROOT
from sentiment_app.storage.hub import REPO_ID, upload

# What the Space needs to start and to show its landing page: the entry point, its
# requirements (torch's CPU build first), the README (the Space's settings and page), the LFS rules, the library, the
# shipped models and the images the app and the page show.
SPACE_PATTERNS = (
    "app.py",
    "pre-requirements.txt",
    "requirements.txt",
    "README.md",
    ".gitattributes",
    "sentiment_app/**/*.py",
    "assets/models/*.json",
    "assets/models/*.md",
    "assets/models/*/*",
    "assets/long_range.png",
    "assets/screenshots/*.png",
    "docs/*.md",  # the README's links
)

EPILOG = """examples:
  sentiment deploy --space you/recurrent-sentiment --dry-run   # list what would be uploaded
  hf auth login                                                # once: a token with write access
  sentiment deploy --space you/recurrent-sentiment             # create the Space (if new) and upload

The upload goes through the Hub's HTTP API (huggingface_hub), which stores the weights and
images as large files itself: no git history is pushed, so a Space's own first commit is no
obstacle. Files the app does not need (training/, tests/, runs/) stay behind, and files an
earlier deploy left on the Space that are no longer listed are removed.
"""


def space_files(root: Path = PACKAGE_ROOT) -> list[Path]:
    """The files a Space needs, relative to `root`, sorted; caches, hidden and temporary files left out."""
    found = set()
    for pattern in SPACE_PATTERNS:
        for path in root.glob(pattern):
            relative = path.relative_to(root)
            hidden = any(part.startswith(".") for part in relative.parts) and relative.name != ".gitattributes"
            junk = "__pycache__" in relative.parts or relative.suffix in (".tmp", ".pyc")
            if path.is_file() and not path.is_symlink() and not hidden and not junk:
                found.add(relative)
    return sorted(found)


def listing(root: Path, files: list[Path]) -> str:
    sizes = [(root / path).stat().st_size for path in files]
    width = max(len(str(path)) for path in files)
    lines = [f"{str(path).ljust(width)}  {size / 1e6:9.3f} MB" for path, size in zip(files, sizes)]
    lines.append(f"{len(files)} files, {sum(sizes) / 1e6:.1f} MB")
    return "\n".join(lines)


def deploy(space: str, root: Path = PACKAGE_ROOT, *, private: bool = False, api=None) -> str:
    """Create the Space if it does not exist and upload `space_files(root)`; returns its URL."""
    return upload(root, space, [str(path) for path in space_files(root)], repo_type="space", private=private, api=api)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment deploy",
        description="Upload the web app and the shipped models to a Hugging Face Space.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--space", required=True, metavar="USER/NAME", help="the Space to create or update")
    parser.add_argument("--dry-run", action="store_true", help="list the files and their sizes; upload nothing")
    parser.add_argument("--private", action="store_true", help="make a new Space private (default: public)")
    return parser


def main(argv: list[str] | None = None, api=None) -> int:
    args = build_parser().parse_args(argv)
    if not REPO_ID.match(args.space):
        print(f"sentiment deploy: error: --space takes USER/NAME, not {args.space!r}", file=sys.stderr)
        return 2
    if not (PACKAGE_ROOT / "app.py").is_file():
        print(f"sentiment deploy: error: {PACKAGE_ROOT} has no app.py: run it from a checkout", file=sys.stderr)
        return 2
    files = space_files()
    print(listing(PACKAGE_ROOT, files))
    if args.dry_run:
        return 0
    try:
        url = deploy(args.space, private=args.private, api=api)
    except Exception as error:  # the Hub's errors (auth, network, names) end in one line
        print(f"sentiment deploy: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"deployed: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
