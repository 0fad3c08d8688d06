// Insights page: a period's outcomes, satisfaction, latency, tools, rails, requests and unanswered questions.
const $ = (selector) => document.querySelector(selector);
const CHARTS = ["outcomes", "satisfaction", "requests", "handoffs"];
const token = () => sessionStorage.getItem("insightsToken") || "";

function say(text) {
  $("#message").textContent = text;
}

function query() {
  const params = new URLSearchParams();
  if ($("#since").value) params.set("since", `${$("#since").value}T00:00:00`);
  if ($("#until").value) params.set("until", `${$("#until").value}T23:59:59`);
  if ($("#source").value === "demo") params.set("demo", "true");
  return params.toString();
}

async function get(path, params = query()) {
  const response = await fetch(`${path}?${params}`, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(`${response.status}: ${typeof body.detail === "string" ? body.detail : "request refused"}`);
  }
  return response;
}

function cell(tag, content) {
  const element = document.createElement(tag);
  element.textContent = content;
  return element;
}

function figure(label, value) {
  const box = document.createElement("div");
  box.className = "figure";
  box.append(cell("strong", value), cell("span", label));
  return box;
}

const percent = (share) => (share === null ? "–" : `${Math.round(share * 100)}%`);
const seconds = (ms) => (ms === null ? "–" : `${(ms / 1000).toFixed(2)} s`);

function table(id, rows) {
  const body = rows.length ? rows : [["none", ""]];
  $(id).replaceChildren(...body.map((row) => {
    const tr = document.createElement("tr");
    tr.append(...row.map((value) => cell("td", String(value))));
    return tr;
  }));
}

function articleLink(question) {
  const link = cell("a", "Write an article");
  link.href = `/admin/articles?new_article=${encodeURIComponent(question)}`;
  return link;
}

function render(data) {
  const counts = data.outcomes;
  $("#demo-banner").hidden = !data.demo;
  $("#empty").hidden = data.demo || counts.conversations > 0;
  $("#figures").replaceChildren(
    figure("conversations", counts.conversations),
    figure("contained (no person needed)", percent(counts.containment)),
    figure("resolved", percent(counts.resolution)),
    figure("handed to a person", counts.outcomes.handed_off),
    figure("average rating", counts.average_rating === null ? "–" : `${counts.average_rating.toFixed(1)} / 5`),
    figure("first text, median", seconds(data.first_text_p50_ms)),
    figure("first text, 95th percentile", seconds(data.first_text_p95_ms)),
    figure("still open", counts.outcomes.open),
  );
  $("#unanswered").replaceChildren(...(data.unanswered.length ? data.unanswered.map((group) => {
    const li = cell("li", `${group.question} (${group.count}) `);
    li.append(articleLink(group.question), cell("div", group.examples.join(" · ")));
    li.lastChild.className = "examples";
    return li;
  }) : [cell("li", "None in this period.")]));
  table("#tools", Object.entries(data.tool_outcomes).flatMap(([tool, outcomes]) =>
    Object.entries(outcomes).map(([outcome, n]) => [`${tool} ${outcome}`, n])));
  table("#rails", Object.entries(data.guardrail_interventions));
  table("#queues", Object.entries(counts.handoff_queues));
  table("#paths", Object.entries(data.paths));
}

async function drawCharts(params, isCurrent) {
  await Promise.all(CHARTS.map(async (chart) => {
    const svg = await (await get(`/v1/insights/charts/${chart}.svg`, params)).text();
    if (isCurrent()) $(`#chart-${chart}`).src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  }));
}

let sourceChosen = false;
// A new installation has no real conversations yet: it opens on the labelled demo history, never mixed in.
let loads = 0;
// Only the latest load renders: an earlier, slower answer (another period or source) must not overwrite it.

async function load() {
  const ticket = ++loads;
  const isCurrent = () => ticket === loads;
  const params = query();
  say("");
  try {
    const data = await (await get("/v1/insights", params)).json();
    if (!isCurrent()) return;
    if (!data.demo && data.outcomes.conversations === 0 && !sourceChosen) {
      sourceChosen = true;
      $("#source").value = "demo";
      return load();
    }
    render(data);
    await drawCharts(params, isCurrent);
    if (isCurrent()) document.body.dataset.loaded = params;
  } catch (error) {
    if (isCurrent()) say(error.message);
  }
}

async function exportCsv() {
  try {
    const blob = await (await get("/v1/insights.csv")).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "insights.csv";
    link.click();
    URL.revokeObjectURL(link.href);
  } catch (error) {
    say(error.message);
  }
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("insightsToken", $("#token").value.trim());
  $("#token").value = "";
  load();
});
$("#period").addEventListener("submit", (event) => {
  event.preventDefault();
  sourceChosen = true;
  load();
});
$("#export").addEventListener("click", exportCsv);
$("#show-demo").addEventListener("click", () => {
  sourceChosen = true;
  $("#source").value = "demo";
  load();
});
if (token()) load();
