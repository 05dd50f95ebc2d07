"""End to end in a real browser: Playwright driving Debian's Chromium against the launched app."""

from __future__ import annotations

import os
import urllib.request

import pytest

from tests.helpers import write_csv

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def page(app_url):  # noqa: F811
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.goto(app_url)
        page.wait_for_selector("#analyze-text textarea", timeout=30_000)
        yield page
        browser.close()


def test_typing_a_review_shows_the_predicted_label(page):
    page.get_by_role("tab", name="Analyze").click()
    box = page.locator("#analyze-text textarea")
    box.fill("")
    box.press_sequentially("the film is wonderful", delay=20)
    # the latest input wins: the page settles on the whole text, one highlight per word
    page.wait_for_function(
        "document.querySelector('#analyze-highlights .attributions')?.innerText.trim() === 'the film is wonderful'",
        timeout=20_000,
    )
    assert page.locator("#analyze-highlights .attribution").count() == 4
    page.locator('#analyze-label .answer[data-label="positive"]').wait_for(timeout=20_000)
    page.locator("#status").get_by_text("ms").first.wait_for(timeout=20_000)
    box.fill("this movie is dreadful")
    page.locator('#analyze-label .answer[data-label="negative"]').wait_for(timeout=20_000)


def test_script_tags_in_a_review_are_shown_not_run(page):
    page.get_by_role("tab", name="Analyze").click()
    page.evaluate("window.__injected = false")
    page.locator("#analyze-text textarea").fill('<img src=x onerror="window.__injected=true"> great film')
    page.locator("#analyze-highlights").get_by_text("img").first.wait_for(timeout=20_000)
    assert page.evaluate("window.__injected") is False


def test_uploading_a_csv_in_the_batch_tab_gives_a_result_file(page, tmp_path):
    rows = [("the film is wonderful", "positive"), ("the script is clumsy", "negative")]
    source = write_csv(tmp_path / "reviews.csv", rows, header=("review", "label"))
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-file input[type=file]").set_input_files(str(source))
    page.get_by_text("2 rows, columns: review, label").wait_for(timeout=20_000)
    page.locator("#batch-score").click()
    link = page.locator("#batch-result a").first
    link.wait_for(timeout=60_000)
    href = link.get_attribute("href")
    with urllib.request.urlopen(href if href.startswith("http") else page.url.rstrip("/") + href) as response:
        content = response.read().decode("utf-8")
    assert content.splitlines()[0].startswith("review,label,bilstm_label")
    assert "the film is wonderful" in content and len(content.splitlines()) == 3
    page.get_by_text("Accuracy on the file's labels").wait_for()


def test_the_unit_explorer_selects_units_finds_phrases_and_ablates(page, app_url, trained_models):
    from sentiment_app.app.service import SentimentService

    page.get_by_role("tab", name="Inside the network").click()
    page.locator("#inside-gates img").first.wait_for(timeout=90_000)  # drawn for the pre-filled text on opening
    text = page.locator("#inside-text textarea").input_value()
    page.locator("#units-span textarea, #units-span input").first.fill("so moving")
    page.locator("#units-threshold input[type=number]").fill("-0.9")
    page.locator("#units-threshold input[type=number]").press("Enter")
    page.locator("#units-find").click()
    page.get_by_text("stay above -0.9").wait_for(timeout=90_000)
    matches = page.locator("#units-matches li.unit-match")
    assert matches.count() == 5 and matches.first.locator("mark").inner_text().strip()
    units = page.locator("#units-chosen textarea, #units-chosen input").first.input_value()
    assert units  # pre-filled with the sentiment units
    model = page.locator("#inside-model input").first.input_value()
    page.locator("#units-ablate").click()
    page.get_by_text("held at 0").wait_for(timeout=90_000)
    shown = page.locator("#units-ablation").inner_text()
    expected = SentimentService.from_directory(trained_models).ablate(text, model, units, 0.0)
    assert f"P(positive) = {expected.before['positive']:.3f}" in shown
    assert f"P(positive) = {expected.after['positive']:.3f}" in shown
    assert expected.after != expected.before


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}], ids=["laptop", "phone"]
)
def test_the_answer_is_in_view_while_typing(page, app_url, viewport):
    page.set_viewport_size(viewport)
    try:
        page.goto(app_url)
        box = page.locator("#analyze-text textarea")
        box.wait_for(timeout=30_000)
        box.click()
        box.press_sequentially("the film is wonderful", delay=10)
        page.locator('#analyze-label .answer[data-label="positive"]').wait_for(timeout=20_000)
        page.locator("#analyze-highlights .attribution").first.wait_for(timeout=20_000)
        assert in_view(page, "#analyze-text textarea") and in_view(page, "#analyze-label .answer")
        if viewport["width"] >= 1000:  # on a laptop the highlighted words are in view too
            assert in_view(page, "#analyze-highlights .attributions")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(app_url)
        page.wait_for_selector("#analyze-text textarea", timeout=30_000)


def test_positive_and_negative_have_two_colours_and_odd_text_is_flagged(page):
    page.get_by_role("tab", name="Analyze").click()
    box = page.locator("#analyze-text textarea")
    colours = {}
    for text, label in (("the film is wonderful", "positive"), ("this movie is dreadful", "negative")):
        box.fill(text)
        answer = page.locator(f'#analyze-label .answer[data-label="{label}"]')
        answer.wait_for(timeout=20_000)
        colours[label] = answer.evaluate("node => getComputedStyle(node).borderTopColor")
    assert colours["positive"] != colours["negative"]
    box.fill("Ce film est magnifique, je le recommande à tous mes amis.")
    page.locator("#analyze-label .answer-flag").get_by_text("looks like French").wait_for(timeout=20_000)


def test_compare_scores_its_text_on_load_and_on_enter_and_no_empty_tables(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Compare").click()
    table = page.locator("#compare-table")
    table.get_by_text("bilstm").first.wait_for(timeout=30_000)  # scored on load, no click
    box = page.locator("#compare-text input, #compare-text textarea").first
    box.fill("this movie is dreadful")
    box.press("Enter")
    page.wait_for_function("document.querySelector('#compare-table')?.innerText.includes('negative')", timeout=30_000)
    page.get_by_role("tab", name="Batch").click()
    assert page.locator("#batch-result").count() == 1
    assert page.get_by_text("Preview (first 20 rows)").count() == 0  # no empty grid before a result
    page.get_by_role("tab", name="Inside the network").click()
    page.locator("#inside-gates img").first.wait_for(timeout=90_000)
    for plot in ("#inside-gates", "#inside-gradients", "#units-sentiment", "#inside-side-by-side"):
        badges = page.locator(f'{plot} [data-testid="block-label"]')
        assert not any(badges.nth(i).is_visible() for i in range(badges.count()))  # no badge over a title
