"""The upload, job and jobs-list pages against a real stack (Redis, a Celery worker, Flask) in headless Chromium."""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(120)]

RESULT_TIMEOUT_MS = 30_000


def write_digit_string(path: Path, text: str) -> None:
    """A white PNG with ``text`` drawn in dark, handwriting-thick Hershey digits (one line)."""
    image = np.full((120, 60 + 55 * len(text)), 255, np.uint8)
    cv2.putText(image, text, (30, 90), cv2.FONT_HERSHEY_SIMPLEX, 2.4, 0, 7, cv2.LINE_AA)
    assert cv2.imwrite(str(path), image)


def test_upload_two_files_and_see_both_results(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    texts = {"amount.png": "2024", "zip.png": "4705"}
    for name, text in texts.items():
        write_digit_string(tmp_path / name, text)

    tab.goto("/")
    assert tab.is_disabled("#submit-button")
    tab.set_input_files("#file-input", [str(tmp_path / name) for name in texts])
    assert tab.locator("#file-list li").count() == 2
    tab.check("input[name=mode][value=line]")
    tab.click("#submit-button")

    tab.wait_for_url("**/jobs/*", timeout=RESULT_TIMEOUT_MS)
    job_id = tab.get_attribute("#job", "data-job-id")
    tab.wait_for_selector("#job-state[data-state=done]", timeout=RESULT_TIMEOUT_MS)
    tab.wait_for_selector("#job-results .source")

    # Both files are shown, each with its page, its overlay image and its field table.
    assert tab.locator(".source > h2").all_text_contents() == list(texts)
    assert tab.locator(".page .overlay").count() == 2
    tab.wait_for_load_state("networkidle")
    for i in range(2):
        assert tab.locator(".page .overlay").nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    assert tab.text_content("#progress-text") == "2 of 2"

    # What the table shows is what the API returned, and the reader got the strings right.
    job = tab.request.get(f"/api/v1/jobs/{job_id}").json()
    for source, result in zip(tab.locator(".source").all(), job["results"], strict=True):
        fields = result["pages"][0]["fields"]
        shown = source.locator(".field-text").all_text_contents()
        assert shown == [f["text"] for f in fields]
        assert shown == [texts[result["source"]]]
        chips = source.locator(".chip")
        assert chips.count() == len(texts[result["source"]])
    for suffix in ("results.csv", "results.json"):
        href = tab.get_attribute(f"#download-{suffix.split('.')[1]}", "href")
        assert href is not None and href.endswith(f"/api/v1/jobs/{job_id}/{suffix}")
        assert tab.request.get(href).ok

    # The jobs page lists it from localStorage with its state.
    tab.goto("/jobs")
    row = tab.locator(f"#jobs-body tr[data-job-id='{job_id}']")
    row.locator(".state-badge[data-state=done]").wait_for()
    assert "amount.png" in (row.text_content() or "")

    # Deleting it on its page removes it on the server and from the list.
    row.get_by_role("link").click()
    tab.wait_for_selector("#job-state[data-state=done]", timeout=RESULT_TIMEOUT_MS)
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.click("#delete-job")
    tab.wait_for_url("**/jobs", timeout=RESULT_TIMEOUT_MS)
    assert tab.locator(f"#jobs-body tr[data-job-id='{job_id}']").count() == 0
    assert tab.request.get(f"/api/v1/jobs/{job_id}").status == 404
    assert errors.messages == []


def test_a_form_fed_sideways_is_shown_read_upright(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A form scanned sideways is read turned back; the job page says so and shows the overlay upright."""
    from recognition.mnist import DigitSet
    from recognition.synthetic import make_form
    from segmentation.cleanup import turn
    from tests.recognition.test_pairs import drawn_digits

    tab, errors = page
    images, labels = drawn_digits(200)
    gray, truth = make_form(np.random.default_rng(1), DigitSet(images, labels, Path("drawn"), Path("drawn")))
    assert cv2.imwrite(str(tmp_path / "sideways.png"), turn(gray, 270))  # fed turned counter-clockwise

    tab.goto("/")
    tab.set_input_files("#file-input", [str(tmp_path / "sideways.png")])
    tab.check("input[name=mode][value=page]")
    tab.click("#submit-button")
    tab.wait_for_url("**/jobs/*", timeout=RESULT_TIMEOUT_MS)
    tab.wait_for_selector("#job-state[data-state=done]", timeout=RESULT_TIMEOUT_MS)
    caption = tab.locator(".page .page-size")
    caption.wait_for()
    assert "read turned 90° clockwise (it came sideways)" in (caption.text_content() or "")
    height, width = gray.shape
    overlay = tab.locator(".page .overlay")
    assert overlay.get_attribute("width") == str(width) and overlay.get_attribute("height") == str(height)
    tab.wait_for_load_state("networkidle")
    natural = overlay.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert abs(natural[0] / natural[1] - width / height) < 0.02  # drawn upright (sideways it would be h / w)
    assert tab.locator(".field-text").all_text_contents() == [
        "".join(c for c in e["text"] if c.isdigit()) for e in truth["fields"]
    ]
    assert errors.messages == []


def test_a_flagged_field_says_why_it_needs_review(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A dash uploaded as one digit reads as no digit: its row is flagged, and the flag says why."""
    tab, errors = page
    image = np.full((100, 100), 255, np.uint8)
    cv2.line(image, (10, 50), (90, 50), 0, 8)
    assert cv2.imwrite(str(tmp_path / "dash.png"), image)
    write_digit_string(tmp_path / "seven.png", "7")

    tab.goto("/")
    tab.set_input_files("#file-input", [str(tmp_path / "dash.png"), str(tmp_path / "seven.png")])
    tab.check("input[name=mode][value=digit]")
    tab.click("#submit-button")
    tab.wait_for_url("**/jobs/*", timeout=RESULT_TIMEOUT_MS)
    tab.wait_for_selector("#job-state[data-state=done]", timeout=RESULT_TIMEOUT_MS)
    tab.wait_for_selector("#job-results .source")
    dash, seven = tab.locator(".source").all()
    assert dash.locator("tr.needs-review").count() == 1
    assert dash.locator(".flag").get_attribute("title") == "Needs review: no digit found"
    assert seven.locator(".field-text").all_text_contents() == ["7"]
    assert seven.locator("tr.needs-review").count() == 0 and seven.locator(".flag").count() == 0
    assert errors.messages == []


def test_jobs_list_forgets_a_job(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    write_digit_string(tmp_path / "one.png", "38")
    tab.goto("/")
    tab.set_input_files("#file-input", str(tmp_path / "one.png"))
    tab.check("input[name=mode][value=line]")
    tab.click("#submit-button")
    tab.wait_for_url("**/jobs/*", timeout=RESULT_TIMEOUT_MS)
    job_id = tab.get_attribute("#job", "data-job-id")

    tab.goto("/jobs")
    row = tab.locator(f"#jobs-body tr[data-job-id='{job_id}']")
    row.get_by_role("button", name="Forget").click()
    assert row.count() == 0
    tab.reload()
    tab.locator("#jobs-empty:not([hidden]), #jobs-body tr").first.wait_for()
    assert tab.locator(f"#jobs-body tr[data-job-id='{job_id}']").count() == 0
    # Forgetting is local: the job itself is still on the server.
    assert tab.request.get(f"/api/v1/jobs/{job_id}").ok
    assert errors.messages == []


def test_upload_error_is_shown(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    (tmp_path / "notes.png").write_text("this is text, not a picture")
    tab.goto("/")
    tab.set_input_files("#file-input", [str(tmp_path / "notes.png")])
    tab.click("#submit-button")
    # The API sniffs the bytes and refuses the upload (415); the page says so with the server's message.
    alert = tab.locator("#upload-error:not([hidden])")
    alert.wait_for(timeout=RESULT_TIMEOUT_MS)
    text = alert.text_content() or ""
    assert "HTTP 415" in text and len(text) > len("Upload refused (HTTP 415)")
    assert tab.url.endswith("/") and tab.is_enabled("#submit-button")
    # The browser logs the refused request itself; nothing else may appear.
    assert [m for m in errors.messages if "415" not in m] == []


def test_dropped_files_are_listed(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Files dropped on the page join the selection (duplicates once), and the zone lights up while dragging."""
    tab, errors = page
    write_digit_string(tmp_path / "a.png", "12")
    files = [
        {"name": name, "b64": base64.b64encode((tmp_path / "a.png").read_bytes()).decode()}
        for name in ("a.png", "b.png")
    ]
    tab.goto("/")
    transfer = tab.evaluate_handle(
        """files => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), c => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: "image/png", lastModified: 1 }));
            }
            return transfer;
        }""",
        files,
    )
    tab.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": transfer})
    assert tab.get_attribute("#drop-zone", "data-state") == "over"
    tab.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    tab.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    assert tab.get_attribute("#drop-zone", "data-state") == "idle"
    assert tab.locator("#file-list .file-name").all_text_contents() == ["a.png", "b.png"]
    assert tab.is_enabled("#submit-button")
    tab.click("#clear-files")
    assert tab.is_disabled("#submit-button") and tab.is_hidden("#file-list-wrap")
    assert errors.messages == []


def test_too_large_a_selection_is_refused_before_sending(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    limit = live_service.settings.max_upload_bytes
    (tmp_path / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(limit))
    posts: list[str] = []
    tab.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    tab.goto("/")
    assert "Up to 2 MB per upload" in (tab.text_content(".lead") or "")
    tab.set_input_files("#file-input", str(tmp_path / "big.png"))
    alert = tab.locator("#upload-error")
    assert alert.is_visible() and "Too large" in (alert.text_content() or "")
    tab.click("#submit-button")
    assert alert.is_visible()
    assert posts == [] and tab.url.endswith("/")
    assert errors.messages == []
