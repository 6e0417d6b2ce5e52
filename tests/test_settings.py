from pathlib import Path

import pytest

from samverkan_qa.errors import InvalidInputError
from samverkan_qa.settings import Settings


def test_string_paths_become_paths() -> None:
    s = Settings(corpus=("corpus",), index_dir="index", cache_dir="c", model_dir="m")
    assert s.corpus == (Path("corpus"),) and s.index_dir == Path("index")
    assert s.cache_dir == Path("c") and s.model_dir == Path("m")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"chunk_tokens": 5}, "chunk_tokens"),
        ({"chunk_overlap": 300}, "chunk_overlap"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_values_name_themselves(changes: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Settings(**changes)
