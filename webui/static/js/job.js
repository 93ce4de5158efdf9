// Job page: poll the job, show progress, then every page's overlay and fields.
import {
  ApiError, fetchJSON, pollJob, jobApiUrl, forgetJob, rememberJob, loadJobs, el, percent,
  confidenceClass, showAlert, setStatus, formatTime,
} from "./common.js";

const root = document.getElementById("job");
const jobId = root.dataset.jobId;
const stateBadge = document.getElementById("job-state");
const progress = document.getElementById("job-progress");
const progressText = document.getElementById("progress-text");
const status = document.getElementById("job-status");
const meta = document.getElementById("job-meta");
const errorBox = document.getElementById("job-error");
const results = document.getElementById("job-results");
const csvLink = document.getElementById("download-csv");
const jsonLink = document.getElementById("download-json");
const deleteButton = document.getElementById("delete-job");

const STATE_TEXT = {
  queued: "Waiting for a free worker…",
  running: "Reading the pages…",
  done: "Finished.",
  failed: "Finished with errors.",
};

const controller = new AbortController();

function showProgress(job) {
  const done = job.progress ? Number(job.progress.done) || 0 : 0;
  const total = job.progress ? Number(job.progress.total) || 0 : 0;
  stateBadge.textContent = job.state;
  stateBadge.dataset.state = job.state;
  progress.max = Math.max(total, 1);
  progress.value = Math.min(done, progress.max);
  progressText.textContent = total ? `${done} of ${total}` : "counting pages…";
  setStatus(status, STATE_TEXT[job.state] || job.state, job.state === "queued" || job.state === "running");
  const parts = [];
  if (job.mode) parts.push(`Mode: ${job.mode}`);
  if (job.created) parts.push(`Submitted ${formatTime(job.created)}`);
  if (job.finished) parts.push(`finished ${formatTime(job.finished)}`);
  meta.textContent = parts.join(" · ");
}

function digitChip(digit) {
  const conf = Number(digit.confidence) || 0;
  const alts = (digit.alternatives || []).map(([d, p]) => `${d}: ${percent(p)}`).join(", ");
  return el(
    "span",
    { class: `chip ${confidenceClass(conf)}`, title: alts ? `Alternatives: ${alts}` : null, "aria-label": `digit ${digit.digit}, confidence ${percent(conf)}` },
    el("b", { text: String(digit.digit) }),
    percent(conf, 0),
  );
}

function separatorsText(separators) {
  if (!separators || !separators.length) return "–";
  return separators.map((s) => `${s.kind} after ${s.position}`).join(", ");
}

// Why the reader flagged a field, in words (field.review: the reader's reason codes).
const REASONS = {
  low_confidence: "a digit below the review threshold",
  close_reading: "another reading nearly as likely",
  close_marks: "other separators nearly as likely",
  line_network: "the line network changed the reading",
  unknown_ink: "ink that is neither a digit nor a mark",
  no_digit: "no digit found",
};

function reviewReasons(review) {
  if (!review || !review.length) return "needs review";
  return "Needs review: " + review.map((r) => REASONS[r] || r).join("; ");
}

const COLUMNS = ["Field", "Text", "Separators", "Confidence", "Digits"];

function fieldsTable(fields) {
  if (!fields.length) return el("p", { class: "empty", text: "No fields found on this page." });
  const rows = fields.map((field) => {
    // Each cell holds one element, so the narrow-screen layout can put its label beside it.
    const name = el("span", {}, field.name || "");
    if (field.needs_review) name.append(el("span", { class: "flag", text: "review", title: reviewReasons(field.review) }));
    return el(
      "tr",
      { class: field.needs_review ? "needs-review" : null, dataset: { field: field.name || "" } },
      el("td", { dataset: { label: COLUMNS[0] } }, name),
      el(
        "td",
        { dataset: { label: COLUMNS[1] } },
        field.text ? el("span", { class: "field-text", text: field.text }) : el("span", { class: "muted", text: "(empty)" }),
      ),
      el("td", { text: separatorsText(field.separators), dataset: { label: COLUMNS[2] } }),
      el("td", { text: percent(field.confidence), dataset: { label: COLUMNS[3] } }),
      el("td", { dataset: { label: COLUMNS[4] } }, el("span", { class: "chips" }, (field.digits || []).map(digitChip))),
    );
  });
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "data-table fields-table" },
      el("thead", {}, el("tr", {}, COLUMNS.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows),
    ),
  );
}

