"""The web chat in headless Chromium: answers with citations, the document viewer, follow-ups,
filters, abstention, downloads, HTML injection and adding a document from the page. Real
model, real server (`serve --allow-upload` with a token, on its own copy of the index), real
browser."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webserver import OUTPUT, REPO, Server, running_server, web_index  # noqa: F401 (fixture)

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


UPLOAD_TOKEN = "webbtestets-nyckel-2026"
INDEX_TIMEOUT_MS = 600_000  # adding a document loads torch first (about 20 s on a quiet machine)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def served_index(web_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A copy of the session's index: documents added here must not reach other modules."""
    index = tmp_path_factory.mktemp("upload") / "index"
    shutil.copytree(web_index, index)
    return index


@pytest.fixture(scope="module")
def web_server(served_index: Path) -> Iterator[Server]:
    """The chat with uploading on (a token asked for, as a public server would)."""
    args = ("--allow-upload", "--upload-token", UPLOAD_TOKEN)
    with running_server(served_index, OUTPUT / "test_web_browser-server.log", args) as server:
        yield server


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
    options = page.get_attribute(f"#{elem_id} input", "aria-controls")  # its own option list
    page.locator(f"[id='{options}'] li", has_text=label).first.click()
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
    assert csv_text.startswith("nr,fråga,sökte på,svar,citat,källa,titel,fil,sida,")
    assert "31 december 2027" in csv_text
    with page.expect_download() as download_info:
        page.click("#sv-md")
    markdown = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# Samtal\n\n## 1. Hur länge gäller Haninges överenskommelse?")
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


def test_conversation_is_kept_across_a_reload_and_exported_whole(page: Any) -> None:
    ask(page, "Hur länge gäller Haninges överenskommelse?")
    questions = page.locator("#sv-chat .sv-user").all_inner_texts()
    assert len(questions) >= 3
    page.reload()
    page.wait_for_function(
        f"document.querySelectorAll('#sv-chat .sv-turn').length === {len(questions)}",
        timeout=TIMEOUT_MS,
    )
    assert page.locator("#sv-chat .sv-user").all_inner_texts() == questions
    # A follow-up after the reload is read against the questions asked before it.
    turn = ask(page, "Och i Södertälje?")
    searched = turn.locator(".sv-searched").inner_text()
    assert searched == "Sökte på: Hur länge gäller Södertäljes överenskommelse?"
    with page.expect_download() as download_info:
        page.click("#sv-md")
    markdown = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert markdown.count("\n## ") == len(questions) + 1  # every question of the conversation


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
    # "Ny konversation" also forgets what the browser kept: a reload shows one reply.
    page.reload()
    page.wait_for_selector("#sv-chat .sv-turn")
    assert page.locator("#sv-chat .sv-turn").count() == 1


def test_documents_tab_table_filter_and_export(page: Any) -> None:
    page.get_by_role("tab", name="Dokument", exact=True).click()
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


# --- Swedish, accessible, any screen ---------------------------------------------------------

AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"  # `npm ci` (package-lock.json)
# WCAG 2.1 A and AA rules; axe's "serious" and "critical" violations fail the test.
AXE_RUN = """async () => {
    const result = await axe.run(document, {
        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
    return result.violations.filter(v => ["serious", "critical"].includes(v.impact))
        .map(v => `${v.id}: ${v.nodes.map(n => n.target.join(" ")).slice(0, 5).join(", ")}`);
}"""
FINISHED_TRANSITIONS_JS = """document.getAnimations().every(a => a.playState !== "running" ||
    a.effect.getComputedTiming().iterations === Infinity)"""
