"""The README is user documentation and the docs are reference pages: short, linked, no diary."""

from __future__ import annotations

import re
import subprocess

from sentiment_app.paths import PACKAGE_ROOT

PAGES = [
    "README.md",
    *sorted(str(path.relative_to(PACKAGE_ROOT)) for path in (PACKAGE_ROOT / "docs").glob("*.md")),
    "benchmarks/README.md",
]
# spelled in pieces so that this file passes its own check
DIARY_WORDS = [
    "to" + "day",
    "this morn" + "ing",
    "this after" + "noon",
    "to" + "night",
    "yester" + "day",
    "slow " + "spell",
]
DIARY = re.compile(r"\b(" + "|".join(DIARY_WORDS) + r")\b", re.I)


def test_the_readme_is_at_most_250_lines_and_starts_with_the_two_commands():
    lines = (PACKAGE_ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250
    setup = lines.index("# Set up and launch the app on the shipped models (then open http://127.0.0.1:7860)")
    assert lines[setup + 1].endswith("pip install -r requirements.txt && python app.py")
    assert lines[setup + 2] == "# Set up and run the tests"
    assert lines[setup + 3].endswith("pip install -r requirements-dev.txt && python -m pytest")


def test_every_relative_link_in_the_docs_resolves():
    for page in PAGES:
        path = PACKAGE_ROOT / page
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
            if "://" in target:
                continue
            assert (path.parent / target).exists(), f"{page}: {target}"


def test_the_docs_pages_are_linked_from_the_readme():
    readme = (PACKAGE_ROOT / "README.md").read_text()
    for page in PAGES[1:]:
        assert f"]({page})" in readme, page


def test_no_tracked_text_file_has_diary_words():
    tracked = subprocess.run(["git", "ls-files"], cwd=PACKAGE_ROOT, capture_output=True, text=True, check=True)
    offenders = []
    for name in tracked.stdout.split():
        if not name.endswith((".md", ".py", ".toml", ".txt", ".sh")) and name != ".ci/run":
            continue
        text = (PACKAGE_ROOT / name).read_text(encoding="utf-8", errors="replace")
        if DIARY.search(text):
            offenders.append(name)
    assert not offenders
