"""`sentiment serve`: serve the web app on the shipped models (or a directory of your own)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sentiment_app.storage.hub import download_model, is_repo_id
from sentiment_app.storage.model_dir import ModelLoadError

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

EPILOG = """The app binds to 127.0.0.1 unless --host (or GRADIO_SERVER_NAME) says otherwise, and
creates no public share link unless --share is given.

examples:
  sentiment serve                          # http://127.0.0.1:7860
  sentiment serve --models-dir runs/all    # serve the models you trained
  sentiment serve --models-dir runs/bilstm # or one model directory
  sentiment serve --models-dir you/bilstm-sentiment   # or a model on the Hugging Face Hub
  sentiment serve --mcp                    # also an MCP server at /gradio_api/mcp/ for LLM agents
  sentiment serve --host 0.0.0.0 --port 8080
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment serve",
        description="Serve the sentiment web app.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default=None, help="address to bind (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also create a public gradio.live link")
    parser.add_argument(
        "--models-dir",
        default=None,
        help="a directory of model directories, one model directory, or a Hub repo id USER/NAME "
        "(default: assets/models)",
    )
    parser.add_argument(
        "--mcp",
        action="store_true",
        help="also serve the predict, compare and models endpoints as MCP tools at /gradio_api/mcp/ "
        "(default: off, or on where GRADIO_MCP_SERVER=true)",
    )
    return parser


def configure_logging() -> None:
    """INFO lines from the app; the HTTP client's per-request lines (Gradio's own start-up checks) left out."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    for client in ("httpx", "httpx2"):  # Gradio's and huggingface_hub's HTTP clients
        logging.getLogger(client).setLevel(logging.WARNING)


def create_demo(models_dir: str | Path | None = None):
    """The app over every model that loads from `models_dir` (a directory of model directories,
    one model directory, or a Hub repo id); logs the ones that do not."""
    from sentiment_app.app.service import SentimentService
    from sentiment_app.app.ui import build_demo

    if not logging.getLogger().handlers:  # app.py on Spaces: one readable line per event
        configure_logging()
    if models_dir is not None and is_repo_id(str(models_dir)):
        models_dir = download_model(str(models_dir))
    service = SentimentService.from_directory(models_dir)
    for name, error in service.load_errors.items():
        logging.getLogger("sentiment_app").warning("model %s not loaded: %s", name, error)
    return build_demo(service)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        demo = create_demo(args.models_dir)
    except ModelLoadError as error:
        print(f"sentiment serve: error: {error}", file=sys.stderr)
        return 2
    from sentiment_app.app.ui import launch_options

    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        mcp_server=True if args.mcp else None,  # None: Gradio reads GRADIO_MCP_SERVER
        **launch_options(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
