"""expand_upload: plain files pass through; ZIP members come out checked for names, bombs and limits."""

from __future__ import annotations

import io
import struct
import time
import zipfile

import pytest

from segmentation.archive import ArchiveLimits, UploadFile, expand_upload
from segmentation.errors import InvalidInput, LimitExceeded
from tests.corpus.inputs import encode, ink_image, zip_archive, zip_bomb, zip_with_raw_names

PNG = encode(ink_image(), "png")


def test_plain_files_pass_through_untouched() -> None:
    assert expand_upload("form.png", PNG) == [UploadFile("form.png", PNG)]
    assert expand_upload("notes.txt", b"hello") == [UploadFile("notes.txt", b"hello")]
    assert expand_upload("empty", b"") == [UploadFile("empty", b"")]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_members_come_out_in_archive_order(compression: int) -> None:
    members = [("b.png", PNG), ("scans/a.png", PNG[:-1]), ("c.pdf", b"%PDF-1.4 x")]
    files = expand_upload("batch.zip", zip_archive(members, compression))
    assert [(f.name, f.data) for f in files] == members


def test_directories_macos_forks_and_dot_files_are_skipped() -> None:
    data = zip_archive(
        [
            ("scans/", b""),
            ("__MACOSX/._a.png", b"fork"),
            (".DS_Store", b"junk"),
            ("scans/.hidden.png", PNG),
            (".git/config", b"x"),
            ("scans/a.png", PNG),
        ]
    )
    assert [f.name for f in expand_upload("batch.zip", data)] == ["scans/a.png"]


def test_duplicate_names_get_a_suffix() -> None:
    data = zip_archive([("a.png", b"1"), ("a.png", b"2"), ("a.png (2)", b"3"), ("a.png", b"4")])
    files = expand_upload("dup.zip", data)
    assert [(f.name, f.data) for f in files] == [
        ("a.png", b"1"),
        ("a.png (2)", b"2"),
        ("a.png (2) (2)", b"3"),
        ("a.png (3)", b"4"),
    ]
    assert len({f.name for f in files}) == 4


@pytest.mark.parametrize(
    "member",
    [
        "../evil.png",
        "scans/../../evil.png",
        "/etc/passwd",
        "\\windows\\evil.png",
        "..\\evil.png",
        "C:evil.png",
        "c:/x.png",
        "a/b/..",
    ],
)
def test_unsafe_names_are_refused_naming_the_member(member: str) -> None:
    data = zip_archive([("ok.png", PNG), (member, PNG)])
    with pytest.raises(InvalidInput, match="unsafe member name") as info:
        expand_upload("bad.zip", data)
    assert info.value.message.startswith("bad.zip: ") and repr(member) in info.value.message


def test_harmless_dots_are_allowed() -> None:
    data = zip_archive([("a..b.png", b"1"), ("v1.2/scan.png", b"2"), ("dir\\scan.png", b"3")])
    assert [f.name for f in expand_upload("ok.zip", data)] == ["a..b.png", "v1.2/scan.png", "dir\\scan.png"]


def test_non_utf8_names_do_not_crash() -> None:
    data = zip_with_raw_names([(b"caf\xe9-01.png", b"1"), (b"\x93\xfa\x96\x7b\x8c\xea.png", b"2")])
    files = expand_upload("legacy.zip", data)
    assert [f.data for f in files] == [b"1", b"2"]
    assert all(isinstance(f.name, str) and f.name.endswith(".png") for f in files)


def test_nested_archives_are_returned_as_members() -> None:
    inner = zip_archive([("a.png", PNG)])
    files = expand_upload("outer.zip", zip_archive([("inner.zip", inner)]))
    assert files == [UploadFile("inner.zip", inner)]


def test_member_count_limit() -> None:
    members = [(f"{i:04d}.png", b"x") for i in range(1001)]
    with pytest.raises(LimitExceeded, match="1,001 entries"):
        expand_upload("many.zip", zip_archive(members))
    assert len(expand_upload("many.zip", zip_archive(members[:1000]))) == 1000