function pageSection(page, overallIndex, source) {
  const heading = el("h3", { text: `Page ${page.page}` });
  if (page.error) {
    return el("section", { class: "card page", dataset: { page: overallIndex } }, heading, el("div", { class: "alert error", role: "alert" }, el("strong", { text: "This page could not be read" }), page.error));
  }
  const fields = page.fields || [];
  const review = fields.filter((f) => f.needs_review).length;
  // The overlay is drawn the way the page was read: turned a quarter, its sides swap.
  const sideways = page.rotation === 90 || page.rotation === 270;
  const [shownWidth, shownHeight] = sideways ? [page.height, page.width] : [page.width, page.height];
  const turned = page.rotation ? ` · read turned ${page.rotation}° clockwise (it came ${page.rotation === 180 ? "upside down" : "sideways"})` : "";
  const overlay = el(
    "figure",
    {},
    el("img", {
      class: "overlay",
      src: jobApiUrl(jobId, `/pages/${overallIndex}/overlay.png`),
      alt: `Page ${page.page} of ${source} with the fields and digits found`,
      loading: "lazy",
      width: shownWidth || null,
      height: shownHeight || null,
    }),
    el("figcaption", { class: "page-size", text: `${page.width || "?"} × ${page.height || "?"} px${turned}` }),
  );
  const summary = el("p", {}, `${fields.length} field${fields.length === 1 ? "" : "s"} read.`);
  if (review) summary.append(" ", el("span", { class: "review-note", text: `${review} need${review === 1 ? "s" : ""} review.` }));
  return el("section", { class: "card page", dataset: { page: overallIndex } }, heading, el("div", { class: "page-result" }, overlay, el("div", {}, summary, fieldsTable(fields))));
}

function renderResults(job) {
  const nodes = [];
  let overall = 0;
  for (const result of job.results || []) {
    const section = el("section", { class: "source" }, el("h2", { text: result.source || "upload" }));
    if (result.error) {
      section.append(el("div", { class: "alert error", role: "alert" }, el("strong", { text: "This file could not be read" }), result.error));
    }
    for (const page of result.pages || []) {
      overall += 1;
      section.append(pageSection(page, overall, result.source || "upload"));
    }
    if (!result.error && !(result.pages || []).length) section.append(el("p", { class: "empty", text: "No pages in this file." }));
    nodes.push(section);
  }
  if (!nodes.length) nodes.push(el("p", { class: "empty", text: "This job has no results." }));
  results.replaceChildren(...nodes);
  csvLink.href = jobApiUrl(jobId, "/results.csv");
  jsonLink.href = jobApiUrl(jobId, "/results.json");
  csvLink.hidden = false;
  jsonLink.hidden = false;
}

async function run() {
  try {
    const job = await pollJob(jobId, {
      signal: controller.signal,
      onUpdate: (update) => {
        showAlert(errorBox, "");
        showProgress(update);
        // Keep the browser's list up to date even for a job opened from a shared link.
        if (!loadJobs().some((j) => j.id === jobId)) rememberJob({ id: jobId, mode: update.mode || "", label: "opened by link", kind: "link" });
      },
      onRetry: (err, delayMs) => {
        showAlert(errorBox, `${err.message} Trying again in ${Math.round(delayMs / 1000)} s.`, "Cannot get the job's state");
      },
    });
    renderResults(job);
    if (job.state === "failed" && job.error) showAlert(errorBox, job.error.message || String(job.error), "The job failed");
  } catch (err) {
    if (controller.signal.aborted) return;
    stateBadge.textContent = err.status === 404 ? "not found" : "error";
    stateBadge.dataset.state = "missing";
    setStatus(status, "");
    showAlert(errorBox, err.message, err.status === 404 ? "No such job" : "Error");
  }
}

deleteButton.addEventListener("click", async () => {
  if (!window.confirm("Delete this job and its results from the server?")) return;
  deleteButton.disabled = true;
  try {
    await fetchJSON(jobApiUrl(jobId), { method: "DELETE" });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) {
      showAlert(errorBox, err.message, "Could not delete the job");
      deleteButton.disabled = false;
      return;
    }
  }
  controller.abort();
  forgetJob(jobId);
  window.location.assign(document.body.dataset.jobsUrl || "/jobs");
});

run();
