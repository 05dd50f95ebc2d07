"""The generated tables in the README and the docs match their sources."""

from __future__ import annotations

import json

import pytest

from benchmarks.update_docs import BLOCKS, long_range_table, replace_block, results_table, updated_pages
from sentiment_app.paths import PACKAGE_ROOT


def test_every_generated_block_is_up_to_date():
    stale = [str(path.relative_to(PACKAGE_ROOT)) for path, (old, new) in updated_pages().items() if old != new]
    assert not stale, f"run python -m benchmarks.update_docs: {stale}"


def test_every_page_has_its_markers_and_every_source_exists():
    for page, blocks in BLOCKS.items():
        text = (PACKAGE_ROOT / page).read_text()
        for name, (source, _) in blocks.items():
            assert f"<!-- {name}:start -->" in text and f"<!-- {name}:end -->" in text, (page, name)
            assert (PACKAGE_ROOT / source).is_file(), source


def test_replace_block_rewrites_only_between_the_markers():
    text = "before\n<!-- x:start -->\nold\n<!-- x:end -->\nafter\n"
    assert replace_block(text, "x", "new\n") == "before\n<!-- x:start -->\nnew\n<!-- x:end -->\nafter\n"
    with pytest.raises(SystemExit, match="no y markers"):
        replace_block(text, "y", "new")


def test_the_results_table_has_a_row_per_model_and_the_reference():
    table = results_table(PACKAGE_ROOT / "assets" / "models" / "comparison.json")
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| model")]
    assert [row.split(" | ")[0][2:] for row in rows] == [
        "simple-rnn",
        "lstm",
        "bilstm",
        "gru",
        "bag-of-embeddings",
        "tfidf-logistic-regression (reference)",
    ]


def test_the_long_range_table_has_a_row_per_cell_and_says_how_long_the_command_took(tmp_path):
    runs = {"simple-rnn": [0.5, 0.6], "lstm-chrono": [1.0, 0.9]}
    result = {
        "settings": {
            "distances": [100],
            "seeds": 2,
            "test_size": 2000,
            "threads": 1,
            "machine": "x86_64, Linux",
            "command": "sentiment long-range --out assets/long_range",
        },
        "wall_seconds": 600.0,
        "summary": {
            name: {"100": {"mean": sum(values) / 2, "min": min(values), "max": max(values), "seeds": values}}
            for name, values in runs.items()
        },
    }
    (tmp_path / "lr.json").write_text(json.dumps(result))
    table = long_range_table(tmp_path / "lr.json")
    assert "| simple-rnn | 0.55 (0.50–0.60) |" in table and "| lstm-chrono | 0.95 (0.90–1.00) |" in table
    assert "`sentiment long-range --out assets/long_range` took 10 minutes (x86_64, Linux, 1 thread)" in table
