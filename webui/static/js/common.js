// Shared helpers of the formdigits pages: API calls, the browser's job list, polling.
// Plain ES2020 module; no libraries. Pages get their settings from data-* attributes.

export const API_BASE = document.body.dataset.apiBase || "/api/v1";
const STORE_KEY = "formdigits.jobs";
const STORE_LIMIT = 200;

/** An error from the API, carrying the HTTP status and the server's error code. */
export class ApiError extends Error {
  constructor(message, status = 0, code = "network_error") {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** The API URL of a job (or of something under it). */
export function jobApiUrl(id, suffix = "") {
  return `${API_BASE}/jobs/${encodeURIComponent(id)}${suffix}`;
}

/** The browser page of a job. */
export function jobPageUrl(id) {
  const base = (document.body.dataset.jobsUrl || "/jobs").replace(/\/$/, "");
  return `${base}/${encodeURIComponent(id)}`;
}

/** fetch() a JSON endpoint; non-2xx answers become ApiError with the server's message. */
export async function fetchJSON(url, options = {}) {
  let response;
  try {
    response = await fetch(url, { credentials: "omit", cache: "no-store", ...options });
  } catch (err) {
    throw new ApiError("Cannot reach the server. Check your connection and try again.");
  }
  let body = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
  }
  if (!response.ok) {
    const error = body && body.error ? body.error : null;
    const message = error && error.message ? error.message : describeStatus(response.status);
    throw new ApiError(message, response.status, error && error.code ? error.code : `http_${response.status}`);
  }
  return body;
}

function describeStatus(status) {
  switch (status) {
    case 400: return "The server could not understand the request.";
    case 404: return "Not found: the job may have expired or been deleted.";
    case 413: return "The upload is too large.";
    case 415: return "This file type is not supported.";
    case 429: return "Too many requests; please wait a moment and try again.";
    case 503: return "The service is temporarily unavailable; retrying…";
    default: return `The server answered with an error (HTTP ${status}).`;
  }
}

/** Jobs submitted from this browser, newest first: [{id, created, mode, label, kind}]. */
export function loadJobs() {
  try {
    const jobs = JSON.parse(localStorage.getItem(STORE_KEY) || "[]");
    return Array.isArray(jobs) ? jobs.filter((j) => j && typeof j.id === "string") : [];
  } catch (err) {
    return [];
  }
}

function saveJobs(jobs) {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(jobs.slice(0, STORE_LIMIT)));
  } catch (err) {
    // Storage full or disabled (private mode): the job still runs, it is just not listed.
  }
}

/** Remember a job submitted from this browser. */
export function rememberJob(job) {
  const jobs = loadJobs().filter((j) => j.id !== job.id);
  jobs.unshift({ created: new Date().toISOString(), ...job });
  saveJobs(jobs);
}

/** Forget a job (it is not deleted on the server). */
export function forgetJob(id) {
  saveJobs(loadJobs().filter((j) => j.id !== id));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll a job until it is done or failed. The first polls come quickly (a drawing is read in
 * well under a second), then every intervalMs. With light (the default) the polls leave the
 * results out and the final job is fetched whole once. Calls onUpdate(job) after each answer and
 * onRetry(error, delayMs) after each failed request (backoff doubles up to 8 s).
 * A 404 ends polling with that error. Returns the final job.
 */
export async function pollJob(
  id,
  { intervalMs = 500, firstMs = 100, light = true, onUpdate = () => {}, onRetry = () => {}, signal } = {},
) {
  let delay = Math.min(firstMs, intervalMs);
  let healthy = delay;
  for (;;) {
    if (signal && signal.aborted) throw new ApiError("Stopped.", 0, "aborted");
    try {
      // light: poll without results (cheap for big jobs), then fetch them once at the end.
      const job = await fetchJSON(jobApiUrl(id, light ? "?results=0" : ""), { signal });
      onUpdate(job);
      if (job.state === "done" || job.state === "failed") {
        return light ? await fetchJSON(jobApiUrl(id), { signal }) : job;
      }
      healthy = Math.min(healthy * 2, intervalMs);
      delay = healthy;
    } catch (err) {
      if (err.status === 404 || (signal && signal.aborted)) throw err;
      delay = Math.min(Math.max(delay, intervalMs) * 2, 8000);
      onRetry(err, delay);
    }
    await sleep(delay);
  }
}

/** Create an element with attributes, properties and children (text or nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A probability 0..1 as a percentage string, "97.3%". */
export function percent(p, digits = 1) {
  return `${(100 * Number(p || 0)).toFixed(digits)}%`;
}

/** The CSS class of a confidence chip. */
export function confidenceClass(p) {
  if (p >= 0.9) return "conf-high";
  if (p >= 0.6) return "conf-mid";
  return "conf-low";
}

/** Show a message in an alert element (or hide it when message is empty). */
export function showAlert(node, message, title = "") {
  node.replaceChildren();
  if (!message) {
    node.hidden = true;
    return;
  }
  if (title) node.append(el("strong", { text: title }));
  node.append(document.createTextNode(message));
  node.hidden = false;
}

/** Set a status line; busy adds a spinner. */
export function setStatus(node, message, busy = false) {
  node.textContent = message;
  node.classList.toggle("busy", busy);
}

/** A date string from the API (ISO or epoch seconds) in the user's locale. */
export function formatTime(value) {
  if (value === null || value === undefined || value === "") return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}
