// Ops page: list tools with their permissions and limits, change them (with If-Match), see history, roll back.
const $ = (selector) => document.querySelector(selector);
let version = null;

function headers(extra = {}) {
  return { Authorization: `Bearer ${sessionStorage.getItem("opsToken") || ""}`, "Content-Type": "application/json", ...extra };
}

function say(text, ok = false) {
  $("#message").textContent = text;
  $("#message").className = ok ? "ok" : "";
}

async function call(method, path, body, extraHeaders) {
  const response = await fetch(path, { method, headers: headers(extraHeaders), body: body && JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const detail = Array.isArray(data?.detail) ? data.detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ") : data?.detail;
    throw new Error(`${response.status}: ${typeof detail === "string" ? detail : JSON.stringify(data)}`);
  }
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

function toolRow(tool) {
  const row = document.createElement("tr");
  row.dataset.tool = tool.name;
  cell(row, tool.name).title = tool.description;
  cell(row, input("checkbox", "enabled", tool.policy.enabled));
  cell(row, input("checkbox", "requires_approval", tool.policy.requires_approval));
  cell(row, input("number", "max_per_customer_per_day", tool.policy.max_per_customer_per_day));
  const limits = cell(row, "");
  for (const [key, value] of Object.entries(tool.limits)) {
    const label = document.createElement("label");
    label.className = "limit";
    label.textContent = `${key} `;
    const field = input("text", `limit:${key}`, Array.isArray(value) ? value.join(", ") : value);
    field.dataset.kind = Array.isArray(value) ? "list" : typeof value;
    label.append(field);
    limits.append(label);
  }
  cell(row, input("text", "reason", ""));
  const save = document.createElement("button");
  save.textContent = "Save";
  save.addEventListener("click", () => saveTool(row));
  cell(row, save);
  return row;
}

function readLimit(field) {
  if (field.dataset.kind === "number") return Number(field.value);
  if (field.dataset.kind === "list") return field.value.split(",").map((v) => v.trim()).filter(Boolean);
  return field.value;
}

async function saveTool(row) {
  const get = (name) => row.querySelector(`[name="${name}"]`);
  const perDay = get("max_per_customer_per_day").value;
  const limits = {};
  for (const field of row.querySelectorAll("[name^='limit:']")) limits[field.name.slice(6)] = readLimit(field);
  const change = {
    enabled: get("enabled").checked,
    requires_approval: get("requires_approval").checked,
    limits,
    reason: get("reason").value,
    ...(perDay ? { max_per_customer_per_day: Number(perDay) } : {}),
  };
  try {
    await call("PATCH", `/v1/admin/tools/${row.dataset.tool}`, change, { "If-Match": String(version) });
    say(`Saved ${row.dataset.tool} as version ${version}.`, true);
    await load();
  } catch (error) {
    say(`Not saved: ${error.message}`);
  }
}

function historyItem(entry) {
  const item = document.createElement("li");
  item.dataset.version = entry.version;
  const title = document.createElement("strong");
  title.textContent = `Version ${entry.version}`;
  item.append(title, ` by ${entry.author} (${entry.source}) on ${new Date(entry.created_at + "Z").toLocaleString()}: ${entry.reason} `);
  const back = document.createElement("button");
  back.textContent = `Roll back to ${entry.version}`;
  back.addEventListener("click", async () => {
    try {
      await call("POST", "/v1/admin/policy/rollback", { version: entry.version, reason: `rollback to version ${entry.version}` },
                 { "If-Match": String(version) });
      say(`Rolled back to version ${entry.version}.`, true);
      await load();
    } catch (error) { say(`Not rolled back: ${error.message}`); }
  });
  item.append(back);
  if (entry.diff) {
    const diff = document.createElement("pre");
    diff.className = "diff";
    diff.textContent = entry.diff;
    item.append(diff);
  }
  return item;
}

async function load() {
  try {
    const tools = await call("GET", "/v1/admin/tools");
    $("#tools tbody").replaceChildren(...tools.map(toolRow));
    const history = await call("GET", "/v1/admin/policy/history");
    $("#history").replaceChildren(...history.map(historyItem));
  } catch (error) {
    say(`Could not load: ${error.message}`);
  }
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("opsToken", $("#token").value.trim());
  load();
});
if (sessionStorage.getItem("opsToken")) load();
