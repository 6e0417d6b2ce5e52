"""samverkan-qa: offline Swedish question answering over crime-prevention cooperation documents.

The public API is small; heavy parts (torch, the model, the index) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "Answer",
    "Assistant",
    "Retriever",
    "RetrievalConfig",
    "Settings",
    "SamverkanError",
    "build_index",
    "load_index",
]

if TYPE_CHECKING:
    from samverkan_qa.answers import Answer, Assistant
    from samverkan_qa.errors import SamverkanError
    from samverkan_qa.index import build_index, load_index
    from samverkan_qa.retrieval import RetrievalConfig, Retriever
    from samverkan_qa.settings import Settings

_HOMES = {
    "Answer": "samverkan_qa.answers.compose",
    "Assistant": "samverkan_qa.answers.assistant",
    "Retriever": "samverkan_qa.retrieval",
    "RetrievalConfig": "samverkan_qa.retrieval",
    "Settings": "samverkan_qa.settings",
    "SamverkanError": "samverkan_qa.errors",
    "build_index": "samverkan_qa.index",
    "load_index": "samverkan_qa.index",
}


def __getattr__(name: str) -> Any:
    # Lazy so `import samverkan_qa` (and `samverkan-qa --help`) never pulls numpy or torch.
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'samverkan_qa' has no attribute {name!r}")
