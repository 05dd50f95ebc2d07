"""The Python version stated everywhere (pyproject, README, the Space's header) is the one the
pinned requirements really need, and the console scripts point at modules that exist."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import tomllib

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from sentiment_app.paths import PACKAGE_ROOT

PYTHONS = [Version(f"3.{minor}") for minor in range(8, 16)]


def pins(path):
    """name -> version of every `name==version` line of a requirements file and the files it includes."""
    found = {}
    for line in (PACKAGE_ROOT / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found |= pins(line[3:].strip())
        elif "==" in line:
            name, version = line.split("==")
            found[name.split("[")[0].strip()] = version.strip()
    return found


def lowest_python(specifier: str | None) -> Version:
    allowed = [python for python in PYTHONS if python in SpecifierSet(specifier or "")]
    return allowed[0]


def declared_minimum() -> Version:
    project = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text())["project"]
    match = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"].strip())
    assert match, project["requires-python"]
    return Version(match.group(1))


def test_requires_python_is_what_the_pins_need():
    needs = {}
    for name, version in pins("requirements-dev.txt").items():
        installed = importlib.metadata.distribution(name)
        assert installed.version.split("+")[0] == version.split("+")[0], (
            f"{name}: {installed.version} installed, {version} pinned"
        )
        needs[name] = lowest_python(installed.metadata.get("Requires-Python"))
    strictest = max(needs.values())
    assert declared_minimum() == strictest, {name: str(need) for name, need in needs.items() if need == strictest}


def test_the_readme_and_the_space_state_the_same_python():
    minimum = declared_minimum()
    readme = (PACKAGE_ROOT / "README.md").read_text()
    assert f'python_version: "{minimum}"' in readme.split("---")[1]  # the Space's header
    assert f"Python {minimum} or newer" in readme


def test_every_console_script_points_at_a_main_function():
    scripts = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, target in scripts.items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), name


def test_spaces_install_torchs_cpu_build_first_and_the_same_release_after():
    pre = [line.strip() for line in (PACKAGE_ROOT / "pre-requirements.txt").read_text().splitlines()]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pre
    cpu_build = Version(next(line for line in pre if line.startswith("torch==")).split("==")[1])
    served = Version(pins("requirements.txt")["torch"])
    assert cpu_build.local == "cpu" and not served.local
    assert cpu_build.public == served.public  # the CPU build satisfies requirements.txt's pin
    options = [line for line in (PACKAGE_ROOT / "requirements.txt").read_text().splitlines() if line.startswith("-")]
    assert not options  # no index or page for pip to try here, where only the registries answer
