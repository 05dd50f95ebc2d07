"""The app as an MCP server: an LLM agent lists the tools, reads their typed descriptions and gets a
prediction, through the `mcp` client over loopback."""

from __future__ import annotations

import asyncio
import json

import pytest

from sentiment_app.app.service import SentimentService
from sentiment_app.app.ui import build_demo, launch_options
from tests.helpers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mcp_url(trained_models):
    demo = build_demo(SentimentService.from_directory(trained_models))
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=free_port(),
        quiet=True,
        mcp_server=True,
        **launch_options(),
    )
    yield demo.local_url.rstrip("/") + "/gradio_api/mcp/"
    demo.close()


async def list_and_call(url: str, tool: str, arguments: dict):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool(tool, arguments)
            return {t.name: t for t in tools.tools}, result


def test_an_agent_lists_the_public_endpoints_as_described_tools_and_gets_a_prediction(mcp_url):
    tools, result = asyncio.run(list_and_call(mcp_url, "predict_sentiment", {"text": "the film is wonderful"}))
    assert set(tools) == {
        "predict_sentiment",
        "compare_models",
        "list_models",
        "explore_units",
        "ablate_units",
    }  # no private UI endpoint
    predict = tools["predict_sentiment"]
    assert "positive or negative" in predict.description
    assert predict.inputSchema["required"] == ["text"]
    assert "The text to classify" in predict.inputSchema["properties"]["text"]["description"]
    assert not result.isError
    answer = result.content[0].text
    assert "'label': 'positive'" in answer or json.loads(answer)["label"] == "positive"


def test_a_tool_call_with_bad_input_is_an_error_the_agent_can_read(mcp_url):
    _, result = asyncio.run(list_and_call(mcp_url, "predict_sentiment", {"text": "   "}))
    assert result.isError and "the text is empty" in result.content[0].text
