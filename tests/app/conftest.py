"""Fixtures of the app tests: the app launched in this process on loopback."""

from __future__ import annotations

import pytest
from gradio_client import Client

from sentiment_app.app.service import SentimentService
from sentiment_app.app.ui import build_demo, launch_options
from tests.helpers import free_port


@pytest.fixture(scope="module")
def app_url(trained_models):
    demo = build_demo(SentimentService.from_directory(trained_models))
    options = launch_options()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True, **options)
    yield demo.local_url
    demo.close()


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)
