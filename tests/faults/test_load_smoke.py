"""benchmarks/load.py end to end on a tiny configuration: its own stack starts, every page is read once, it stops."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_load_tool_small_run(weights_path) -> None:  # type: ignore[no-untyped-def]
    command = [
        sys.executable,
        "benchmarks/load.py",
        "--clients",
        "3",
        "--jobs",
        "2",
        "--pages",
        "2",
        "--max-seconds",
        "120",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    out = run.stdout
    assert "finished jobs     : 6 of 6" in out
    assert re.search(r"pages +: 12 seen of 12, lost 0, duplicated 0", out), out
    assert "errors            : 0" in out
    assert re.search(r"0 written more than once", out), out
    assert "lines read wrong  : 0 of 12" in out
