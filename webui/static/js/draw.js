// Drawing page: strokes on a canvas (Pointer Events: mouse, pen, touch), undo/clear, or a loaded
// image; the canvas is sent as a PNG data URL to POST /digits, the job polled and the answer shown.
import { API_BASE, fetchJSON, pollJob, rememberJob, jobPageUrl, el, percent, showAlert, setStatus } from "./common.js";

const canvas = document.getElementById("draw-canvas");
const ctx = canvas.getContext("2d");
const widthInput = document.getElementById("stroke-width");
const widthOutput = document.getElementById("stroke-width-value");
const inkInput = document.getElementById("stroke-colour");
const backgroundInput = document.getElementById("background-colour");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");
const imageInput = document.getElementById("image-input");
const readButton = document.getElementById("read-digit");
const status = document.getElementById("draw-status");
const errorBox = document.getElementById("draw-error");
const answer = document.getElementById("answer");
const answerDigit = document.getElementById("answer-digit");
const answerConfidence = document.getElementById("answer-confidence");
const chart = document.getElementById("prob-chart");
const jobLink = document.getElementById("answer-job-link");

// Everything drawn, in order: {type: "stroke", colour, width, points: [[x, y], ...]} or {type: "image", image}.
const actions = [];
let current = null;
let busy = false;

