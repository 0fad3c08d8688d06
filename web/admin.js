// Ops page: tools with their permissions and limits, the guardrails (rule modes, thresholds, word lists); change
// them (with If-Match), see the history (each version's diff loads when opened), roll back.
import { $, request, say } from "/web/ops.js";

let version = null;

async function call(method, path, body, extraHeaders) {
  const { response, data } = await request(method, path, body, extraHeaders);
  const etag = response.headers.get("ETag");
  if (etag) { version = Number(etag.replaceAll('"', "")); $("#version").textContent = `Policy version ${version}`; }
  return data;
}

function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = content;
  row.append(td);
  return td;
}

function input(type, name, value) {
  const element = document.createElement("input");
  element.type = type;
  element.name = name;
  if (type === "checkbox") element.checked = value; else element.value = value ?? "";
  return element;
}

function labelled(text, field) {
  const label = document.createElement("label");
  label.className = "setting";
  label.append(`${text} `, field);
  return label;
}

function toolRow(tool) {
  const row = document.createElement("tr");
  row.dataset.tool = tool.name;
  cell(row, tool.name).title = tool.description;
  cell(row, input("checkbox", "enabled", tool.policy.enabled));
  cell(row, input("checkbox", "requires_approval", tool.policy.requires_approval));
  cell(row, input("number", "max_per_customer_per_day", tool.policy.max_per_customer_per_day));
  const limits = cell(row, "");
  for (const [key, value] of Object.entries(tool.limits)) {
    const field = input("text", `limit:${key}`, Array.isArray(value) ? value.join(", ") : value);
    field.dataset.kind = Array.isArray(value) ? "list" : typeof value;
    limits.append(labelled(key, field));
  }
  cell(row, input("text", "reason", ""));
  const save = document.createElement("button");
  save.textContent = "Save";
  save.addEventListener("click", () => saveTool(row));
  cell(row, save);
  return row;
}

function readValue(field) {
  if (field.dataset.kind === "number") return field.value === "" ? null : Number(field.value);
  if (field.dataset.kind === "list") return field.value.split(",").map((v) => v.trim()).filter(Boolean);
  if (field.dataset.kind === "lines") return field.value.split("\n").map((v) => v.trim()).filter(Boolean);
  return field.value;
}

// Send a change made against the version on screen, then reload; `done` words the success once it is known.
async function submit(method, path, body, done, failed = "Not saved") {
  try {
    await call(method, path, body, { "If-Match": String(version) });
    say(done(), true);
    await load();
  } catch (error) {
    say(`${failed}: ${error.message}`);
  }
}

async function saveTool(row) {
  const get = (name) => row.querySelector(`[name="${name}"]`);
  const perDay = get("max_per_customer_per_day").value;
  const limits = {};
  for (const field of row.querySelectorAll("[name^='limit:']")) limits[field.name.slice(6)] = readValue(field);
  const change = {
    enabled: get("enabled").checked,
    requires_approval: get("requires_approval").checked,
    limits,
    reason: get("reason").value,
    ...(perDay ? { max_per_customer_per_day: Number(perDay) } : {}),
  };
  await submit("PATCH", `/v1/admin/tools/${row.dataset.tool}`, change, () => `Saved ${row.dataset.tool} as version ${version}.`);
}

function modeSelect(rule) {
  const select = document.createElement("select");
  select.name = "mode";
  for (const mode of ["block", "monitor"]) select.append(new Option(mode, mode, false, mode === rule.mode));
  select.dataset.loaded = rule.mode;
  return select;
}

function ruleRow(rail, rule) {
  const row = document.createElement("tr");
  row.dataset.rail = rail;
  row.dataset.rule = rule.name;
  cell(row, rule.name);
  cell(row, modeSelect(rule));
  return row;
}

function setting(name, kind, value) {
  const field = kind === "lines" ? document.createElement("textarea") : input("number", name, value);
  field.name = name;
  field.dataset.kind = kind;
  if (kind === "lines") field.value = value.join("\n"); else field.step = "any";
  field.dataset.loaded = field.value;
  return field;
}

