"""The web page's "Lägg till" tab: pick or drop files, watch them being indexed.

Checking, storing and indexing are `uploads.Uploads`'; this module only renders its job
status as escaped HTML (in Swedish) and wires the widgets. The status box announces each
stage through a live region of its own, outside the re-rendered HTML.
"""

from __future__ import annotations

import functools
import html
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from samverkan_qa import uploads
from samverkan_qa.errors import UploadRefusedError
from samverkan_qa.settings import Settings

POLL_SECONDS = 0.5
STAGES = {
    uploads.QUEUED: "Väntar på att indexeringen ska börja …",
    uploads.READING: "Läser dokumenten och tar ut fakta …",
    uploads.EMBEDDING: "Indexerar stycken",
    uploads.WRITING: "Skriver det nya indexet …",
    uploads.OPENING: "Öppnar det nya indexet …",
}
TYPES = ", ".join(s.lstrip(".").upper() for s in uploads.SUFFIXES if s != ".htm")

# Raw: the JavaScript holds regex escapes (\s).
STATUS_JS = r"""
// One live region outside the re-rendered status, so that each new stage is announced.
const live = document.createElement("div");
live.id = "sv-upload-live";
live.className = "sv-visually-hidden";
live.setAttribute("role", "status");
live.setAttribute("aria-live", "polite");
element.after(live);
// Gradio names the drop area "Click to upload or drop files" whatever the language: name it
// by its visible (Swedish) text.
const fix = () => {
  for (const area of document.querySelectorAll("#sv-upload-files .upload-container")) {
    const name = area.innerText.replace(/\s+/g, " ").trim();
    if (name && area.getAttribute("aria-label") !== name) area.setAttribute("aria-label", name);
  }
};
fix();
new MutationObserver(fix).observe(document.getElementById("sv-upload-files") || document.body,
  {subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"]});
watch("value", () => {
  const say = element.querySelector("[data-announce]");
  const text = say ? say.dataset.announce : "";
  if (text && live.textContent !== text) live.textContent = text;
});
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g} MB"


def intro_markdown(settings: Settings) -> str:
    return (
        f"Lägg till egna dokument ({TYPES}). Högst {settings.max_upload_files} filer åt gången, "
        f"{_mb(settings.max_upload_file_bytes)} per fil och "
        f"{_mb(settings.max_upload_request_bytes)} tillsammans. Filerna sparas i indexmappen, "
        "indexeras i bakgrunden och blir sökbara i chatten när indexeringen är klar; frågor "
        "besvaras under tiden som vanligt."
    )


def status_html(job: uploads.Job | None = None, refused: str = "") -> str:
    if refused:
        text = f"Kan inte lägga till dokumenten: {_worded(refused)}"
        return _box("sv-up-failed", text, role="alert")
    if job is None:
        return '<div class="sv-up-status sv-up-idle">Inga dokument har lagts till ännu.</div>'
    skipped = _skipped_html(job)
    if job.stage == uploads.FAILED:
        reason = _worded(job.error) if job.error else "inget dokument kunde läsas"
        text = f"Inga dokument lades till: {reason}"
        return _box("sv-up-failed", text, extra=skipped, role="alert")
    if job.stage == uploads.DONE:
        names = ", ".join(job.added)
        text = (
            f"Klart: {job.documents} dokument {_added_words(job.documents)} ({names})."
            if job.added
            else "Klart, men inget nytt dokument lades till."
        )
        return _box("sv-up-done", text, extra=skipped)
    text = STAGES.get(job.stage, "Indexerar …")
    bar = ""
    if job.stage == uploads.EMBEDDING and job.total:
        text = f"{text}: {job.done} av {job.total}"
        bar = (
            f'<progress max="{job.total}" value="{job.done}" '
            f'aria-label="Indexerade stycken">{job.done} av {job.total}</progress>'
        )
    files = ", ".join(job.files)
    return _box("sv-up-running", text, extra=f"{bar}<div class='sv-up-files'>{esc(files)}</div>",
                announce=STAGES.get(job.stage, text))  # fmt: skip


def _added_words(n: int) -> str:
    """The participles agree with the count: "1 dokument tillagt", "2 dokument tillagda"."""
    return "tillagt och sökbart" if n == 1 else "tillagda och sökbara"


def _box(kind: str, text: str, *, extra: str = "", role: str = "", announce: str = "") -> str:
    role_attr = f' role="{role}"' if role else ""
    return (
        f'<div class="sv-up-status {kind}"{role_attr} data-announce="{esc(announce or text)}">'
        f'<p class="sv-up-text">{esc(text)}</p>{extra}</div>'
    )


def swedish_reason(reason: str) -> str:
    """A library message (why a file was skipped, a request refused or a job failed) in
    Swedish ("" when no wording is known)."""
    for pattern, wording in _reasons():
        match = pattern.match(reason)
        if match:
            return wording.format("", *match.groups())  # {1} is the first group
    return ""


@functools.cache
def _reasons() -> list[tuple[re.Pattern[str], str]]:
    data = json.loads(
        (Path(__file__).parent / "data" / "upload_messages_sv.json").read_text("utf-8")
    )
    return [(re.compile(pattern), wording) for pattern, wording in data["patterns"]]


def _worded(message: str) -> str:
    """The Swedish wording followed by the message itself, as plain text."""
    swedish = swedish_reason(message)
    return f"{swedish} ({message})" if swedish else message


def _reason_html(reason: str) -> str:
    """The Swedish wording, with the reason as `samverkan-qa index` prints it beside it."""
    swedish = swedish_reason(reason)
    cli = f"<code class='sv-up-reason'>{esc(reason)}</code>"
    return f"{esc(swedish)} ({cli})" if swedish else cli


def _skipped_html(job: uploads.Job) -> str:
    if not job.skipped:
        return ""
    items = "".join(
        f"<li><span class='sv-up-name'>{esc(s.source)}</span>: {_reason_html(s.reason)}</li>"
        for s in job.skipped
    )
    return (
        f"<div class='sv-up-skipped'><p>Hoppades över ({len(job.skipped)}), med skälet som "
        f"<code>samverkan-qa index</code> ger inom parentes:</p><ul>{items}</ul></div>"
    )


def incoming(files: Any) -> list[uploads.Incoming]:
    """gr.File's value (paths in gradio's upload folder, each under the name it was sent
    with) as Incoming files."""
    paths = files if isinstance(files, list) else [files] if files else []
    return [uploads.Incoming(Path(str(p)), Path(str(p)).name) for p in paths]


def run(
    jobs: uploads.Uploads,
    files: Any,
    token: str | None,
    after: Callable[[], tuple[Any, ...]],
    width: int,
) -> Iterator[tuple[Any, ...]]:
    """Submit the files and yield (status, file list, *after()) until the job has finished.
    `after` gives the updates of the `width` widgets that list documents (called once, at
    the end); the file list empties once the files are taken."""
    import gradio as gr

    skips = (gr.skip(),) * width
    try:
        job = jobs.submit(incoming(files), token)
    except UploadRefusedError as exc:
        yield (status_html(refused=str(exc)), gr.skip(), *skips)
        return
    while not job.finished:
        yield (status_html(job), None, *skips)
        time.sleep(POLL_SECONDS)
        job = jobs.status(job.id)
    yield (status_html(job), None, *after())


def build_tab(
    gr: Any, jobs: uploads.Uploads, after: Callable[[], tuple[Any, ...]], outputs: list[Any]
) -> None:
    """The tab's widgets and events (inside an open gr.Tab); `after` updates `outputs`."""
    gr.Markdown(intro_markdown(jobs.settings))
    files = gr.File(
        label="Dokument att lägga till",
        file_count="multiple",
        # No file_types: gradio would refuse other types in English, without a reason; the
        # library skips them with the reason `samverkan-qa index` gives.
        type="filepath",
        elem_id="sv-upload-files",
    )
    token = gr.Textbox(
        label="Uppladdningsnyckel",
        type="password",
        visible=jobs.token_needed,
        elem_id="sv-upload-token",
    )
    go = gr.Button("Lägg till i indexet", variant="primary", elem_id="sv-upload-go")
    status = gr.HTML(status_html(), elem_id="sv-upload-status", js_on_load=STATUS_JS)

    def add(files_: Any, token_: str | None) -> Iterator[tuple[Any, ...]]:
        yield from run(jobs, files_, token_, after, len(outputs))

    go.click(add, [files, token], [status, files, *outputs], api_visibility="undocumented",
             show_progress="hidden")  # fmt: skip
