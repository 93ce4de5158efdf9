"""Property-based fuzzing of the API's request parsing: random multipart fields, file names, modes,
content types and bodies get 202 or a 4xx JSON error, never a 500 (Flask test client, real Redis)."""

from __future__ import annotations

import io

import numpy as np
from conftest import png_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PNG = png_bytes(np.full((12, 16), 255, dtype=np.uint8))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ZIP_HEAD = b"PK\x03\x04" + b"\0" * 26
ALLOWED = {202, 400, 404, 405, 413, 415}
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

names = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["../../etc/passwd", "/abs/x.png", "a\\b.png", "", ".", "..", "x\r\ny.png", "a\"b'.png", "\x00.png"]
    ),
)
contents = st.one_of(st.binary(max_size=300), st.sampled_from([PNG, PDF, ZIP_HEAD, b"", PNG[:20], b"<html>"]))
modes = st.one_of(st.sampled_from(["page", "line", "digit", "", "PAGE", "page\x00"]), st.text(max_size=12))
field_names = st.sampled_from(["files", "files", "file", "mode", "Files", "files[]", ""])


def _assert_answer(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code in ALLOWED, (response.status_code, response.data[:300])
    body = response.get_json(silent=True)
    assert body is not None, response.data[:300]
    if response.status_code == 202:
        assert body["url"].endswith(body["id"])
    else:
        assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    assert b"Traceback" not in response.data


@FUZZ
@given(
    files=st.lists(st.tuples(field_names, names, contents), max_size=4),
    extra=st.lists(st.tuples(field_names, st.text(max_size=20)), max_size=3),
    mode=st.one_of(st.none(), modes),
)
def test_random_multipart_forms(client, files, extra, mode) -> None:  # type: ignore[no-untyped-def]
    data: dict[str, object] = {}
    for field, name, content in files:
        data.setdefault(field or "files", []).append((io.BytesIO(content), name))  # type: ignore[union-attr]
    for field, value in extra:
        data.setdefault(field or "x", value)
    if mode is not None:
        data["mode"] = mode
    _assert_answer(client.post("/api/v1/jobs", data=data, content_type="multipart/form-data"))


@FUZZ
@given(
    path=st.sampled_from(["/api/v1/jobs", "/api/v1/digits"]),
    content_type=st.one_of(
        st.sampled_from(
            [
                "multipart/form-data",
                "multipart/form-data; boundary=",
                "multipart/form-data; boundary=x",
                "image/png",
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "",
            ]
        ),
        st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t),
    ),
    body=st.one_of(
        st.binary(max_size=400),
        st.sampled_from([PNG, b'{"image": "data:image/png;base64,!!"}', b'{"image": 5}', b"--x\r\n\r\n--x--\r\n"]),
    ),
)
def test_random_bodies_and_content_types(client, path, content_type, body) -> None:  # type: ignore[no-untyped-def]
    _assert_answer(client.post(path, data=body, headers={"Content-Type": content_type}))


@FUZZ
@given(job_id=st.text(max_size=60), n=st.integers(min_value=-5, max_value=10**12))
def test_random_job_ids_and_pages(client, job_id, n) -> None:  # type: ignore[no-untyped-def]
    quoted = "".join(c if c.isalnum() or c in "-_" else f"%{ord(c):02X}" if ord(c) < 128 else "x" for c in job_id)
    for response in (
        client.get(f"/api/v1/jobs/{quoted}"),
        client.get(f"/api/v1/jobs/{quoted}/results.csv"),
        client.get(f"/api/v1/jobs/{quoted}/pages/{n}/overlay.png"),
        client.delete(f"/api/v1/jobs/{quoted}"),
    ):
        assert response.status_code in {404, 405, 308}, (job_id, response.status_code)
        if response.status_code == 404:
            assert response.get_json()["error"]["code"] == "not_found"
