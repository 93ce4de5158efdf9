"""The page shells: they render, carry the security headers, and hold no inline code for the CSP to block."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "webui" / "static"
PAGES = ("/", "/draw", "/jobs", "/jobs/" + "a" * 32)


class Markup(HTMLParser):
    """Collects what a strict CSP would block (inline scripts, styles, handlers) and the assets referenced."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.assets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            if not named.get("src"):
                self.inline.append("<script> without src")
            else:
                self.assets.append(str(named["src"]))
        if tag == "link" and named.get("href"):
            self.assets.append(str(named["href"]))
        if named.get("href", "").startswith("javascript:"):
            self.inline.append("javascript: URL")
        if named.get("id"):
            self.ids.add(str(named["id"]))


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_without_inline_code(client, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    markup = Markup()
    markup.feed(response.get_data(as_text=True))
    assert markup.inline == []
    assert any(a.endswith(".js") for a in markup.assets) and any(a.endswith(".css") for a in markup.assets)
    for asset in markup.assets:
        assert not asset.startswith(("http:", "https:", "//")), f"external asset {asset}"
        static = client.get(asset)
        assert static.status_code == 200, asset
        static.close()


@pytest.mark.parametrize("path", PAGES)
def test_security_headers(client, path: str) -> None:  # type: ignore[no-untyped-def]
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_job_page_passes_the_id_as_data(client) -> None:  # type: ignore[no-untyped-def]
    job_id = "Zz09_-" * 5 + "ab"
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f'data-job-id="{job_id}"' in html
    assert 'data-api-base="/api/v1"' in html


@pytest.mark.parametrize("bad", ["short", "x" * 129, "has.dot" * 5, "%3Cscript%3E" * 3])
def test_job_page_rejects_impossible_ids(client, bad: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/jobs/{bad}").status_code == 404


def test_scripts_are_modules_without_eval() -> None:
    scripts = list((STATIC / "js").glob("*.js"))
    assert scripts
    for path in scripts:
        text = path.read_text()
        assert not re.search(r"\beval\(|new Function\(|innerHTML\s*=|document\.write\(", text), path.name
        assert '.setAttribute("style"' not in text, path.name


def test_every_element_a_script_needs_is_in_its_template(client) -> None:  # type: ignore[no-untyped-def]
    """Each getElementById in a page's script names an element of that page (typos fail here, not in a browser)."""
    for path, script in (
        ("/", "upload.js"),
        ("/draw", "draw.js"),
        ("/jobs", "jobs.js"),
        ("/jobs/" + "a" * 32, "job.js"),
    ):
        markup = Markup()
        markup.feed(client.get(path).get_data(as_text=True))
        wanted = set(re.findall(r"getElementById\(\"([\w-]+)\"\)", (STATIC / "js" / script).read_text()))
        assert wanted and wanted <= markup.ids, f"{script}: missing {sorted(wanted - markup.ids)}"


def test_upload_page_states_the_size_limit(client, settings) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/").get_data(as_text=True)
    assert f'data-max-bytes="{settings.max_upload_bytes}"' in html
    assert f"Up to {settings.max_upload_bytes / 2**20:.4g} MB per upload" in html
