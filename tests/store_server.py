"""`samverkan-qa serve --store URL` with the fake embedder, for the shared-store load test.

    python tests/store_server.py URL PORT

The model is not the point there (several processes on one database are), so the passage
and question vectors come from the fake embedder the index was built with.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from conftest import FakeEmbedder  # noqa: E402

from samverkan_qa import web  # noqa: E402
from samverkan_qa.settings import Settings  # noqa: E402


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    web.load_embedder = lambda settings: FakeEmbedder()
    # A short poll: the test waits for both servers to take up a run it commits.
    web.serve(Settings(store=url, store_poll_seconds=0.5), host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
