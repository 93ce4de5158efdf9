"""Security basics of the web app: unguessable ids, headers, early size refusal, per-client rate limits,
no user-supplied name on the filesystem, configuration only from the environment."""

from __future__ import annotations

import base64
import io
import re
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, png_bytes
from werkzeug.serving import make_server

from webui.app import create_app
from worker.settings import Settings

PNG = png_bytes(np.full((20, 30), 255, dtype=np.uint8))


def _submit(client, name: str = "a.png", data: bytes = PNG):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/jobs", data={"files": [(io.BytesIO(data), name)], "mode": "digit"})


def test_job_ids_carry_at_least_128_random_bits(client) -> None:  # type: ignore[no-untyped-def]
    ids = [_submit(client).get_json()["id"] for _ in range(20)]
    assert len(set(ids)) == len(ids)
    for job_id in ids:
        raw = base64.urlsafe_b64decode(job_id + "=" * (-len(job_id) % 4))
        assert len(raw) * 8 >= 128
    # A well-formed id that was never issued is simply unknown.
    assert client.get("/api/v1/jobs/" + "A" * len(ids[0])).status_code == 404


def _get_routes(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Every GET route of the app without URL parameters (pages, API documents, health)."""
    return sorted(
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ()) and not r.arguments and r.rule != "/static"
    )


def test_security_headers_on_every_response(app, client) -> None:  # type: ignore[no-untyped-def]
    routes = [*_get_routes(app), "/no/such/page", "/api/v1/jobs/" + "A" * 32]
    assert "/healthz" in routes and "/api/v1/openapi.json" in routes
    for route in routes:
        headers = client.get(route).headers
        csp = headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, route
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, route
        assert headers.get("X-Content-Type-Options") == "nosniff", route


TEMPLATES = sorted((ROOT / "webui" / "templates").glob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_templates_have_no_inline_scripts_or_handlers(template: Path) -> None:
    """The CSP forbids inline scripts, so none may be needed: every <script> has a src, no on*= handlers."""
    html = template.read_text()
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I):
        assert "src=" in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I)
    # Browser forms post through fetch() to the JSON API; a form posting with cookies would need a CSRF token.
    assert not re.search(r"<form\b[^>]*method\s*=\s*[\"']?post", html, flags=re.I)


def _raw_request(port: int, head: bytes, body: bytes, timeout_s: float = 5.0) -> tuple[bytes, float]:
    """Send a request head and part of a body; returns (the answer, seconds until it came)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as conn:
        start = time.monotonic()
        conn.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - start


@pytest.mark.timeout(30)
def test_oversize_upload_refused_from_its_content_length(settings: Settings) -> None:
    """A 10 GB Content-Length gets 413 at once: the server answers without waiting for the body."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        huge = 10 * 2**30
        for path, kind in (("/api/v1/jobs", "multipart/form-data; boundary=x"), ("/api/v1/digits", "image/png")):
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {huge}\r\nConnection: close\r\n\r\n"
            ).encode()
            answer, elapsed_s = _raw_request(server.port, head, b"--x\r\n" + b"\0" * 1000)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert elapsed_s < 3.0
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["formdigits_store"].redis.close()


def test_rate_limit_is_per_client(settings: Settings) -> None:
    app = create_app(Settings.from_env({**settings.to_env(), "FORMDIGITS_RATE_LIMIT": "2"}))
    first = app.test_client()
    first.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    second = app.test_client()
    second.environ_base["REMOTE_ADDR"] = "127.0.0.3"
    assert [_submit(first).status_code for _ in range(3)] == [202, 202, 429]
    # A forwarded-for header is not trusted: it cannot buy a fresh allowance.
    spoofed = first.post("/api/v1/digits", data=PNG, content_type="image/png", headers={"X-Forwarded-For": "10.9.8.7"})
    assert spoofed.status_code == 429 and spoofed.get_json()["error"]["code"] == "rate_limited"
    assert _submit(second).status_code == 202
    app.extensions["formdigits_store"].redis.close()


def test_user_supplied_names_never_reach_the_filesystem(
    client, settings: Settings, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Hostile names are labels only; a large upload is not spooled to a temporary file either."""
    # Werkzeug spools parts over 500 kB to an (unlinked) temporary file; with no temporary
    # directory at all, any attempt to spool would end in a 500.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-dir"))
    big = png_bytes(np.random.default_rng(0).integers(0, 255, (800, 800), dtype=np.uint8))
    assert len(big) > 500_000  # werkzeug spools parts larger than 500 kB to disk by default
    names = ["../../escape.png", "/tmp/formdigits-absolute.png", "..\\..\\win.png", "a/../../b.png"]
    for name in names:
        # Encoded here: the test client itself would spool a big multipart body to a temporary file.
        body = (
            (
                f'--b\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                "Content-Type: image/png\r\n\r\n"
            ).encode()
            + big
            + b"\r\n--b--\r\n"
        )
        response = client.post("/api/v1/jobs", data=body, content_type="multipart/form-data; boundary=b")
        assert response.status_code == 202, response.get_json()
        job = client.get(response.get_json()["url"]).get_json()
        (source,) = [r["source"] for r in job["results"]]
        assert "/" not in source and "\\" not in source and source != ".."
    assert not Path("/tmp/formdigits-absolute.png").exists()
    assert not (ROOT.parent / "escape.png").exists() and not (ROOT.parent.parent / "escape.png").exists()
    assert not settings.data_dir.exists() or list(settings.data_dir.rglob("*")) == []


def test_configuration_is_read_only_by_settings() -> None:
    """Secrets and Redis credentials come from the environment, read in one place (Settings.from_env)."""
    readers = []
    checked = 0
    for package in ("segmentation", "recognition", "worker", "webui", "formdigits"):
        for path in (ROOT / package).rglob("*.py"):
            checked += 1
            if path.relative_to(ROOT).as_posix() == "worker/settings.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"os\.environ\.get|os\.getenv|environ\[", line):
                    readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert checked > 20 and readers == []
    # No credentials are written into the code: a Redis URL with a password only ever comes in from outside.
    for package in ("worker", "webui", "formdigits"):
        for path in (ROOT / package).rglob("*.py"):
            assert not re.search(r"redis://[^\s\"'/]*:[^\s\"'@/]+@", path.read_text()), path


def test_no_response_sets_a_cookie(app, client) -> None:  # type: ignore[no-untyped-def]
    """No session cookies at all: with nothing ambient to ride on, cross-site requests carry no authority."""
    responses = [client.get(route) for route in _get_routes(app)]
    responses.append(_submit(client))
    responses.append(client.post("/api/v1/digits", data=PNG, content_type="image/png"))
    responses.append(client.get(responses[-1].get_json()["url"]))
    for response in responses:
        assert "Set-Cookie" not in response.headers
