"""``formdigits worker`` (Celery workers only) and ``formdigits submit`` (upload to a running service).

``submit`` uses only the standard library's urllib, so it runs wherever formdigits is installed.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from worker.settings import Settings, SettingsError

POLL_INTERVAL_S = 0.5


def add_worker_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("worker", help="run Celery workers that read queued pages (needs REDIS_URL)")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes (default from settings)")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="use the Redis that `formdigits serve` started under FORMDIGITS_DATA_DIR instead of REDIS_URL",
    )
    parser.add_argument("--pool", choices=("prefork", "solo"), default="prefork")
    parser.add_argument("--loglevel", default="INFO")
    parser.set_defaults(handler=run_worker)


def worker_settings(args: argparse.Namespace) -> Settings:
    """The settings a worker runs with: REDIS_URL, or the embedded Redis's socket with ``--embedded``."""
    settings = Settings.from_env()
    if args.embedded:
        if not settings.embedded_socket.exists():
            raise SettingsError(f"no embedded Redis at {settings.embedded_socket}: is `formdigits serve` running?")
        settings = settings.with_embedded_redis()
    if settings.redis_url is None:
        raise SettingsError("REDIS_URL is not set (or use --embedded next to a running `formdigits serve`)")
    return settings


def run_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker consuming the digits and pages queues until stopped."""
    from recognition.classifier import DEFAULT_WEIGHTS
    from worker.celery_app import DIGITS_QUEUE, PAGES_QUEUE, make_celery

    try:
        settings = worker_settings(args)
    except SettingsError as exc:
        print(f"formdigits worker: {exc}", file=sys.stderr)
        return 2
    weights = settings.weights_path or DEFAULT_WEIGHTS
    if not Path(weights).is_file():
        print(f"formdigits worker: no model weights at {weights} (set FORMDIGITS_WEIGHTS)", file=sys.stderr)
        return 2
    app = make_celery(settings)
    concurrency = args.concurrency or settings.worker_concurrency
    argv = [
        "worker",
        f"--concurrency={concurrency}",
        f"--pool={args.pool}",
        f"--loglevel={args.loglevel}",
        f"--queues={DIGITS_QUEUE},{PAGES_QUEUE}",
        f"--hostname=formdigits-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    app.worker_main(argv)
    return 0


def add_submit_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("submit", help="upload files to a running formdigits service and print the results")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--url", required=True, help="the service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--mode", choices=("page", "line", "digit"), default="page")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up waiting after this many seconds")
    parser.set_defaults(handler=run_submit)


def run_submit(args: argparse.Namespace) -> int:
    """Upload, poll with a progress bar on stderr, then print the results like ``formdigits read``."""
    base = args.url.rstrip("/")
    try:
        files = [(p.name, p.read_bytes()) for p in args.paths]
        accepted = submit_files(base, files, args.mode)
        job = wait_for_job(base, accepted["url"], args.timeout)
    except SubmitError as exc:
        print(f"formdigits submit: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"formdigits submit: {exc}", file=sys.stderr)
        return 1
    if args.format == "csv":
        sys.stdout.write(_request(base + accepted["url"] + "/results.csv").decode())
    else:
        json.dump({"results": job["results"]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    results = job["results"]
    all_failed = bool(results) and all(
        r["error"] or (r["pages"] and all(p.get("error") for p in r["pages"])) for r in results
    )
    return 1 if all_failed else 0


class SubmitError(Exception):
    """The service refused the request or could not be reached."""


def _request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise SubmitError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # the scheme is checked above
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        raise SubmitError(f"HTTP {exc.code}: {message}") from exc
    except urllib.error.URLError as exc:
        raise SubmitError(f"cannot reach {url}: {exc.reason}") from exc


def submit_files(base: str, files: list[tuple[str, bytes]], mode: str) -> dict[str, Any]:
    """POST ``files`` as multipart to ``/api/v1/jobs``; returns ``{"id", "url"}``."""
    body, content_type = encode_job_upload(files, mode)
    headers = {"Content-Type": content_type}
    return json.loads(_request(base + "/api/v1/jobs", body, headers))  # type: ignore[no-any-return]


def encode_job_upload(files: list[tuple[str, bytes]], mode: str) -> tuple[bytes, str]:
    """The multipart body of a ``POST /api/v1/jobs`` (``mode`` and one ``files`` part each) and its Content-Type."""
    boundary = "formdigits-" + secrets.token_hex(16)
    parts = [_part(boundary, 'name="mode"', None, mode.encode())]
    for name, data in files:
        quoted = name.replace('"', "%22").replace("\r", "").replace("\n", "")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        parts.append(_part(boundary, f'name="files"; filename="{quoted}"', content_type, data))
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _part(boundary: str, disposition: str, content_type: str | None, data: bytes) -> bytes:
    head = f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + data + b"\r\n"


def wait_for_job(base: str, url: str, timeout_s: float) -> dict[str, Any]:
    """Poll the job until it is done or failed, showing pages done / total on stderr."""
    from tqdm import tqdm

    deadline = time.monotonic() + timeout_s
    with tqdm(total=0, unit="page", file=sys.stderr, disable=None, desc="reading") as bar:
        while True:
            job: dict[str, Any] = json.loads(_request(base + url + "?results=0"))
            bar.total = job["progress"]["total"]
            bar.n = job["progress"]["done"]
            bar.refresh()
            if job["state"] in ("done", "failed"):
                return json.loads(_request(base + url))  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise SubmitError(f"the job did not finish within {timeout_s:.0f} s; poll {base}{url} later")
            time.sleep(POLL_INTERVAL_S)