function drawStroke(stroke) {
  ctx.strokeStyle = stroke.colour;
  ctx.fillStyle = stroke.colour;
  ctx.lineWidth = stroke.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  const [first, ...rest] = stroke.points;
  if (!rest.length) {
    ctx.beginPath();
    ctx.arc(first[0], first[1], stroke.width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(first[0], first[1]);
  for (const [x, y] of rest) ctx.lineTo(x, y);
  ctx.stroke();
}

function drawImageContained(image) {
  const scale = Math.min(canvas.width / image.naturalWidth, canvas.height / image.naturalHeight);
  const w = image.naturalWidth * scale;
  const h = image.naturalHeight * scale;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(image, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
}

// changed: the drawing differs from what was read, so the shown answer is dimmed until the next reading.
function redraw({ changed = false } = {}) {
  ctx.fillStyle = backgroundInput.value;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (const action of actions) {
    if (action.type === "stroke") drawStroke(action);
    else drawImageContained(action.image);
  }
  if (current) drawStroke(current);
  const empty = actions.length === 0;
  if (changed && answer.dataset.state !== "empty") answer.dataset.stale = "true";
  undoButton.disabled = empty;
  readButton.disabled = empty || busy;
}

function canvasPoint(event) {
  // The canvas is scaled by CSS on small screens: map client pixels to canvas pixels.
  const rect = canvas.getBoundingClientRect();
  return [((event.clientX - rect.left) * canvas.width) / rect.width, ((event.clientY - rect.top) * canvas.height) / rect.height];
}

canvas.addEventListener("pointerdown", (event) => {
  if (event.button !== undefined && event.button > 0) return;
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  current = { type: "stroke", colour: inkInput.value, width: Number(widthInput.value), points: [canvasPoint(event)], pointerId: event.pointerId };
  redraw();
});

canvas.addEventListener("pointermove", (event) => {
  if (!current || event.pointerId !== current.pointerId) return;
  event.preventDefault();
  const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
  for (const e of events.length ? events : [event]) current.points.push(canvasPoint(e));
  redraw();
});

function endStroke(event) {
  if (!current || event.pointerId !== current.pointerId) return;
  const { pointerId, ...stroke } = current;
  actions.push(stroke);
  current = null;
  redraw({ changed: true });
  setStatus(status, "Press “Read the digit” when you are done.");
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

widthInput.addEventListener("input", () => {
  widthOutput.textContent = widthInput.value;
});
backgroundInput.addEventListener("input", () => redraw({ changed: true }));

undoButton.addEventListener("click", () => {
  actions.pop();
  redraw({ changed: true });
});

clearButton.addEventListener("click", () => {
  actions.length = 0;
  redraw();
  resetAnswer();
  setStatus(status, "Draw a digit to start.");
});

// A loaded image replaces the drawing; the background takes the image's corner colour so
// the margins around a non-square picture match its paper.
imageInput.addEventListener("change", () => {
  const file = imageInput.files && imageInput.files[0];
  if (!file) return;
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.addEventListener("load", () => {
    const probe = document.createElement("canvas");
    probe.width = 1;
    probe.height = 1;
    const probeCtx = probe.getContext("2d");
    probeCtx.drawImage(image, 0, 0, 1, 1, 0, 0, 1, 1);
    const [r, g, b] = probeCtx.getImageData(0, 0, 1, 1).data;
    backgroundInput.value = `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
    actions.length = 0;
    actions.push({ type: "image", image });
    redraw({ changed: true });
    showAlert(errorBox, "");
    setStatus(status, `Loaded ${file.name}. Press “Read the digit”.`);
  });
  image.addEventListener("error", () => {
    URL.revokeObjectURL(url);
    showAlert(errorBox, "This file is not an image the browser can open.", "Cannot load the image");
  });
  image.src = url;
  imageInput.value = "";
});

function buildChart(probabilities = [], best = null) {
  const bars = [];
  for (let d = 0; d < 10; d += 1) {
    const p = Number(probabilities[d] || 0);
    const fill = el("div", { class: "bar-fill" });
    fill.style.height = `${Math.max(0, Math.min(1, p)) * 100}%`;
    bars.push(
      el(
        "div",
        { class: `prob-bar${d === best ? " best" : ""}`, role: "listitem", "aria-label": `${d}: ${percent(p)}`, dataset: { digit: d, p: p.toFixed(6) } },
        el("span", { class: "bar-value", text: probabilities.length ? percent(p, 0) : "" }),
        el("div", { class: "bar-track" }, fill),
        el("span", { class: "bar-label", text: String(d) }),
      ),
    );
  }
  chart.replaceChildren(...bars);
}

function resetAnswer() {
  delete answer.dataset.stale;
  answer.dataset.state = "empty";
  answerDigit.textContent = "?";
  answerConfidence.textContent = "Nothing read yet.";
  jobLink.hidden = true;
  buildChart();
}

function showAnswer(job) {
  delete answer.dataset.stale;
  const result = (job.results || [])[0] || {};
  const page = (result.pages || [])[0] || {};
  const error = result.error || page.error;
  if (error) {
    answer.dataset.state = "error";
    answerDigit.textContent = "!";
    answerConfidence.textContent = "";
    showAlert(errorBox, error, "The drawing could not be read");
    buildChart();
    return;
  }
  const field = (page.fields || [])[0];
  const digit = field && field.digits && field.digits.length ? field.digits[0] : null;
  if (!field || !field.text || !digit) {
    answer.dataset.state = "nondigit";
    answerDigit.textContent = "not a digit";
    answerConfidence.textContent = "This does not look like a digit. Try drawing it larger and clearer.";
    buildChart(digit ? digit.probabilities || [] : []);
    return;
  }
  answer.dataset.state = "digit";
  answerDigit.textContent = field.text;
  answerConfidence.textContent = `Confidence ${percent(digit.confidence)}`;
  buildChart(digit.probabilities || [], Number(digit.digit));
}

readButton.addEventListener("click", async () => {
  if (busy || !actions.length) return;
  busy = true;
  readButton.disabled = true;
  showAlert(errorBox, "");
  setStatus(status, "Sending the drawing…", true);
  try {
    const image = canvas.toDataURL("image/png");
    const submitted = await fetchJSON(`${API_BASE}/digits`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ image }),
    });
    rememberJob({ id: submitted.id, mode: "digit", label: "drawing", kind: "drawing" });
    setStatus(status, "Reading…", true);
    // One small page: poll tightly, with results (saves the final round trip).
    const job = await pollJob(submitted.id, {
      light: false,
      firstMs: 50,
      intervalMs: 250,
      onUpdate: (update) => setStatus(status, update.state === "queued" ? "Waiting for a worker…" : "Reading…", true),
      onRetry: (err) => setStatus(status, `${err.message} Retrying…`, true),
    });
    showAnswer(job);
    jobLink.href = jobPageUrl(submitted.id);
    jobLink.hidden = false;
    setStatus(status, "Done. Draw another digit, or change it and read again.");
  } catch (err) {
    setStatus(status, "");
    showAlert(errorBox, err.message, err.status ? `Refused (HTTP ${err.status})` : "Could not read the drawing");
  } finally {
    busy = false;
    redraw();
  }
});

resetAnswer();
redraw();
