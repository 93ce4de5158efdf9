// Jobs list: the jobs remembered by this browser, each with its state fetched from the API.
import { fetchJSON, loadJobs, forgetJob, jobApiUrl, jobPageUrl, el, formatTime } from "./common.js";

const table = document.getElementById("jobs-table");
const body = document.getElementById("jobs-body");
const empty = document.getElementById("jobs-empty");

const KIND_TEXT = { drawing: "a drawing", link: "opened by link" };

async function fillState(job, stateCell, progressCell) {
  try {
    const data = await fetchJSON(jobApiUrl(job.id, "?results=0"));
    const badge = el("span", { class: "state-badge", text: data.state, dataset: { state: data.state } });
    stateCell.replaceChildren(badge);
    const done = data.progress ? data.progress.done : 0;
    const total = data.progress ? data.progress.total : 0;
    progressCell.textContent = total ? `${done} / ${total} pages` : "–";
  } catch (err) {
    const text = err.status === 404 ? "expired or deleted" : "unavailable";
    stateCell.replaceChildren(el("span", { class: "state-badge", text, dataset: { state: "missing" }, title: err.message }));
    progressCell.textContent = "–";
  }
}

function render() {
  const jobs = loadJobs();
  empty.hidden = jobs.length > 0;
  table.hidden = jobs.length === 0;
  body.replaceChildren();
  for (const job of jobs) {
    const stateCell = el("td", {}, el("span", { class: "state-badge", text: "checking…" }));
    const progressCell = el("td", { text: "…" });
    const forget = el("button", { type: "button", class: "button secondary small", "aria-label": `Forget job ${job.label || job.id}` }, "Forget");
    forget.addEventListener("click", () => {
      forgetJob(job.id);
      render();
    });
    const what = job.kind === "upload" ? job.label || job.id : KIND_TEXT[job.kind] || job.label || job.id;
    body.append(
      el(
        "tr",
        { dataset: { jobId: job.id } },
        el("td", { text: formatTime(job.created) }),
        el("td", {}, el("a", { href: jobPageUrl(job.id), text: what })),
        el("td", { text: job.mode || "" }),
        stateCell,
        progressCell,
        el("td", {}, forget),
      ),
    );
    fillState(job, stateCell, progressCell);
  }
}

render();
