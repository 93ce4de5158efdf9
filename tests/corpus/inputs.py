"""Build test inputs in code: images of every mode, hand-written PDFs (plain, many-page, encrypted), ZIPs.

Everything here is deterministic and offline. The builders write raw bytes where Pillow,
pypdfium2 or zipfile would refuse to produce the hostile shape we need (a PNG header
claiming 60000 x 60000, an RC4-encrypted PDF, archive member names with raw non-UTF-8 bytes).
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

PIL_NAMES = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "bmp": "BMP", "webp": "WEBP", "gif": "GIF"}


# --- images ------------------------------------------------------------------------------------


def ink_image(width: int = 60, height: int = 40, mode: str = "L") -> Image.Image:
    """A light page with one dark bar in its top-left quarter, converted to ``mode``."""
    image = Image.new("L", (width, height), 230)
    ImageDraw.Draw(image).rectangle((2, 2, max(2, width // 2 - 1), max(2, height // 4)), fill=20)
    return image.convert(mode)


def encode(image: Image.Image, fmt: str, **save_args: object) -> bytes:
    """``image`` saved as ``fmt`` (a key of ``PIL_NAMES``)."""
    buf = io.BytesIO()
    image.save(buf, PIL_NAMES[fmt], **save_args)
    return buf.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_claiming_size(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` (8-bit gray) with a tiny IDAT: a header bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def multipage_tiff(pages: int, size: tuple[int, int] = (40, 30)) -> bytes:
    """A TIFF with ``pages`` frames; frame i has a bar of width proportional to i + 1."""
    frames = []
    for i in range(pages):
        frame = Image.new("L", size, 240)
        ImageDraw.Draw(frame).rectangle((0, 0, i + 1, size[1] - 1), fill=10)
        frames.append(frame)
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def animated_gif(frames: int = 3, size: tuple[int, int] = (30, 20)) -> bytes:
    """A looping GIF whose frames differ (so Pillow keeps them all)."""
    images = [Image.new("L", size, 40 * i + 60) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buf.getvalue()


def jpeg_with_orientation(image: Image.Image, orientation: int) -> bytes:
    """``image`` as JPEG carrying an EXIF Orientation tag (6 = rotate 90 degrees clockwise to view)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "jpeg", exif=exif.tobytes(), quality=95)


# --- PDF ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfPage:
    """One page of a hand-written PDF: MediaBox size in points, content stream, /Rotate."""

    width_pt: float = 200.0
    height_pt: float = 100.0
    content: bytes = b"0 g 10 10 80 40 re f"  # a black rectangle near the bottom-left corner
    rotate: int = 0


def _pdf_file(objects: Sequence[bytes], trailer_extra: bytes = b"") -> bytes:
    """Objects numbered from 1 (object 1 is the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    return bytes(out)


def pdf_document(pages: Sequence[PdfPage]) -> bytes:
    """A valid PDF with the given pages (objects: catalog, page tree, then page + content per page)."""
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(len(pages)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages))]
    for i, page in enumerate(pages):
        content_ref = 4 + 2 * i
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Rotate %d /Contents %d 0 R >>"
            % (_num(page.width_pt), _num(page.height_pt), page.rotate, content_ref)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(page.content), page.content))
    return _pdf_file(objects)


def many_page_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` blank Letter pages, written directly (fast even for thousands)."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    return _pdf_file(objects)


def _num(value: float) -> bytes:
    return (b"%d" % value) if float(value).is_integer() else (b"%.3f" % value)


_PDF_PASSWORD_PAD = bytes.fromhex("28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a")


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def encrypted_pdf(user_password: bytes = b"secret", owner_password: bytes = b"owner") -> bytes:
    """A one-page PDF under the Standard security handler (RC4 40-bit, revision 2), opening only with a password.

    O and U follow ISO 32000-1 algorithms 3, 2 and 4; the page has no strings or streams,
    so nothing else needs encrypting.
    """
    permissions = -44
    file_id = hashlib.md5(b"formdigits-test").digest()
    owner_key = hashlib.md5((owner_password + _PDF_PASSWORD_PAD)[:32]).digest()[:5]
    owner_value = _rc4(owner_key, (user_password + _PDF_PASSWORD_PAD)[:32])
    key_input = (user_password + _PDF_PASSWORD_PAD)[:32] + owner_value + struct.pack("<i", permissions) + file_id
    file_key = hashlib.md5(key_input).digest()[:5]
    user_value = _rc4(file_key, _PDF_PASSWORD_PAD)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
        % (owner_value.hex().encode(), user_value.hex().encode(), permissions),
    ]
    trailer = b"/Encrypt 4 0 R /ID [<%s> <%s>] " % (file_id.hex().encode(), file_id.hex().encode())
    return _pdf_file(objects, trailer)


# --- ZIP ---------------------------------------------------------------------------------------


def zip_archive(members: Iterable[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """An archive of ``(name, data)`` members written verbatim (duplicate and unsafe names allowed)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on duplicate names; we want them
        with zipfile.ZipFile(buf, "w", compression) as archive:
            for name, data in members:
                archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compression)
    return buf.getvalue()


def zip_with_raw_names(members: Iterable[tuple[bytes, bytes]]) -> bytes:
    """An archive whose member names are raw bytes (e.g. Latin-1 or Shift-JIS), without the UTF-8 flag."""
    members = list(members)
    # Same-length ASCII stand-ins, swapped for the raw bytes afterwards (local and central headers).
    placeholders = ["~Q" + str(i).zfill(len(raw) - 2) for i, (raw, _) in enumerate(members)]
    data = zip_archive((p, d) for p, (_, d) in zip(placeholders, members, strict=True))
    for placeholder, (raw, _) in zip(placeholders, members, strict=True):
        assert len(placeholder) == len(raw) and data.count(placeholder.encode()) == 2
        data = data.replace(placeholder.encode(), raw)
    return data


def zip_bomb(inflated_bytes: int, name: str = "zeros.png") -> bytes:
    """One DEFLATE member of ``inflated_bytes`` zeros, streamed in so the inflated data is never in memory."""
    buf = io.BytesIO()
    chunk = bytes(2**20)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive, archive.open(name, "w", force_zip64=True) as out:
        left = inflated_bytes
        while left > 0:
            out.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return buf.getvalue()
