// The chat page: sends messages with POST /v1/conversations/{id}/messages and renders every event from one
// live GET /v1/conversations/{id}/events stream, reconnecting with Last-Event-ID so nothing is lost or shown
// twice. Text is only ever inserted with textContent.

const $ = (id) => document.getElementById(id);
const log = $("log");
const statusLine = $("status");

const state = {
  token: sessionStorage.getItem("support.token") || "",
  conversationId: null,
  lastSeq: 0,
  tail: null, // AbortController of the live stream
  reply: null, // the assistant bubble being streamed
  tools: new Map(), // tool name -> its progress line
  thinking: null, // the "reading your message" line while the planner runs
  busy: false,
};

// --- identity -------------------------------------------------------------------------------
function subjectOf(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return `${payload.sub} (${payload.role})`;
  } catch {
    return "a token";
  }
}

function authHeaders(extra = {}) {
  return state.token ? { ...extra, Authorization: `Bearer ${state.token}` } : extra;
}

function storageKey() {
  return `support.conversation.${state.token ? subjectOf(state.token) : "anonymous"}`;
}

function showIdentity() {
  $("who").textContent = state.token ? `Signed in as ${subjectOf(state.token)}` : "Chatting anonymously";
}

// --- server-sent events over fetch (works with an Authorization header, unlike EventSource) ----
async function* serverSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let message = { data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (message.data.length) yield { id: message.id, event: message.event, data: message.data.join("\n") };
        message = { data: [] };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") message.data.push(text);
        else if (field === "id" || field === "event") message[field] = text;
      }
    }
  }
}

function seqOf(id) {
  return Number((id || "").split(":").pop()) || 0;
}

