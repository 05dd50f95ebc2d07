"""The layers written down in pyproject.toml hold: import-linter's contracts pass on the code."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from sentiment_app.paths import PACKAGE_ROOT


def test_the_import_contracts_hold():
    """The UI and CLI import no torch, models import no app, the library imports no training."""
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        pytest.skip("import-linter is not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run([lint_imports, "--no-cache"], cwd=PACKAGE_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
