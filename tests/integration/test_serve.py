"""``formdigits serve`` with its embedded Redis, ``formdigits submit`` against it, and a clean stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, draw_digit_image, png_bytes, stop_process, wait_for

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def cli_env(data_dir: Path, weights: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("FORMDIGITS_")}
    env.update(
        PYTHONPATH=str(ROOT),
        FORMDIGITS_DATA_DIR=str(data_dir),
        FORMDIGITS_WEIGHTS=str(weights),
        FORMDIGITS_RATE_LIMIT="0",
    )
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, weights_path: Path):  # type: ignore[no-untyped-def]
    """A running ``formdigits serve`` with embedded Redis under tmp_path; yields (base URL, process, data dir)."""
    tmp_path = tmp_path_factory.mktemp("serve")
    data_dir = tmp_path / "data"
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "formdigits.cli", "serve", f"--port={port}", "--workers=1"],
        cwd=tmp_path,
        env=cli_env(data_dir, weights_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or http_status(base + "/healthz") == 200, 60, "serve to be healthy")
        assert process.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
        yield base, process, data_dir
    finally:
        stop_process(process, 60)
        log.close()


def test_submit_reports_refusals(served, tmp_path: Path, weights_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, _, data_dir = served
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    command = [sys.executable, "-m", "formdigits.cli", "submit", str(text), "--url", base]
    done = subprocess.run(command, env=cli_env(data_dir, weights_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "HTTP 415" in done.stderr and done.stdout == ""


def test_serve_submit_and_clean_stop(served, tmp_path: Path, weights_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, process, data_dir = served
    # Uploads over the limit are refused on the declared length, before any body byte is sent.
    with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=5) as conn:
        conn.sendall(
            b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        assert conn.recv(64).startswith(b"HTTP/1.1 413")

    image = tmp_path / "four.png"
    image.write_bytes(png_bytes(draw_digit_image(4, size=120)))
    env = cli_env(data_dir, weights_path)
    command = [sys.executable, "-m", "formdigits.cli", "submit", str(image), "--url", base, "--mode", "digit"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert [r["source"] for r in results] == ["four.png"]
    assert len(results[0]["pages"][0]["fields"]) == 1
    as_csv = subprocess.run([*command, "--format", "csv"], env=env, capture_output=True, text=True, timeout=60)
    assert as_csv.returncode == 0
    assert (
        as_csv.stdout.splitlines()[0] == "source,page,field,kind,text,separators,confidence,needs_review,review,error"
    )

    # SIGTERM stops the web server, the workers and the embedded Redis, which leaves its data behind.
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert (data_dir / "appendonly.aof").exists()
    assert not (data_dir / "redis.sock").exists()