// --- the live stream ---------------------------------------------------------------------------
async function follow(conversationId) {
  const controller = new AbortController();
  state.tail = controller;
  let backoff = 250;
  while (!controller.signal.aborted) {
    try {
      const response = await fetch(`/v1/conversations/${conversationId}/events`, {
        headers: authHeaders({ "Last-Event-ID": `${conversationId}:${state.lastSeq}` }),
        signal: controller.signal,
      });
      if (response.status === 401) {
        statusLine.textContent = `${await problem(response)}: sign in again.`;
        closeConversation();
        return;
      }
      if (response.status === 404 || response.status === 403) {
        forgetConversation(); // deleted, or not this identity's: start afresh
        return;
      }
      if (!response.ok) throw new Error(`events: ${response.status}`);
      backoff = 250;
      for await (const message of serverSentEvents(response)) {
        const seq = seqOf(message.id);
        if (seq <= state.lastSeq) continue;
        state.lastSeq = seq;
        render(JSON.parse(message.data), seq);
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    await new Promise((resolve) => setTimeout(resolve, backoff));
    backoff = Math.min(backoff * 2, 5000);
  }
}

function stopFollowing() {
  if (state.tail) state.tail.abort();
  state.tail = null;
}

// --- rendering ---------------------------------------------------------------------------------
function item(className, text) {
  const li = document.createElement("li");
  li.className = className;
  if (text !== undefined) li.textContent = text;
  log.append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function bubble(role, text, author) {
  const li = item(`bubble ${role}`);
  if (author) {
    const name = document.createElement("span");
    name.className = "author";
    name.textContent = author;
    li.append(name);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  li.append(body);
  return li;
}

function replyBubble() {
  if (!state.reply) {
    state.reply = bubble("assistant", "");
    state.reply.dataset.testid = "reply";
  }
  return state.reply;
}

function addSource(li, citation) {
  let list = li.querySelector(".sources");
  if (!list) {
    list = document.createElement("ul");
    list.className = "sources";
    list.setAttribute("aria-label", "Sources");
    li.append(list);
  }
  const label = `Source: ${citation.title} — ${citation.section}`;
  if ([...list.children].some((entry) => entry.textContent === label)) return;
  const entry = document.createElement("li");
  entry.className = "citation";
  entry.textContent = label;
  list.append(entry);
}

const OUTCOME_CLASS = { done: "done" };

function stopThinking() {
  state.thinking?.remove();
  state.thinking = null;
}

// --- feedback ----------------------------------------------------------------------------------
async function sendFeedback(path, body) {
  const response = await fetch(`/v1/conversations/${state.conversationId}/${path}`, {
    method: "PUT",
    headers: authHeaders({ "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await problem(response));
}

function addThumbs(li, seq) {
  const thumbs = document.createElement("span");
  thumbs.className = "thumbs";
  for (const [helpful, label, symbol] of [[true, "Helpful", "👍"], [false, "Not helpful", "👎"]]) {
    const button = document.createElement("button");
    Object.assign(button, { type: "button", textContent: symbol, title: label });
    button.setAttribute("aria-label", label);
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", async () => {
      try {
        await sendFeedback(`replies/${seq}/feedback`, { helpful });
        for (const other of thumbs.children) other.setAttribute("aria-pressed", String(other === button));
      } catch (error) {
        statusLine.textContent = error.message;
      }
    });
    thumbs.append(button);
  }
  li.append(thumbs);
}

function offerRating() {
  const form = $("rating");
  if (form.hidden && !form.dataset.sent) form.hidden = false;
}

$("rating").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = $("rating");
  const chosen = form.querySelector("input[name=stars]:checked");
  if (!chosen) {
    statusLine.textContent = "Choose a rating from 1 to 5.";
    return;
  }
  try {
    await sendFeedback("rating", { rating: Number(chosen.value), comment: $("rating-comment").value.trim() });
    form.dataset.sent = "true";
    form.hidden = true;
    statusLine.textContent = "Thanks for rating this conversation.";
  } catch (error) {
    statusLine.textContent = error.message;
  }
});

function render(event, seq) {
  if (event.type !== "thinking") stopThinking();
  switch (event.type) {
    case "thinking":
      state.thinking ??= item("tool running thinking", "Reading your message…");
      break;
    case "customer_message":
      bubble("customer", event.text);
      state.reply = null;
      state.tools.clear();
      setBusy(true);
      break;
    case "tool_started":
      state.tools.set(event.tool, item("tool running", `${event.description}…`));
      break;
    case "tool_finished": {
      const line = state.tools.get(event.tool) || item("tool");
      line.className = `tool ${OUTCOME_CLASS[event.outcome] || "other"}`;
      line.textContent = `${line.textContent.replace(/…$/, "")}: ${event.description}`;
      break;
    }
    case "text_delta":
      replyBubble().querySelector(".text").textContent += event.text;
      break;
    case "reply_replaced": {
      const li = replyBubble();
      li.querySelector(".text").textContent = "";
      if (!li.querySelector(".revised")) {
        const note = document.createElement("span");
        note.className = "revised";
        note.textContent = "(reply revised)";
        li.append(note);
      }
      break;
    }
    case "citation":
      addSource(replyBubble(), event);
      break;
    case "message_completed": {
      const li = replyBubble();
      li.querySelector(".text").textContent = event.text;
      for (const citation of event.citations) addSource(li, citation);
      addThumbs(li, seq);
      state.reply = null;
      break;
    }
    case "handoff_started":
      item("notice handoff", `Handed over to a person from our ${event.queue} team.`);
      break;
    case "staff_message":
      bubble("staff", event.text, event.author);
      break;
    case "approval_pending":
      item("notice approval", `${event.description}.`);
      break;
    case "approval_decided":
      item("notice approval", event.message);
      break;
    case "error":
      item("notice error", event.message);
      break;
    case "done":
      state.reply = null;
      setBusy(false);
      if (log.querySelector(".thumbs")) offerRating();
      break;
    default:
      break; // newer event types are ignored by this page
  }
}

function setBusy(busy) {
  state.busy = busy;
  $("send").disabled = busy;
  log.setAttribute("aria-busy", String(busy));
}

// --- actions -----------------------------------------------------------------------------------
async function problem(response) {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : `request refused (${response.status})`;
  } catch {
    return `request refused (${response.status})`;
  }
}

async function startConversation() {
  const response = await fetch("/v1/conversations", { method: "POST", headers: authHeaders() });
  if (!response.ok) throw new Error(await problem(response));
  const conversation = await response.json();
  openConversation(conversation.id);
  return conversation.id;
}

function openConversation(conversationId) {
  stopFollowing();
  log.replaceChildren();
  Object.assign(state, { conversationId, lastSeq: 0, reply: null });
  state.tools.clear();
  localStorage.setItem(storageKey(), conversationId);
  document.body.dataset.conversation = conversationId;
  follow(conversationId);
}

function closeConversation() {
  stopFollowing();
  Object.assign(state, { conversationId: null, lastSeq: 0, reply: null });
  delete document.body.dataset.conversation;
  log.replaceChildren();
  $("rating").hidden = true;
  delete $("rating").dataset.sent;
  $("rating").reset();
  setBusy(false);
}

function forgetConversation() {
  localStorage.removeItem(storageKey());
  closeConversation();
}

async function send(text) {
  statusLine.textContent = "";
  setBusy(true);
  try {
    const conversationId = state.conversationId || (await startConversation());
    const response = await fetch(`/v1/conversations/${conversationId}/messages`, {
      method: "POST",
      headers: authHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ message: text }),
    });
    if (!response.ok) {
      const retry = response.headers.get("Retry-After");
      throw new Error((await problem(response)) + (retry ? ` (retry in ${retry} s)` : ""));
    }
    await response.body.cancel(); // the live stream shows the turn; it runs on without this response
    return true;
  } catch (error) {
    statusLine.textContent = error.message;
    setBusy(false);
    return false;
  }
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("message");
  const text = input.value.trim();
  if (!text || state.busy) return;
  if (await send(text)) input.value = "";
});

$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("support.token", state.token);
  $("token").value = "";
  restore();
});

$("sign-out").addEventListener("click", () => {
  state.token = "";
  sessionStorage.removeItem("support.token");
  restore();
});

$("new-conversation").addEventListener("click", () => {
  forgetConversation();
  $("message").focus();
});

function restore() {
  showIdentity();
  closeConversation();
  const saved = localStorage.getItem(storageKey());
  if (saved) openConversation(saved);
}

restore();
document.body.dataset.ready = "true";
