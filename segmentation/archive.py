"""Expand uploads: a ZIP archive becomes its member files, checked against bombs and unsafe names.

Nothing is ever extracted to disk: member names are display labels only. Still, a name that
would escape a directory (absolute, ``..``, a drive letter, the same with backslashes) marks
a hostile or broken archive and is refused with a message naming the member. Sizes are
checked twice: on the sizes the central directory declares, and again while inflating,
since declared sizes can lie.
"""

from __future__ import annotations

import io
import lzma
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass

from segmentation.errors import InvalidInput, LimitExceeded
from segmentation.formats import SNIFF_BYTES, sniff_format

# Inflate in pieces of this size so a lying member is stopped within one chunk of a limit.
READ_CHUNK_BYTES = 2**20
# Ordinary files (PNG, JPEG, PDF) compress well under 10:1; only members above this size are
# ratio-checked, since tiny members (a blank page) can legitimately compress very well.
RATIO_CHECK_MIN_BYTES = 2**20
_ENCRYPTED_FLAG = 0x1
# What zipfile and its decompressors raise on hostile bytes (found by the fuzz tests, among others):
# BadZipFile/OSError/EOFError for structure, zlib/lzma errors for streams, NotImplementedError for
# unknown versions or methods, ValueError/struct.error/IndexError/KeyError for nonsense fields.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    OSError,
    EOFError,
    ValueError,
    IndexError,
    KeyError,
    NotImplementedError,
    RuntimeError,
)
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")


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
    """``[UploadFile(name, data)]`` for a plain file; the members (in archive order) for a ZIP.

    Directories, ``__MACOSX/`` and dot-files are skipped; duplicate member names get a
    `` (2)``, `` (3)``, ... suffix. Nested archives come back as plain members (loading
    them is refused later). Raises InvalidInput (corrupt, encrypted, unsafe names, no
    files) or LimitExceeded (member count, sizes, compression ratio).
    """
    if sniff_format(data[:SNIFF_BYTES]) != "zip":
        return [UploadFile(name, data)]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise InvalidInput(f"{name}: corrupt or unsupported ZIP archive ({exc})") from exc
    with archive:
        if len(members) > limits.max_members:
            raise LimitExceeded(
                f"{name}: archive has {len(members):,} entries, more than the limit of {limits.max_members:,}"
            )
        for info in members:
            _check_member_name(name, info.filename)
        files = [info for info in members if _is_document(info)]
        if not files:
            raise InvalidInput(f"{name}: archive has no files")
        _check_declared_sizes(name, files, limits)
        labels = _unique_labels([info.filename for info in files])
        inflated = 0
        uploads = []
        for info, label in zip(files, labels, strict=True):
            content = _inflate(archive, info, name, limits, limits.max_total_bytes - inflated)
            inflated += len(content)
            uploads.append(UploadFile(label, content))
    return uploads


def _check_member_name(archive_name: str, member: str) -> None:
    """Refuse names that would leave an extraction directory, with either kind of slash."""
    parts = member.replace("\\", "/").split("/")
    if member.startswith(("/", "\\")) or _DRIVE_LETTER.match(member) or ".." in parts:
        raise InvalidInput(f"{archive_name}: unsafe member name {member!r} (absolute or '..' path)")


def _is_document(info: zipfile.ZipInfo) -> bool:
    """True for regular files worth reading: not directories, macOS resource forks or dot-files."""
    parts = [part for part in info.filename.replace("\\", "/").split("/") if part]
    if info.is_dir() or not parts or info.filename.endswith(("/", "\\")):
        return False
    return parts[0] != "__MACOSX" and not any(part.startswith(".") for part in parts)


def _check_declared_sizes(archive_name: str, files: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    """Limits on what the central directory claims: cheap, and catches honest bombs before inflating."""
    for info in files:
        if info.flag_bits & _ENCRYPTED_FLAG:
            raise InvalidInput(f"{archive_name}: member {info.filename!r} is encrypted (password protected)")
        if info.file_size > limits.max_member_bytes:
            raise LimitExceeded(
                f"{archive_name}: member {info.filename!r} is {info.file_size:,} bytes, "
                f"more than the limit of {limits.max_member_bytes:,}"
            )
        _check_ratio(archive_name, info, info.file_size, limits)
    total = sum(info.file_size for info in files)
    if total > limits.max_total_bytes:
        raise LimitExceeded(
            f"{archive_name}: members total {total:,} bytes, more than the limit of {limits.max_total_bytes:,}"
        )


def _check_ratio(archive_name: str, info: zipfile.ZipInfo, inflated: int, limits: ArchiveLimits) -> None:
    if inflated > RATIO_CHECK_MIN_BYTES and inflated > limits.max_ratio * max(info.compress_size, 1):
        raise LimitExceeded(
            f"{archive_name}: member {info.filename!r} inflates more than {limits.max_ratio}:1 (zip bomb)"
        )


def _inflate(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, archive_name: str, limits: ArchiveLimits, total_left: int
) -> bytes:
    """The member's bytes, read in chunks and stopped as soon as a limit is passed.

    zipfile itself stops at the declared size and then fails the CRC check; counting here
    is a second guard that does not depend on that behaviour.
    """
    allowed = min(limits.max_member_bytes, total_left)
    out = bytearray()
    try:
        with archive.open(info) as member:
            while chunk := member.read(READ_CHUNK_BYTES):
                out += chunk
                if len(out) > allowed:
                    raise LimitExceeded(
                        f"{archive_name}: member {info.filename!r} inflates past the size limit "
                        f"({allowed:,} bytes left of the archive's allowance)"
                    )
                _check_ratio(archive_name, info, len(out), limits)
    except _ZIP_ERRORS as exc:
        raise InvalidInput(f"{archive_name}: member {info.filename!r} is corrupt or unreadable ({exc})") from exc
    return bytes(out)


def _unique_labels(names: list[str]) -> list[str]:
    """Names as given, with `` (2)``, `` (3)``, ... added to repeats so every label is distinct."""
    taken: set[str] = set()
    labels = []
    for name in names:
        label, copy = name, 1
        while label in taken:
            copy += 1
            label = f"{name} ({copy})"
        taken.add(label)
        labels.append(label)
    return labels
