// Human agents' console: the handoff queue, claim, read the package, reply, approve or deny, resolve, hand back.
const $ = (selector) => document.querySelector(selector);
let current = null;

const headers = () => ({ Authorization: `Bearer ${sessionStorage.getItem("agentToken") || ""}`, "Content-Type": "application/json" });

function say(text, ok = false) {
  $("#message").textContent = text;
  $("#message").className = ok ? "ok" : "";
}

async function call(method, path, body) {
  const response = await fetch(path, { method, headers: headers(), body: body && JSON.stringify(body) });
  const data = response.status === 202 || response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(`${response.status}: ${typeof data?.detail === "string" ? data.detail : JSON.stringify(data)}`);
  return data;
}

function text(tag, content) {
  const element = document.createElement(tag);
  element.textContent = content;
  return element;
}

function button(label, action) {
  const element = text("button", label);
  element.type = "button";
  element.addEventListener("click", action);
  return element;
}

async function loadQueue() {
  const params = new URLSearchParams();
  if ($("#queue").value) params.set("queue", $("#queue").value);
  if ($("#priority").value) params.set("priority", $("#priority").value);
  try {
    const handoffs = await call("GET", `/v1/handoffs?${params}`);
    $("#queue-table tbody").replaceChildren(...handoffs.map((h) => {
      const row = document.createElement("tr");
      row.dataset.handoff = h.id;
      for (const value of [h.id, h.priority, h.queue, h.reason, h.summary, h.claimed_by || ""]) row.append(text("td", value));
      const actions = document.createElement("td");
      actions.append(button(h.claimed_by ? "Open" : "Claim", () => open(h, !h.claimed_by)));
      row.append(actions);
      return row;
    }));
  } catch (error) { say(`Could not load the queue: ${error.message}`); }
}

async function open(handoff, claimFirst) {
  try {
    if (claimFirst) await call("POST", `/v1/handoffs/${handoff.id}/claim`);
    current = await call("GET", `/v1/handoffs/${handoff.id}`);
    render();
    say(claimFirst ? `You have conversation #${handoff.id}.` : "", true);
    await loadQueue();
  } catch (error) { say(`Could not open #${handoff.id}: ${error.message}`); }
}

function render() {
  const pkg = current;
  $("#detail").hidden = false;
  $("#detail-title").textContent = `#${pkg.handoff.id}: ${pkg.handoff.reason} (${pkg.handoff.priority})`;
  $("#next-step").textContent = `Suggested next step: ${pkg.suggested_next_step}`;
  $("#transcript").replaceChildren(...pkg.transcript.map((m) => text("li", `${m.role}: ${m.content}`)));
  $("#feedback").replaceChildren(...feedbackLines(pkg.feedback));
  $("#customer").textContent = JSON.stringify({ customer: pkg.customer, orders: pkg.orders_touched }, null, 2);
  $("#tool-calls").replaceChildren(...pkg.tool_calls.map((c) => text("li", `${c.tool} ${JSON.stringify(c.arguments)} → ${c.outcome}${c.rule ? ` (${c.rule})` : ""}`)));
  const exception = $("#exception");
  exception.replaceChildren();
  if (pkg.exception && pkg.exception.status === "pending") {
    exception.append(text("p", `Pending exception #${pkg.exception.id}: ${pkg.exception.detail}`),
      button("Approve", () => decide(true)), button("Deny", () => decide(false)));
  } else if (pkg.exception) {
    exception.append(text("p", `Exception #${pkg.exception.id} is ${pkg.exception.status}.`));
  }
}

function feedbackLines(feedback) {
  const lines = feedback.replies.map((r) => text("li", `${r.helpful ? "Helpful" : "Not helpful"}: “${r.text}”`));
  if (feedback.rating) {
    const comment = feedback.rating.comment ? `: “${feedback.rating.comment}”` : "";
    lines.unshift(text("li", `Rated the conversation ${feedback.rating.rating} of 5${comment}`));
  }
  return lines.length ? lines : [text("li", "None given.")];
}

async function refresh() {
  current = await call("GET", `/v1/handoffs/${current.handoff.id}`);
  render();
}

async function decide(approve) {
  try {
    const decided = await call("POST", `/v1/handoffs/${current.handoff.id}/decision`, { approve, note: approve ? "" : $("#reply").value });
    say(decided.approved ? "Approved: the customer has been told." : "Denied: the customer has been told.", true);
    await refresh();
  } catch (error) { say(`Could not decide: ${error.message}`); }
}

$("#reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await call("POST", `/v1/handoffs/${current.handoff.id}/messages`, { text: $("#reply").value });
    $("#reply").value = "";
    say("Sent.", true);
    await refresh();
  } catch (error) { say(`Not sent: ${error.message}`); }
});

for (const [id, action, done] of [["#resolve", "resolve", "Resolved."], ["#release", "release", "Handed back to the bot."]]) {
  $(id).addEventListener("click", async () => {
    try {
      await call("POST", `/v1/handoffs/${current.handoff.id}/${action}`);
      say(done, true);
      $("#detail").hidden = true;
      await loadQueue();
    } catch (error) { say(`Could not ${action}: ${error.message}`); }
  });
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("agentToken", $("#token").value.trim());
  loadQueue();
});
$("#queue").addEventListener("change", loadQueue);
$("#priority").addEventListener("change", loadQueue);
if (sessionStorage.getItem("agentToken")) loadQueue();
