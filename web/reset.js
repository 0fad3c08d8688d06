// The page a password-reset email links to: reads the single-use token from the address (then removes it from
// the address bar and history), asks for the new password twice, and sends both to POST /v1/password-reset.
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token") || "";
history.replaceState(null, "", location.pathname);

function say(text, ok = false) {
  $("message").textContent = text;
  $("message").className = ok ? "ok" : "";
}

function problem(data, status) {
  if (typeof data?.detail === "string") return data.detail;
  if (Array.isArray(data?.detail)) return data.detail.map((d) => d.msg).join("; ");
  return `the server answered ${status}`;
}

async function submit(event) {
  event.preventDefault();
  const password = $("new-password").value;
  if (password !== $("repeat-password").value) return say("The two passwords are not the same.");
  const button = $("reset-form").querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch("/v1/password-reset", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, new_password: password }),
    });
    if (response.ok) {
      $("reset-form").hidden = true;
      return say("Your password is changed. You can sign in with it now.", true);
    }
    say(`Your password was not changed: ${problem(await response.json().catch(() => null), response.status)}.`);
  } catch {
    say("Your password was not changed: the server could not be reached. Please try again.");
  } finally {
    button.disabled = false;
  }
}

if (token) {
  $("reset-form").addEventListener("submit", submit);
} else {
  $("reset-form").hidden = true;
  say("This page needs the link from your password-reset email: open the link in the email again.");
}
