// Help-center editor: list the articles, open one as Markdown, save it as a new version (with If-Match and a
// reason), retire it, read its history. `/admin/articles?new_article=<question>` (the insights page's "Write an
// article" link) opens a new article titled with the question.
import { $, request, say } from "/web/ops.js";

const form = $("#article");
let open = null; // the article in the editor: { slug, version }, slug null and version 0 for a new one

const call = async (method, path, body, extraHeaders) => (await request(method, path, body, extraHeaders)).data;

const when = (time) => new Date(`${time}Z`).toLocaleString();
const articlePath = (slug) => `/v1/admin/articles/${encodeURIComponent(slug)}`;

// A question becomes an address: lowercase words joined by dashes.
function slugFrom(text) {
  return text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").slice(0, 80).replace(/^-+|-+$/g, "");
}

function cell(row, content) {
  const td = document.createElement("td");
  td.append(content);
  row.append(td);
}

function articleRow(article) {
  const row = document.createElement("tr");
  row.dataset.slug = article.slug;
  row.classList.toggle("retired", article.retired);
  const button = document.createElement("button");
  button.className = "open";
  button.type = "button";
  button.textContent = article.slug;
  button.addEventListener("click", () => openArticle(article.slug));
  cell(row, button);
  cell(row, article.title);
  cell(row, `${article.version}${article.retired ? " (retired)" : ""}`);
  cell(row, when(article.updated_at));
  cell(row, article.author);
  return row;
}

function historyItem(entry) {
  const item = document.createElement("li");
  item.dataset.version = entry.version;
  const title = document.createElement("strong");
  title.textContent = `Version ${entry.version}${entry.retired ? " (retired)" : ""}`;
  const details = document.createElement("details");
  const label = document.createElement("summary");
  label.textContent = "Diff";
  const diff = document.createElement("pre");
  diff.className = "diff";
  diff.textContent = entry.diff;
  details.append(label, diff);
  item.append(title, ` by ${entry.author} on ${when(entry.created_at)}: ${entry.reason}`, details);
  return item;
}

function showEditor({ slug = null, version = 0, title = "", body = "", retired = false, heading }) {
  open = { slug, version };
  $("#editor").hidden = false;
  $("#editor-title").textContent = heading;
  form.elements.slug.value = slug ?? slugFrom(title);
  form.elements.slug.readOnly = slug !== null;
  form.elements.title.value = title;
  form.elements.body.value = body;
  form.elements.reason.value = "";
  $("#retire").hidden = slug === null || retired;
}

function startNew(question = "") {
  showEditor({ title: question, heading: "New article" });
  $("#article-history").replaceChildren();
  form.elements[question ? "body" : "title"].focus();
}

async function openArticle(slug) {
  try {
    const article = await call("GET", articlePath(slug));
    const state = article.retired ? ", retired: saving brings it back" : "";
    showEditor({ ...article, heading: `${article.slug}, version ${article.version}${state}` });
    const history = await call("GET", `${articlePath(slug)}/history`);
    $("#article-history").replaceChildren(...history.map(historyItem));
  } catch (error) {
    say(`Could not open ${slug}: ${error.message}`);
  }
}

async function loadList() {
  try {
    const articles = await call("GET", "/v1/admin/articles");
    $("#articles tbody").replaceChildren(...articles.map(articleRow));
  } catch (error) {
    say(`Could not load: ${error.message}`);
  }
}

// Send a change made against the version in the editor, then show the new version.
async function change(method, slug, body, done) {
  try {
    const article = await call(method, articlePath(slug), body, { "If-Match": String(open.version) });
    say(`${done} ${slug}: version ${article.version}.`, true);
    await loadList();
    await openArticle(slug);
  } catch (error) {
    say(`Not saved: ${error.message}`);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const { slug, title, body, reason } = form.elements;
  change("PUT", open.slug ?? slug.value.trim(), { title: title.value, body: body.value, reason: reason.value }, "Saved");
});
$("#retire").addEventListener("click", () => change("DELETE", open.slug, { reason: form.elements.reason.value }, "Retired"));
$("#new-article").addEventListener("click", () => startNew());
$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("opsToken", $("#token").value.trim());
  loadList();
});

const question = new URLSearchParams(location.search).get("new_article");
if (question !== null) startNew(question.trim());
if (sessionStorage.getItem("opsToken")) loadList();