OPEN_LISTS_JS = "[...document.querySelectorAll('ul[role=listbox]')].filter(u => u.offsetParent)"
# WCAG contrast ratio of an element's text colour on the background it is painted on.
CONTRAST_JS = """(sel) => {
    const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 4).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
        .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const el = document.querySelector(sel);
    let box = el, bg = null;
    while (box && !bg) {
        const c = rgb(getComputedStyle(box).backgroundColor);
        if (c.length < 4 || c[3] > 0) bg = c;
        box = box.parentElement;
    }
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg || [255, 255, 255])];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def axe_violations(page: Any) -> list[str]:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` (make test does)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    # Gradio's progress overlays fade out after an update; contrast is judged once they are gone.
    page.wait_for_function(FINISHED_TRANSITIONS_JS, timeout=TIMEOUT_MS)
    return list(page.evaluate(AXE_RUN))


def test_page_is_swedish_labelled_and_announces_answers(page: Any) -> None:
    assert page.evaluate("document.documentElement.lang") == "sv"
    assert page.get_by_role("textbox", name="Fråga").count() == 1
    assert page.locator("#sv-live[aria-live='polite']").count() == 1
    turn = ask(page, "Hur länge gäller Haninges överenskommelse?")
    answer = flat(turn.locator(".sv-answer-text").inner_text())
    page.wait_for_function(
        "(want) => document.querySelector('#sv-live').innerText.includes(want)",
        arg=answer[:40],
        timeout=TIMEOUT_MS,
    )
    html = page.content()
    for english in ("Use via API", "processing", "Reset to default value", "Built with"):
        assert english not in html, english
    ratio = page.evaluate(CONTRAST_JS, f"#sv-src-{turn.get_attribute('data-turn')}-1 .sv-meta")
    assert ratio >= 4.5, f"grey metadata text contrast {ratio:.2f}:1"


def test_tabbing_through_filters_leaves_no_dropdown_open(page: Any) -> None:
    page.focus("#sv-kommun input")
    for _ in range(4):
        page.keyboard.press("Tab")
        page.wait_for_function(
            f"{OPEN_LISTS_JS}.every(u => u.id === "
            "document.activeElement.getAttribute('aria-controls'))",
            timeout=TIMEOUT_MS,
        )
    page.focus("#sv-question textarea")
    page.wait_for_function(f"{OPEN_LISTS_JS}.length === 0", timeout=TIMEOUT_MS)


def test_axe_finds_no_serious_violations_in_chat_viewer_and_documents(page: Any) -> None:
    turn = ask(page, "Vilka fokusområden har Haninge?")
    assert axe_violations(page) == []  # the chat with an answer
    turn.locator(".sv-open").first.click()
    page.wait_for_selector("#sv-viewer .sv-back")
    assert axe_violations(page) == []  # the document viewer
    page.get_by_role("tab", name="Dokument", exact=True).click()
    page.wait_for_selector("#sv-docs-table table")
    assert axe_violations(page) == []
    page.get_by_role("tab", name="Chatt").click()


@pytest.fixture
def phone(page: Any, web_server: Server) -> Iterator[Any]:  # noqa: F811 (fixture injection)
    """A 390×844 phone screen in the same browser (one Playwright per thread)."""
    context = page.context.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True
    )
    phone = context.new_page()
    phone.set_default_timeout(TIMEOUT_MS)
    phone.goto(web_server.url)
    phone.wait_for_selector("#sv-chat .sv-example")
    yield phone
    context.close()


def table_scrolls_sideways(page: Any) -> None:
    page.get_by_role("tab", name="Dokument", exact=True).click()
    page.wait_for_selector("#sv-docs-table table")
    scroller = page.locator("#sv-docs-table .sv-facts-scroll")
    assert scroller.evaluate("s => s.scrollWidth > s.clientWidth")  # wider than its box
    scroller.evaluate("s => { s.scrollLeft = s.scrollWidth; }")
    page.wait_for_function(
        "document.querySelector('#sv-docs-table .sv-facts-scroll').scrollLeft > 0",
        timeout=TIMEOUT_MS,
    )
    # The page itself does not scroll sideways: only the table's box does.
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_phone_layout_question_box_viewer_way_back_and_wide_table(phone: Any) -> None:
    box = phone.locator("#sv-question textarea").bounding_box()
    assert box and box["y"] + box["height"] <= 844, box  # on the first screen
    shot(phone, "09-phone-start")
    turn = ask(phone, "Hur länge gäller Haninges överenskommelse?")
    opened = turn.locator(".sv-open").first
    source_id = opened.evaluate("b => b.closest('.sv-source').id")
    opened.click()
    phone.wait_for_selector("#sv-viewer .sv-back")
    wait_in_view(phone, "#sv-viewer mark.sv-passage")
    shot(phone, "10-phone-viewer")
    shutil.copyfile(SHOTS / "10-phone-viewer.png", REPO / "docs" / "screenshot-phone.png")
    phone.click("#sv-viewer .sv-back")
    wait_in_view(phone, f"#{source_id}")
    phone.wait_for_function(
        "(id) => document.activeElement.closest('.sv-source')?.id === id",
        arg=source_id,
        timeout=TIMEOUT_MS,
    )
    table_scrolls_sideways(phone)
    shot(phone, "11-phone-documents")


def test_wide_table_scrolls_sideways_on_a_laptop_screen(page: Any) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    try:
        page.get_by_role("tab", name="Dokument", exact=True).click()
        page.locator("#sv-docs-view").get_by_label("Alla dokument").check()  # not "Jämför"
        choose(page, "sv-docs-kommun", "Alla kommuner")
        page.wait_for_function(
            "document.querySelector('#sv-docs-table').innerText.includes('Haninge')",
            timeout=TIMEOUT_MS,
        )
        table_scrolls_sideways(page)
    finally:
        page.get_by_role("tab", name="Chatt").click()
        page.set_viewport_size({"width": 1440, "height": 1000})


def test_phone_layout_of_the_upload_tab(phone: Any) -> None:
    phone.get_by_role("tab", name="Lägg till", exact=True).click()
    phone.wait_for_selector("#sv-upload-go")
    for selector in ("#sv-upload-files", "#sv-upload-token input", "#sv-upload-go"):
        box = phone.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (selector, box)
    assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth")
    shot(phone, "12-phone-upload")


# --- adding a document from the page (last: it changes the index this module searches) ------

VARMDO_MD = """# Samverkansöverenskommelse för Värmdö 2026

