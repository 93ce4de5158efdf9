"""Expand uploads: a ZIP archive becomes its member files, checked against bombs and unsafe names.

Interface stub (issue #3/#5): signatures are fixed; bodies come with the loading work.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Ceilings for ZIP uploads, checked on declared sizes and again while inflating."""

    max_members: int = 1000
    max_member_bytes: int = 64 * 2**20
    max_total_bytes: int = 512 * 2**20
    max_ratio: int = 200  # inflated / compressed, per member


@dataclass(frozen=True, slots=True)
class UploadFile:
    """One file to read: ``name`` is a display label only (never a filesystem path)."""

    name: str
    data: bytes


def expand_upload(name: str, data: bytes, limits: ArchiveLimits = ArchiveLimits()) -> list[UploadFile]:
    """``[UploadFile(name, data)]`` for a plain file; the members (in archive order) for a ZIP."""
    raise NotImplementedError
