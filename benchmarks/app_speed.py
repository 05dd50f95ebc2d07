"""The app and cold-start sections: REST and gradio_client round trips, and process start to first answer."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.timing import free_port, percentiles, timed_alternately
from sentiment_app.paths import PACKAGE_ROOT

ROOT = PACKAGE_ROOT


def app_section(quick: bool) -> dict[str, Any]:
    import gradio as gr
    import httpx
    from gradio_client import Client

    from benchmarks.rest import call
    from sentiment_app.app.service import SentimentService
    from sentiment_app.app.ui import build_demo, launch_options

    demo = build_demo(SentimentService.from_directory())
    with demo:

        def noop(text: str) -> str:
            """Returns its input: the do-nothing baseline."""
            return text

        gr.api(noop, api_name="noop")
    demo.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True, **launch_options())
    url = demo.local_url
    repeats = 30 if quick else 300
    text = "A gripping, beautifully acted film that stays with you long after the credits."
    result: dict[str, Any] = {}
    with httpx.Client() as http:
        rest = timed_alternately(
            {
                "noop": lambda: call(http, url, "noop", [text]),
                "predict": lambda: call(http, url, "predict", [text, ""]),
            },
            repeats,
        )
    client = Client(url, verbose=False)
    client_repeats = 20 if quick else 100
    through_client = timed_alternately(
        {
            "noop": lambda: client.predict(text, api_name="/noop"),
            "predict": lambda: client.predict(text, "", api_name="/predict"),
        },
        client_repeats,
        warmup=3,
    )
    for endpoint in ("noop", "predict"):
        result[f"rest_{endpoint}"] = percentiles(rest[endpoint])
        result[f"client_{endpoint}"] = percentiles(through_client[endpoint])
    demo.close()
    result["rest_predict_minus_noop_p50_ms"] = result["rest_predict"]["p50_ms"] - result["rest_noop"]["p50_ms"]
    print(
        f"app: REST predict p50 {result['rest_predict']['p50_ms']:.2f} ms vs do-nothing "
        f"{result['rest_noop']['p50_ms']:.2f} ms; gradio_client {result['client_predict']['p50_ms']:.1f} "
        f"vs {result['client_noop']['p50_ms']:.1f} ms",
        flush=True,
    )
    return result


NOOP_APP = """
import gradio as gr
def noop(text: str) -> str:
    return text
with gr.Blocks() as demo:
    gr.api(noop, api_name="predict")
demo.launch()
"""


def first_answer_seconds(command: list[str], data: list[Any], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from process start to the first answered `predict` call; and the process's peak
    resident memory in MiB."""
    import httpx

    from benchmarks.rest import call

    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env, "GRADIO_SERVER_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client() as http:
            while time.perf_counter() - started < 120:
                try:
                    call(http, url, "predict", data, timeout=10)
                    elapsed = time.perf_counter() - started
                    break
                except Exception:
                    time.sleep(0.02)
            else:
                raise RuntimeError(f"{command} did not answer within 120 s")
        import psutil

        peak = psutil.Process(process.pid).memory_info().rss / 2**20
    finally:
        process.terminate()
        process.wait(timeout=30)
    return elapsed, peak


def cold_start_section(quick: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    runs = 1 if quick else 3
    ours, baseline, memory = [], [], []
    for _ in range(runs):
        seconds, peak = first_answer_seconds([sys.executable, "app.py"], ["A fine film.", ""], env)
        ours.append(seconds)
        memory.append(peak)
        baseline.append(first_answer_seconds([sys.executable, "-c", NOOP_APP], ["A fine film."], env)[0])
    load = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; t = time.perf_counter(); "
            "from sentiment_app.app.service import SentimentService; SentimentService.from_directory(); "
            "print(time.perf_counter() - t)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = {
        "app_seconds": statistics.median(ours),
        "noop_app_seconds": statistics.median(baseline),
        "import_and_load_models_seconds": float(load.stdout.strip().splitlines()[-1]),
        "app_rss_mib_after_first_answer": statistics.median(memory),
    }
    result["app_minus_noop_seconds"] = result["app_seconds"] - result["noop_app_seconds"]
    print(
        f"cold start: app {result['app_seconds']:.2f} s, do-nothing app {result['noop_app_seconds']:.2f} s", flush=True
    )
    return result


# --- report -----------------------------------------------------------------------------------
