"""Many requests at once: one bound on model work over every endpoint, figures drawn safely
from many threads, and any failure inside a handler answered with a message."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import pytest

from sentiment_app.app import handlers as handlers_module
from sentiment_app.app import service as service_module
from sentiment_app.app.handlers import UNEXPECTED, Handlers
from sentiment_app.app.plots import gates_figure, gradient_flow_figure, rendered
from sentiment_app.app.service import SentimentService
from sentiment_app.limits import CONCURRENCY


def test_figures_render_from_many_threads_without_a_failure():
    words = ["the", "film", "costs", "$5", "and $x$", "wonderful"] * 5  # "$" in user text is not math
    flows = {"lstm": [0.1 * i for i in range(len(words))], "gru": [1.0] * len(words)}

    def one(index: int) -> bool:
        plot = rendered(gradient_flow_figure, words, flows)
        return plot.plot.startswith("data:image/png;base64,")

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(one, range(32)))


def test_model_work_is_bounded_across_every_endpoint_together(trained_models, monkeypatch, tmp_path):
    service = SentimentService.from_directory(trained_models)
    active, peak, lock = [0], [0], threading.Lock()

    def held(work):
        def wrapper(*args, **kwargs):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            try:
                return work(*args, **kwargs)
            finally:
                with lock:
                    active[0] -= 1

        return wrapper

    for predictor in service.predictors.values():
        monkeypatch.setattr(predictor, "predict_or_skip", held(predictor.predict_or_skip))
    monkeypatch.setattr(service_module, "trace_network", held(service_module.trace_network))
    monkeypatch.setattr(service_module, "gradient_flow", held(service_module.gradient_flow))
    upload = tmp_path / "texts.csv"
    upload.write_text("text\ngood film\nbad film\n")
    calls = [
        lambda: service.predict("the film is wonderful"),
        lambda: service.compare("a dull film"),
        lambda: service.analyze("the cast is charming", "gru"),
        lambda: service.trace("the plot is thin", "lstm"),
        lambda: service.gradient_flows("the plot is thin"),
        lambda: service.score_file(upload, "text"),
    ]
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda index: calls[index % len(calls)](), range(36)))
    assert len(results) == 36 and peak[0] == CONCURRENCY


@pytest.fixture(scope="module")
def handlers(trained_models):
    return Handlers(SentimentService.from_directory(trained_models))


def test_a_failure_while_drawing_is_answered_with_a_message(handlers, monkeypatch):
    def broken(*args):
        raise RuntimeError("mathtext parser state corrupted")

    monkeypatch.setattr(handlers_module, "gradient_flow_figure", broken)
    assert handlers.inside("the film is wonderful", "lstm") == (None, None, UNEXPECTED)


def test_a_failure_in_the_api_is_a_message_not_a_traceback(handlers, monkeypatch):
    def broken(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(handlers.service, "predict", broken)
    with pytest.raises(gr.Error) as caught:
        handlers.predict_sentiment("good", "")
    assert caught.value.message == UNEXPECTED


def test_gates_render_under_the_lock_too(handlers):
    trace = handlers.service.trace("the film is wonderful", "lstm")
    shown = trace.directions[0]
    plot = rendered(
        gates_figure, trace.tokens, trace.cell, shown.direction, shown.gates, shown.hidden, shown.cell_state, "lstm"
    )
    assert plot.type == "matplotlib" and len(plot.plot) > 1000