def test_declared_size_limits() -> None:
    data = zip_archive([("a.png", bytes(3000)), ("b.png", bytes(3000))], zipfile.ZIP_STORED)
    with pytest.raises(LimitExceeded, match=r"'a\.png' is 3,000 bytes"):
        expand_upload("big.zip", data, ArchiveLimits(max_member_bytes=2999))
    with pytest.raises(LimitExceeded, match="total 6,000 bytes"):
        expand_upload("big.zip", data, ArchiveLimits(max_total_bytes=5999))
    assert len(expand_upload("big.zip", data, ArchiveLimits(max_member_bytes=3000, max_total_bytes=6000))) == 2


def test_zip_bomb_is_refused_by_ratio_before_inflating() -> None:
    data = zip_bomb(200 * 2**20)  # 200 MB of zeros in ~200 KB
    start = time.perf_counter()
    with pytest.raises(LimitExceeded, match="zip bomb"):
        expand_upload("bomb.zip", data, ArchiveLimits(max_member_bytes=2**30, max_total_bytes=2**30))
    with pytest.raises(LimitExceeded, match="more than the limit"):
        expand_upload("bomb.zip", data)
    assert time.perf_counter() - start < 2.0  # declared sizes only: nothing is inflated


def test_small_compressible_members_are_not_bombs() -> None:
    blank = bytes(RATIO_OK := 2**20)  # 1 MB of zeros compresses ~1000:1 but is under the ratio floor
    assert len(expand_upload("blank.zip", zip_archive([("blank.bmp", blank)]))[0].data) == RATIO_OK


def _with_declared_size(data: bytes, member: str, size: int) -> bytes:
    """``data`` with the central-directory uncompressed size of ``member`` rewritten (a lying header)."""
    header = data.index(b"PK\x01\x02")  # the one central-directory record
    assert data[header + 46 : header + 46 + len(member)] == member.encode()
    return data[: header + 24] + struct.pack("<I", size) + data[header + 28 :]


def _with_version_needed(data: bytes, version: int) -> bytes:
    """``data`` whose central-directory record claims it needs zip ``version`` (82 = 8.2) to extract."""
    header = data.index(b"PK\x01\x02")
    return data[: header + 6] + struct.pack("<H", version) + data[header + 8 :]


def test_lying_declared_size_is_caught_while_inflating() -> None:
    real = zip_archive([("a.png", bytes(5 * 2**20))])
    lying = _with_declared_size(real, "a.png", 1000)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("a.png").file_size == 1000
    with pytest.raises((InvalidInput, LimitExceeded), match=r"'a\.png'"):
        expand_upload("liar.zip", lying)


def test_encrypted_member_is_invalid_input() -> None:
    data = bytearray(zip_archive([("secret.png", PNG)], zipfile.ZIP_STORED))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" bit
        at = data.index(signature) + flag_offset
        data[at] |= 0x1
    with pytest.raises(InvalidInput, match=r"'secret\.png' is encrypted"):
        expand_upload("locked.zip", bytes(data))


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + bytes(40),
        zip_archive([("a.png", PNG)])[:-30],
        zip_archive([("a.png", PNG)], zipfile.ZIP_STORED).replace(PNG[20:40], bytes(20)),
        _with_version_needed(zip_archive([("a.png", PNG)]), 82),  # zipfile raises NotImplementedError
    ],
    ids=["header-only", "truncated-directory", "bad-crc", "future-version"],
)
def test_corrupt_archive_is_invalid_input(data: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"^broken\.zip: "):
        expand_upload("broken.zip", data)


@pytest.mark.parametrize(
    "members",
    [[], [("dir/", b"")], [("__MACOSX/._a.png", b"x"), (".DS_Store", b"y")]],
    ids=["empty", "only-dirs", "only-junk"],
)
def test_archive_without_files_is_invalid_input(members: list[tuple[str, bytes]]) -> None:
    with pytest.raises(InvalidInput, match="archive has no files"):
        expand_upload("empty.zip", zip_archive(members))
