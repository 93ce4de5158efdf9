// Upload page: drop or pick many files, choose a mode, POST them as one job, go to its page.
import { API_BASE, ApiError, rememberJob, jobPageUrl, el, showAlert, setStatus } from "./common.js";

const form = document.getElementById("upload-form");
const zone = document.getElementById("drop-zone");
const input = document.getElementById("file-input");
const listWrap = document.getElementById("file-list-wrap");
const list = document.getElementById("file-list");
const count = document.getElementById("file-count");
const clearButton = document.getElementById("clear-files");
const submitButton = document.getElementById("submit-button");
const status = document.getElementById("upload-status");
const errorBox = document.getElementById("upload-error");

const maxBytes = Number(form.dataset.maxBytes) || 0;
let files = [];

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fileKey(file) {
  return `${file.name}\u0000${file.size}\u0000${file.lastModified}`;
}

function addFiles(newFiles) {
  const seen = new Set(files.map(fileKey));
  for (const file of newFiles) {
    if (!seen.has(fileKey(file))) {
      files.push(file);
      seen.add(fileKey(file));
    }
  }
  render();
}

function render() {
  list.replaceChildren(
    ...files.map((file) => el("li", {}, el("span", { class: "file-name", text: file.name }), el("span", { class: "file-size", text: formatSize(file.size) })))
  );
  listWrap.hidden = files.length === 0;
  const total = totalBytes();
  count.textContent = files.length ? `(${files.length} file${files.length === 1 ? "" : "s"}, ${formatSize(total)})` : "";
  submitButton.disabled = files.length === 0;
  if (maxBytes && total > maxBytes) {
    showAlert(errorBox, `The selected files add up to ${formatSize(total)}; the limit is ${formatSize(maxBytes)} per upload. Remove some, or send them in several uploads.`, "Too large");
  }
}

/**
 * POST a FormData with XMLHttpRequest (fetch cannot report upload progress); resolves with
 * the JSON answer, rejects with ApiError carrying the server's error message.
 */
function postForm(url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.responseType = "json";
    request.withCredentials = false;
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      const answer = request.response;
      if (request.status >= 200 && request.status < 300 && answer && answer.id) {
        resolve(answer);
        return;
      }
      const error = answer && answer.error ? answer.error : {};
      const message = error.message || `The server answered with an error (HTTP ${request.status}).`;
      reject(new ApiError(message, request.status, error.code || `http_${request.status}`));
    });
    // A refused upload may be cut off before its answer arrives (the size is checked before the body is read).
    request.addEventListener("error", () => reject(new ApiError("The upload was interrupted: the server may have refused it (too large?) or be unreachable.")));
    request.send(body);
  });
}

function totalBytes() {
  return files.reduce((sum, f) => sum + f.size, 0);
}

input.addEventListener("change", () => {
  showAlert(errorBox, "");
  addFiles(Array.from(input.files || []));
  input.value = "";
});

clearButton.addEventListener("click", () => {
  files = [];
  showAlert(errorBox, "");
  render();
});

// Drag and drop: the zone lights up while files hover over it; dropping anywhere on the page works.
let dragDepth = 0;
document.addEventListener("dragenter", (event) => {
  if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
  event.preventDefault();
  dragDepth += 1;
  zone.dataset.state = "over";
});
document.addEventListener("dragover", (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
});
document.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) zone.dataset.state = "idle";
});
document.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  zone.dataset.state = "idle";
  const dropped = event.dataTransfer ? Array.from(event.dataTransfer.files) : [];
  if (dropped.length) {
    showAlert(errorBox, "");
    addFiles(dropped);
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!files.length) {
    showAlert(errorBox, "Choose or drop at least one file first.", "Nothing to read");
    return;
  }
  if (maxBytes && totalBytes() > maxBytes) {
    showAlert(errorBox, `The selected files add up to ${formatSize(totalBytes())}; the limit is ${formatSize(maxBytes)} per upload.`, "Too large");
    return;
  }
  const mode = new FormData(form).get("mode") || "page";
  const body = new FormData();
  for (const file of files) body.append("files", file, file.name);
  body.append("mode", mode);

  submitButton.disabled = true;
  showAlert(errorBox, "");
  const what = `${files.length} file${files.length === 1 ? "" : "s"}`;
  setStatus(status, `Uploading ${what}…`, true);
  try {
    const job = await postForm(`${API_BASE}/jobs`, body, (share) => {
      const text = share < 1 ? `Uploading ${what}… ${Math.round(100 * share)}%` : "Uploaded; waiting for the server…";
      setStatus(status, text, true);
    });
    const label = files.length === 1 ? files[0].name : `${files[0].name} and ${files.length - 1} more`;
    rememberJob({ id: job.id, mode, label, kind: "upload" });
    setStatus(status, "Uploaded. Opening the job…", true);
    window.location.assign(jobPageUrl(job.id));
  } catch (err) {
    setStatus(status, "");
    const title = err.status ? `Upload refused (HTTP ${err.status})` : "Upload failed";
    showAlert(errorBox, err.message, title);
    submitButton.disabled = files.length === 0;
  }
});

render();
