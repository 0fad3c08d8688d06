// What the ops pages (/admin and /admin/articles) share: the ops token, the message line and JSON calls.
export const $ = (selector) => document.querySelector(selector);

export function say(text, ok = false) {
  $("#message").textContent = text;
  $("#message").className = ok ? "ok" : "";
}

// A JSON call with the ops token: the response (for its headers) and its body; a refusal throws with the
// server's own words (each field of a 422).
export async function request(method, path, body, extraHeaders = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem("opsToken") || ""}`,
                    "Content-Type": "application/json", ...extraHeaders };
  const response = await fetch(path, { method, headers, body: body && JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const detail = Array.isArray(data?.detail) ? data.detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ") : data?.detail;
    throw new Error(`${response.status}: ${typeof detail === "string" ? detail : JSON.stringify(data)}`);
  }
  return { response, data };
}
