"""Imports point one way: webui -> worker.jobs; worker.tasks -> recognition -> segmentation.

Each package is imported in a fresh interpreter and ``sys.modules`` is inspected, so a
stray upward import (or torch in the web process) fails here rather than in production.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# module to import -> top-level modules it must not pull in
FORBIDDEN = {
    "segmentation.elements": {"torch", "celery", "flask", "redis", "recognition", "worker", "webui"},
    "segmentation.loading": {"torch", "celery", "flask", "redis", "recognition", "worker", "webui"},
    "segmentation.fields": {"torch", "celery", "flask", "redis", "recognition", "worker", "webui"},
    "segmentation.strings": {"torch", "celery", "flask", "redis", "recognition", "worker", "webui"},
    "recognition.classifier": {"celery", "flask", "redis", "worker", "webui"},
    "recognition.reader": {"celery", "flask", "redis", "worker", "webui"},
    "recognition.train": {"celery", "flask", "redis", "worker", "webui", "torchvision"},
    "worker.jobs": {"torch", "flask", "webui", "cv2"},
    "webui.app": {"torch", "cv2"},
    "formdigits.cli": {"torch", "cv2", "celery", "flask"},
}


def _loaded_modules(module: str) -> set[str]:
    code = f"import importlib, json, sys; importlib.import_module({module!r}); print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_imports_point_one_way(module: str) -> None:
    # Every module listed exists: a rename must update this table, not silently skip the check.
    assert importlib.util.find_spec(module) is not None, f"{module} does not exist"
    leaked = _loaded_modules(module) & FORBIDDEN[module]
    assert not leaked, f"importing {module} pulled in {sorted(leaked)}"


def test_core_packages_do_not_read_the_environment() -> None:
    offenders = []
    for package in ("segmentation", "recognition"):
        paths = list((ROOT / package).rglob("*.py"))
        assert paths, package
        for path in paths:
            text = path.read_text()
            if "os.environ" in text or "getenv(" in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders
