"""Nothing loads weights except from safetensors: no pickle, no torch.load, no eval/exec."""

from __future__ import annotations

import re
from pathlib import Path

from sentiment_app.paths import PACKAGE_ROOT

ROOT = PACKAGE_ROOT
FORBIDDEN = re.compile(
    r"\b(torch\.load|torch\.save|pickle\.\w+|dill\.\w+|joblib\.\w+)\s*\(|"
    r"(?<![\w.])(eval|exec)\s*\(|^\s*(import|from)\s+(pickle|dill|joblib)\b|"
    r"weights_only\s*=\s*False"
)


def python_sources() -> list[Path]:
    folders = ["sentiment_app", "training", "benchmarks"]
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py")]
    return files + [ROOT / "app.py"] if (ROOT / "app.py").exists() else files


def test_no_source_file_unpickles_or_evaluates_code():
    offenders = []
    for path in python_sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_checker_would_catch_an_offender():
    assert FORBIDDEN.search("state = torch.load(path)")
    assert FORBIDDEN.search("import pickle")
    assert FORBIDDEN.search("value = eval(text)")
    assert not FORBIDDEN.search("weights = load_file(path)")
    assert not FORBIDDEN.search("model.eval()")
