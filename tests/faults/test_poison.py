"""Poison pages: a page that always crashes the reader fails alone, with its reason, after its retries.

Two kinds of crash, through the test knob ``FORMDIGITS_TEST_POISON``: the reader raises an
unexpected exception (a bug; retried CRASH_RETRIES times), and the reader kills its own worker
process (a segfault or an OOM kill; given up after MAX_UNFINISHED_READS). The other pages of
the job and another job submitted alongside finish normally.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faultstack import (
    assert_each_page_once,
    digit_files,
    fault_settings,
    page_counters,
    read_attempts,
    running_stack,
    submit,
    wait_finished,
)

from worker.tasks import CRASH_RETRIES, MAX_UNFINISHED_READS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.mark.parametrize(
    ("poison", "reason"),
    [
        ("raise:POISON", f"the reader crashed on this page {CRASH_RETRIES + 1} times (RuntimeError)"),
        ("kill:POISON", "this page crashed the reader repeatedly"),
    ],
)
def test_poison_page_fails_alone(tmp_path: Path, weights_path: Path, poison: str, reason: str) -> None:
    settings = fault_settings(weights_path, tmp_path, test_page_delay_s=0.0, test_poison=poison)
    with running_stack(tmp_path, settings) as stack:
        worker = stack.start_worker()
        files = digit_files("12", prefix="a") + digit_files("7", prefix="POISON") + digit_files("34", prefix="b")
        job_id = submit(stack.store, files)
        other_id = submit(stack.store, digit_files("56", prefix="other"))
        jobs = wait_finished(stack.store, [job_id, other_id], 150)

        job, other = jobs[job_id], jobs[other_id]
        assert job["state"] == "done" and other["state"] == "done"
        assert_each_page_once(stack.store, job)
        assert_each_page_once(stack.store, other)
        pages = {r["source"]: r["pages"][0] for r in job["results"]}
        poisoned = pages.pop("POISON0-7.png")
        assert poisoned["error"] == reason and poisoned["fields"] == []
        assert all(p.get("error") is None and len(p["fields"]) == 1 for p in pages.values())
        assert all(p.get("error") is None for r in other["results"] for p in r["pages"])
        assert page_counters(stack.store) == {"pages_done": 6, "pages_failed": 1}
        if poison.startswith("kill"):
            # Every delivery but the last one died in the reader; the last one gave up.
            assert read_attempts(stack.store, job_id)["2:1"] == MAX_UNFINISHED_READS + 1
        # The worker's main process lived through it all.
        assert worker.process.poll() is None