function showGuardrails({ guardrails }) {
  for (const rail of ["input", "output"]) {
    $(`#${rail}-rules tbody`).replaceChildren(...guardrails[rail].map((rule) => ruleRow(rail, rule)));
  }
  $("#thresholds").replaceChildren(...Object.entries(guardrails.thresholds).map(
    ([name, value]) => labelled(name, setting(`threshold:${name}`, "number", value))));
  $("#words").replaceChildren(...Object.entries(guardrails.words).map(
    ([name, list]) => labelled(name, setting(`words:${name}`, "lines", list))));
}

// Only what was edited is sent: the server keeps the rest as it is.
function guardrailsChange() {
  const form = $("#guardrails");
  const edited = (field) => field.value !== field.dataset.loaded;
  const change = { input: {}, output: {}, thresholds: {}, words: {}, reason: form.elements.reason.value };
  for (const row of form.querySelectorAll("tr[data-rule]")) {
    const select = row.querySelector("select");
    if (edited(select)) change[row.dataset.rail][row.dataset.rule] = select.value;
  }
  for (const field of form.querySelectorAll("[name^='threshold:'], [name^='words:']")) {
    const [group, name] = field.name.split(":");
    if (edited(field)) change[group === "threshold" ? "thresholds" : "words"][name] = readValue(field);
  }
  return change;
}

// What a version changed at a glance: its top-level fields and the diff's line counts.
function summary(entry, first) {
  const fields = first ? `first version, ${entry.fields.length} fields` : entry.fields.join(", ") || "no field";
  const line = document.createElement("p");
  line.className = "summary";
  line.textContent = `${fields} (+${entry.added} −${entry.removed} lines)`;
  return line;
}

// The diff is fetched the first time it is opened, then shown or hidden.
function diffToggle(entry, item) {
  const toggle = document.createElement("button");
  toggle.className = "show-diff";
  toggle.textContent = "Show diff";
  toggle.setAttribute("aria-expanded", "false");
  toggle.addEventListener("click", async () => {
    let diff = item.querySelector("pre.diff");
    if (!diff) {
      try {
        const loaded = await call("GET", `/v1/admin/policy/versions/${entry.version}/diff`);
        diff = document.createElement("pre");
        diff.className = "diff";
        diff.hidden = true;
        diff.textContent = loaded.diff;
        item.append(diff);
      } catch (error) {
        say(`Could not load the diff: ${error.message}`);
        return;
      }
    }
    diff.hidden = !diff.hidden;
    toggle.textContent = diff.hidden ? "Show diff" : "Hide diff";
    toggle.setAttribute("aria-expanded", String(!diff.hidden));
  });
  return toggle;
}

function historyItem(entry) {
  const item = document.createElement("li");
  item.dataset.version = entry.version;
  const title = document.createElement("strong");
  title.textContent = `Version ${entry.version}`;
  item.append(title, ` by ${entry.author} (${entry.source}) on ${new Date(entry.created_at + "Z").toLocaleString()}: ${entry.reason} `);
  const back = document.createElement("button");
  back.textContent = `Roll back to ${entry.version}`;
  back.addEventListener("click", () => submit("POST", "/v1/admin/policy/rollback",
    { version: entry.version, reason: `rollback to version ${entry.version}` },
    () => `Rolled back to version ${entry.version}.`, "Not rolled back"));
  item.append(summary(entry, entry.version === 1), diffToggle(entry, item), " ", back);
  return item;
}

async function load() {
  try {
    const tools = await call("GET", "/v1/admin/tools");
    $("#tools tbody").replaceChildren(...tools.map(toolRow));
    showGuardrails(await call("GET", "/v1/admin/guardrails"));
    const history = await call("GET", "/v1/admin/policy/history");
    $("#history").replaceChildren(...history.map(historyItem));
  } catch (error) {
    say(`Could not load: ${error.message}`);
  }
}

$("#guardrails").addEventListener("submit", (event) => {
  event.preventDefault();
  submit("PATCH", "/v1/admin/guardrails", guardrailsChange(), () => `Saved the guardrails as version ${version}.`);
});
$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("opsToken", $("#token").value.trim());
  load();
});
if (sessionStorage.getItem("opsToken")) load();