Värmdö kommun och Polismyndigheten har tecknat en samverkansöverenskommelse om trygghet i
skärgården.

Trygghetsvandringar genomförs varje torsdag kväll i Gustavsberg centrum. Överenskommelsen
gäller från 1 januari 2026 till 31 december 2027.
"""
# Records every status the upload box shows, so that the test sees the progress it passed.
WATCH_STATUS_JS = """() => {
    window.__uploadStages = [];
    window.__uploadTexts = [];
    const tab = document.querySelector("#sv-tab-upload");
    new MutationObserver(() => {
        const status = tab.querySelector("#sv-upload-status .sv-up-status");
        if (status) window.__uploadStages.push(status.className);
        window.__uploadTexts.push(tab.innerText);
    }).observe(tab, {childList: true, subtree: true, characterData: true});
}"""


def test_upload_a_document_then_ask_about_it(
    page: Any, served_index: Path, web_server: Server
) -> None:
    page.get_by_role("tab", name="Lägg till", exact=True).click()
    page.wait_for_selector("#sv-upload-go")
    assert page.get_by_label("Uppladdningsnyckel").count() == 1
    text = flat(page.locator("#sv-tab-upload").inner_text())
    assert "Släpp filer här" in text and "Drop File" not in text
    assert axe_violations(page) == []  # the upload control, empty
    page.set_input_files(
        "#sv-upload-files input[type=file]",
        files=[
            {"name": "Värmdö överenskommelse 2026.md", "mimeType": "text/markdown",
             "buffer": VARMDO_MD.encode()},
            {"name": "verktyg.exe", "mimeType": "application/octet-stream",
             "buffer": b"MZ\x90\x00"},
        ],
    )  # fmt: skip
    page.wait_for_selector("#sv-upload-files td.filename[aria-label='verktyg.exe']")
    assert axe_violations(page) == []  # the picked files' list
    # A wrong token stores nothing and says so.
    page.fill("#sv-upload-token input", "fel-nyckel")
    page.click("#sv-upload-go")
    page.wait_for_selector("#sv-upload-status .sv-up-failed")
    assert (
        "fel uppladdningsnyckel (wrong upload token)"
        in page.locator("#sv-upload-status").inner_text()
    )
    assert not (served_index / "uploads").exists()

    page.evaluate(WATCH_STATUS_JS)
    page.fill("#sv-upload-token input", UPLOAD_TOKEN)
    page.click("#sv-upload-go")
    page.wait_for_selector("#sv-upload-status .sv-up-done", timeout=INDEX_TIMEOUT_MS)
    status = flat(page.locator("#sv-upload-status").inner_text())
    assert "Klart: 1 dokument tillagt och sökbart (Värmdö överenskommelse 2026.md)" in status
    # The reason `index` gives, worded in Swedish before it.
    assert "verktyg.exe: filtypen .exe kan inte läsas (unsupported file type .exe)" in status
    assert any("sv-up-running" in c for c in page.evaluate("window.__uploadStages"))
    shown = " ".join(page.evaluate("window.__uploadTexts"))
    assert "processing" not in shown and "queue:" not in shown  # gradio's English tracker
    live = page.locator("#sv-upload-live[aria-live='polite']").inner_text()
    assert live.startswith("Klart: 1 dokument tillagt")
    wait_settled(page)
    shot(page, "13-upload-done", full_page=True)
    shutil.copyfile(SHOTS / "13-upload-done.png", REPO / "docs" / "screenshot-upload.png")
    assert axe_violations(page) == []  # the upload control with its report
    stored = served_index / "uploads" / "varmdo-overenskommelse-2026.md"
    assert stored.read_text(encoding="utf-8") == VARMDO_MD
    # Stored, never served: the file's path is not reachable over HTTP.
    response = page.request.get(f"{web_server.url}gradio_api/file={stored}")
    assert response.status in (403, 404), response.status

    # Searchable at once, from the same server, and offered in the filters.
    page.get_by_role("tab", name="Chatt").click()
    turn = ask(page, "Hur länge gäller Värmdös överenskommelse?")
    answer = flat(turn.locator(".sv-answer-text").inner_text())
    assert "31 december 2027" in answer, answer
    n = markers(turn)[0]
    citation = flat(turn.locator(f"#sv-src-{turn.get_attribute('data-turn')}-{n} .sv-cite-line")
                    .inner_text())  # fmt: skip
    assert "varmdo-overenskommelse-2026.md" in citation and "Värmdö kommun" in citation
    page.click("#sv-doc input")
    options = page.get_attribute("#sv-doc input", "aria-controls")
    added = page.locator(f"[id='{options}'] li", has_text="Samverkansöverenskommelse för Värmdö")
    assert added.count() == 1
    page.keyboard.press("Escape")
    shot(page, "14-upload-answer")
    # The Dokument tab lists it, and offers its municipality in its filter.
    page.get_by_role("tab", name="Dokument", exact=True).click()
    page.wait_for_function(
        "document.querySelector('#sv-docs-table').innerText.includes('Värmdö')",
        timeout=TIMEOUT_MS,
    )
    choose(page, "sv-docs-kommun", "Värmdö")
    page.wait_for_function(
        "!document.querySelector('#sv-docs-table').innerText.includes('Haninge')",
        timeout=TIMEOUT_MS,
    )
    page.get_by_role("tab", name="Chatt").click()
