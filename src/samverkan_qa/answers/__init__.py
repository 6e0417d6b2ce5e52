"""Questions to cited answers: analysis, facts, quotes, follow-ups and the one pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Answer", "Assistant", "AskConfig"]

if TYPE_CHECKING:
    from samverkan_qa.answers.assistant import AskConfig, Assistant
    from samverkan_qa.answers.compose import Answer

_HOMES = {
    "Assistant": "samverkan_qa.answers.assistant",
    "AskConfig": "samverkan_qa.answers.assistant",
    "Answer": "samverkan_qa.answers.compose",
}


def __getattr__(name: str) -> Any:
    # Lazy, so importing the package does not load numpy, the index or the model.
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'samverkan_qa.answers' has no attribute {name!r}")
