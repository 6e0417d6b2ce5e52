"""The web chat in headless Chromium: answers with citations, the document viewer, follow-ups,
filters, abstention, downloads and HTML injection. Real model, real server, real browser."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webserver import OUTPUT, REPO, Server, web_index, web_server  # noqa: F401 (fixtures)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = OUTPUT / "browser"
ABSTAIN_TEXT = "Jag hittar inget stöd för det i dokumenten."
TIMEOUT_MS = 60_000
PAGE_ERRORS: list[str] = []  # uncaught JavaScript errors on the page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.model,
    # Checked before any fixture runs, so a machine without Chromium builds no index.
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt chromium)"),
]


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def page(web_server: Server) -> Iterator[Any]:  # noqa: F811 (pytest fixture injection)
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1440, "height": 1000},
            permissions=["clipboard-read", "clipboard-write"],
            accept_downloads=True,
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: PAGE_ERRORS.append(str(exc)))
        page.goto(web_server.url)
        page.wait_for_selector("#sv-chat .sv-example")
        yield page
        context.close()
        browser.close()


def ask(page: Any, question: str, *, enter: bool = False) -> Any:
    """Type a question, send it (button, or Enter), and return the locator of the reply."""
    before = page.locator("#sv-chat .sv-turn").count()
    page.fill("#sv-question textarea", question)
    if enter:
        page.press("#sv-question textarea", "Enter")
    else:
        page.click("#sv-ask")
    page.wait_for_function(
        f"document.querySelectorAll('#sv-chat .sv-turn').length > {before}", timeout=TIMEOUT_MS
    )
    turn = page.locator("#sv-chat .sv-turn").nth(before)
    turn.scroll_into_view_if_needed()
    return turn


def choose(page: Any, elem_id: str, label: str) -> None:
    """Pick an option of a Gradio dropdown by its visible label."""
    page.click(f"#{elem_id} input")
    page.locator("ul[role='listbox'] li", has_text=label).first.click()
    page.wait_for_function(
        f"document.querySelector('#{elem_id} input').value === {label!r}", timeout=TIMEOUT_MS
    )


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# Whether the element is inside its scroll container's and the window's visible area.
IN_VIEW_JS = """(sel) => {
    const el = document.querySelector(sel);
    if (!el) return false;
    let box = el.parentElement;
    while (box && !(box.scrollHeight > box.clientHeight + 1 &&
           ["auto", "scroll"].includes(getComputedStyle(box).overflowY))) {
        box = box.parentElement;
    }
    const r = el.getBoundingClientRect();
    const c = box ? box.getBoundingClientRect() : {top: 0, bottom: innerHeight};
    return r.bottom > c.top && r.top < c.bottom && r.bottom > 0 && r.top < innerHeight;
}"""


def wait_in_view(page: Any, selector: str) -> None:
    """Wait until the element has been scrolled into view (smooth scrolling takes a while)."""
    page.wait_for_function(IN_VIEW_JS, arg=selector, timeout=TIMEOUT_MS)


def clipboard_when(page: Any, expected: str) -> str:
    """The clipboard's text as soon as it is `expected`, else when TIMEOUT_MS has passed (the
    copy button writes it asynchronously). Polled inside the page: `evaluate` awaits the
    promise, `wait_for_function` would take the pending promise itself as truthy."""
    return str(
        page.evaluate(
            """async ([want, ms]) => {
                const until = Date.now() + ms;
                let got = await navigator.clipboard.readText();
                while (got !== want && Date.now() < until) {
                    await new Promise((done) => setTimeout(done, 50));
                    got = await navigator.clipboard.readText();
                }
                return got;
            }""",
            [expected, TIMEOUT_MS],
        )
    )


def wait_settled(page: Any) -> None:
    """Wait until web fonts are loaded and every image has finished (or failed) loading:
    what a screenshot shows is then final, and an injected <img onerror> would have fired."""
    page.wait_for_function(
        "document.fonts.status === 'loaded' && [...document.images].every(i => i.complete)",
        timeout=TIMEOUT_MS,
    )


def markers(turn: Any) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", turn.locator(".sv-answer-text").inner_text())]


def test_answer_with_citations_viewer_and_downloads(page: Any) -> None:
    turn = ask(page, "Hur länge gäller Haninges överenskommelse?")
    answer = flat(turn.locator(".sv-answer-text").inner_text())
    assert "31 december 2027" in answer
    numbers = markers(turn)
    assert numbers, f"no citation markers in {answer!r}"
    supporting = []
    for n in numbers:
        source = turn.locator(f"#sv-src-1-{n}")
        assert source.count() == 1, f"marker [{n}] has no source"
        assert source.locator(".sv-num").inner_text() == f"[{n}]"
        excerpt = flat(source.locator(".sv-excerpt").inner_text())
        highlighted = [flat(t) for t in source.locator("mark.sv-answer").all_inner_texts()]
        if "31 december 2027" in excerpt and any("31 december 2027" in h for h in highlighted):
            supporting.append(n)
    assert supporting, "no cited source shows the answer sentence highlighted in its passage"
    n = supporting[0]
    citation = turn.locator(f"#sv-src-1-{n} .sv-cite-line").inner_text()
    assert "haninge-2025-overenskommelse-polisen-webbsida.txt" in citation
    # The full reference: quoted sentence, title, publisher, date, file and character range.
    assert re.fullmatch(
        r"«[^»]*31 december 2027[^»]*» ”Överenskommelse mellan kommunen och polisen för ett "
        r"tryggare Haninge”, Haninge kommun, 2025-02-13\. "
        r"haninge-2025-overenskommelse-polisen-webbsida\.txt, tecken \d+–\d+(, \d+–\d+)*\.",
        flat(citation),
    ), citation
    wait_settled(page)
    shot(page, "01-answer")

    turn.locator(f"#sv-src-1-{n} .sv-copy").click()
    assert clipboard_when(page, citation) == citation

    turn.locator(f"#sv-src-1-{n} .sv-open").click()
    page.wait_for_selector("#sv-viewer mark.sv-passage")
    viewer = flat(page.locator("#sv-viewer .sv-doc").inner_text())
    assert viewer.startswith("Överenskommelse mellan kommunen och polisen")
    assert "Senast uppdaterad: 13 februari 2025" in viewer  # the whole document
    marked = flat(" ".join(page.locator("#sv-viewer mark.sv-answer").all_inner_texts()))
    assert "gäller fram till den 31 december 2027" in marked
    wait_in_view(page, "#sv-viewer mark.sv-passage")
    shot(page, "02-viewer")
    # For the README: the answer, its sources and the opened document side by side.
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function("window.scrollY === 0", timeout=TIMEOUT_MS)
    wait_settled(page)
    shot(page, "02-answer-and-viewer", full_page=True)
    (REPO / "docs").mkdir(exist_ok=True)
    shutil.copyfile(SHOTS / "02-answer-and-viewer.png", REPO / "docs" / "screenshot-answer.png")

    with page.expect_download() as download_info:
        page.click("#sv-csv")
    csv_text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert csv_text.startswith("nr,källhänvisning,")
    assert "31 december 2027" in csv_text
    with page.expect_download() as download_info:
        page.click("#sv-md")
    markdown = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# Källor: Hur länge gäller Haninges överenskommelse?")
    href = turn.locator(".sv-dl-csv").get_attribute("href")
    assert href and href.startswith("data:text/csv")


def test_followup_shows_what_was_searched(page: Any) -> None:
    turn = ask(page, "Och i Södertälje?", enter=True)
    searched = turn.locator(".sv-searched").inner_text()
    assert searched == "Sökte på: Hur länge gäller Södertäljes överenskommelse?"
    answer = flat(turn.locator(".sv-answer-text").inner_text())
    assert "31 december 2018" in answer, answer
    assert markers(turn)
    shot(page, "03-followup")

    turn = ask(page, "Och vilka fokusområden har de?")
    assert (
        "Sökte på: Vilka fokusområden har Södertälje?" in turn.locator(".sv-searched").inner_text()
    )


def test_filter_limits_sources_to_one_municipality(page: Any) -> None:
    choose(page, "sv-kommun", "Södertälje")
    turn = ask(page, "Vilka områden prioriteras i samverkansöverenskommelsen?")
    assert "Filter: kommun Södertälje" in turn.locator(".sv-filters").inner_text()
    files = turn.locator(".sv-source .sv-meta").all_text_contents()
    assert files and all("sodertalje-" in f for f in files), files
    answer = flat(turn.locator(".sv-answer-text").inner_text())
    assert "organiserad brottlighet" in answer, answer
    shot(page, "04-filter")


def test_nothing_found_reply(page: Any) -> None:
    turn = ask(page, "Vad blir vädret i Stockholm i morgon?")
    assert flat(turn.locator(".sv-answer-text").inner_text()) == ABSTAIN_TEXT
    assert markers(turn) == []
    if turn.locator(".sv-source").count():
        assert "Närmaste passager (matchar inte frågan)" in turn.inner_text()
        badges = turn.locator(".sv-source .sv-nomatch").all_inner_texts()
        assert badges and set(badges) == {"matchar inte"}
        assert turn.locator("mark.sv-answer").count() == 0
    shot(page, "05-abstain")


def test_markup_in_documents_and_questions_stays_text(page: Any) -> None:
    choose(page, "sv-kommun", "Alla kommuner")
    turn = ask(page, "Vad är kodordet för säkerhetstestet?")
    assert "blåbärssoppa" in turn.locator(".sv-answer-text").inner_text()
    chat = turn.inner_text()
    assert "Testby <i>kursiv rubrik</i>" in chat  # the title, as text
    assert "<script>window.__pwned=1</script>" in chat
    assert '<img src=x onerror="window.__pwned=2">' in chat
    source = turn.locator(".sv-source", has_text="blåbärssoppa").first
    source.locator(".sv-open").click()
    page.wait_for_selector("#sv-viewer .sv-viewer[data-doc='sakerhetstest-testby']")
    viewer = page.locator("#sv-viewer").inner_text()
    assert "<i>kursiv rubrik</i>" in page.locator("#sv-viewer .sv-viewer-title").inner_text()
    assert "<script>window.__pwned=1</script>" in viewer
    assert "${window.__pwned=3}" in viewer
    assert "{{constructor.constructor('window.__pwned=4')()}}" in viewer

    hostile = (
        'Vad är kodordet? <img src=x onerror="window.__pwned=5"><script>window.__pwned=6</script>'
    )
    turn = ask(page, hostile)
    assert hostile in turn.locator(".sv-user").inner_text()
    wait_settled(page)
    shot(page, "06-injection")
    injected = page.evaluate(
        "document.querySelectorAll('#sv-chat script, #sv-chat img, #sv-viewer script, "
        "#sv-viewer img').length"
    )
    assert injected == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert PAGE_ERRORS == []


def test_example_question_buttons_and_new_conversation(page: Any) -> None:
    page.click("#sv-clear")
    page.wait_for_selector("#sv-chat .sv-example")
    assert page.locator("#sv-chat .sv-turn").count() == 0
    examples = page.locator("#sv-chat .sv-example").all_inner_texts()
    assert "Vilka fokusområden har Haninge?" in examples
    page.locator("#sv-chat .sv-example", has_text="Vilka fokusområden har Haninge?").click()
    page.wait_for_selector("#sv-chat .sv-turn")
    turn = page.locator("#sv-chat .sv-turn").first
    answer = flat(turn.locator(".sv-answer-text").inner_text())
    for area in ("Barn och unga", "Offentlig miljö", "Hemmiljö", "Samhällsnivå"):
        assert area in answer, answer
    shot(page, "07-example")


def test_documents_tab_table_filter_and_export(page: Any) -> None:
    page.get_by_role("tab", name="Dokument").click()
    page.wait_for_selector("#sv-docs-table table")
    table = page.locator("#sv-docs-table").inner_text()
    for value in ("Haninge", "KS-2018/91.103", "Barn och unga", "2027-12-31"):
        assert value in table, value
    assert "«gäller fram till den 31 december 2027»" in table  # every value has its source
    page.get_by_label("Jämför avtal").check()
    choose(page, "sv-docs-kommun", "Södertälje")
    page.wait_for_function(
        "!document.querySelector('#sv-docs-table').innerText.includes('Haninge')",
        timeout=TIMEOUT_MS,
    )
    table = page.locator("#sv-docs-table").inner_text()
    assert "Södertälje" in table and "fordonsbränder" in table
    shot(page, "08-documents", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Tabellen som CSV").click()
    csv_text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert csv_text.startswith("doc_id,") and "sodertalje" in csv_text
    page.get_by_role("tab", name="Chatt").click()
