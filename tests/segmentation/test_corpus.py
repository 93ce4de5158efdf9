"""The bad-input corpus (issue #4): every file gets exactly its expected outcome, quickly, with a named source."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from segmentation.archive import expand_upload
from segmentation.errors import FormdigitsError
from segmentation.loading import count_pages, load_page
from tests.corpus.make_bad_inputs import OK, Case, build_corpus, corpus_cases

CASES = corpus_cases()
SECONDS_PER_CASE = 5.0


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    assert build_corpus(out) == CASES
    return out


def _read(path: Path) -> tuple[str, str, set[str]]:
    """(outcome code or "ok", error message, names a message may cite) along the reading path."""
    data = path.read_bytes()
    sources = {path.name}
    try:
        for upload in expand_upload(path.name, data):
            sources.add(upload.name)
            for number in range(1, count_pages(upload.data, upload.name) + 1):
                page = load_page(upload.data, upload.name, number)
                assert page.image.ndim == 2 and page.image.dtype.name == "uint8" and page.image.size > 0
    except FormdigitsError as exc:
        return exc.code, exc.message, sources
    return OK, "", sources


def test_corpus_is_big_and_covers_every_outcome() -> None:
    assert len(CASES) >= 50
    assert len({c.filename for c in CASES}) == len(CASES)
    assert {c.expected for c in CASES} == {OK, "invalid_input", "unsupported_format", "limit_exceeded"}


@pytest.mark.parametrize("case", CASES, ids=[c.filename for c in CASES])
def test_each_case_gets_its_expected_outcome(case: Case, corpus_dir: Path) -> None:
    start = time.perf_counter()
    outcome, message, sources = _read(corpus_dir / case.filename)
    elapsed = time.perf_counter() - start
    assert outcome == case.expected, f"{case.name}: got {outcome} ({message})"
    assert elapsed < SECONDS_PER_CASE, f"{case.name} took {elapsed:.1f} s"
    if outcome != OK:
        assert message.split(": ")[0] in sources, f"message does not name the source: {message}"
