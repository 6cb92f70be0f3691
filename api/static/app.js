// The bayqa search page. Three views chosen by the URL, so every state can be shared and Back/Forward work:
//   /?q=...&k=&mode=&doc=          search results
//   /?view=documents                what is indexed
//   /?read=ID&passage=S-E&answer=S-E   one document, scrolled to and marked at a passage
// Text from documents and queries only ever reaches the page through textContent / text nodes.
"use strict";

const DEFAULT_K = "10";
const MODE_NAMES = { hybrid: "hybrid", dense: "semantic", keyword: "keyword" };
// confidence.missing: what the question asks for that no top answer sentence states, or "year" / "name": a year,
// or a place or body, it names that no top passage mentions.
const MISSING_NAMES = { date: "a date", amount: "an amount of money", figure: "a figure" };
const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
// A pair of Markdown emphasis markers around some text on one line (**bold**, __bold__), and a heading's hashes.
const EMPHASIS = /(\*\*|__)(?=\S)[^\n]*?\S\1/g;
const HEADING_MARK = /^#{1,6}[ \t]+/gm;
const $ = (id) => document.getElementById(id);
const form = $("search-form"), input = $("q"), kSelect = $("k"), modeSelect = $("mode"), docSelect = $("doc");
const statusLine = $("status"), view = $("view"), main = $("main");

let inFlight = null;          // AbortController of the request whose answer the page is waiting for
let documentList = null;      // Promise of GET /documents, shared by the filter menu and the documents view
const searchCache = new Map(); // query string -> response body, so Back/Forward redraw without asking again

// ---------- small DOM helpers ----------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// How document text is displayed: Markdown documents without emphasis markers and heading hashes, everything else
// as it is.
// Offsets from the API point into the source text; `at` maps them into the displayed `text`.
function displayed(source, markdown) {
  if (!markdown) return { text: source, at: (i) => i };
  const removed = new Uint8Array(source.length);
  for (const m of source.matchAll(EMPHASIS)) {
    const end = m.index + m[0].length;
    removed.fill(1, m.index, m.index + 2);
    removed.fill(1, end - 2, end);
  }
  for (const m of source.matchAll(HEADING_MARK)) removed.fill(1, m.index, m.index + m[0].length);
  const before = new Uint32Array(source.length + 1);  // removed characters before each offset
  const kept = [];
  for (let i = 0; i < source.length; i++) {
    before[i + 1] = before[i] + removed[i];
    if (!removed[i]) kept.push(source[i]);
  }
  return { text: kept.join(""), at: (i) => i - before[Math.max(0, Math.min(i, source.length))] };
}

function isMarkdown(docId) {
  return /\.(md|markdown)$/i.test(docId);
}

function withLang(node, text) {
  if (CJK.test(text)) node.lang = "zh";
  return node;
}

function setStatus(text, kind) {
  statusLine.textContent = text || "";
  statusLine.className = "status" + (kind ? " " + kind : "");
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function formatDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }).format(d);
}

function docPath(id) {
  return "/documents/" + id.split("/").map(encodeURIComponent).join("/");
}

function readerUrl(docId, passage, answer) {
  const p = new URLSearchParams({ read: docId });
  if (passage) p.set("passage", `${passage[0]}-${passage[1]}`);
  if (answer) p.set("answer", `${answer[0]}-${answer[1]}`);
  return "/?" + p.toString();
}

function parseRange(value) {
  const m = /^(\d+)-(\d+)$/.exec(value || "");
  if (!m) return null;
  const a = Number(m[1]), b = Number(m[2]);
  return b > a ? [a, b] : null;
}

// ---------- navigation ----------

// history.state.depth counts the page's own entries, so "Back" knows whether the previous entry is ours.
function navigate(url, replace) {
  const depth = (history.state && history.state.depth) || 0;
  if (replace) history.replaceState({ depth }, "", url);
  else history.pushState({ depth: depth + 1 }, "", url);
  render();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-nav]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"), false);
});

window.addEventListener("popstate", render);

// "/" jumps to the search box from anywhere except a field the user is typing in.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest("input, select, textarea, [contenteditable]")) return;
  event.preventDefault();
  input.focus();
  input.select();
});

function searchParams() {
  const params = new URLSearchParams(location.search);
  return {
    q: params.get("q"),
    k: params.get("k") || DEFAULT_K,
    mode: params.get("mode") || "",
    docs: params.getAll("doc").filter(Boolean),
  };
}

function searchUrl(s) {
  const p = new URLSearchParams();
  p.set("q", s.q);
  if (s.k && s.k !== DEFAULT_K) p.set("k", s.k);
  if (s.mode) p.set("mode", s.mode);
  for (const d of s.docs) p.append("doc", d);
  return "/?" + p.toString();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const url = searchUrl({ q: input.value, k: kSelect.value, mode: modeSelect.value, docs: docSelect.value ? [docSelect.value] : [] });
  // Searching again for what is already shown asks the server again instead of adding a history entry.
  if (url === location.pathname + location.search) searchCache.delete(new URL(url, location.href).search);
  navigate(url, url === location.pathname + location.search);
});

for (const select of [kSelect, modeSelect, docSelect]) select.addEventListener("change", updateOptionsSummary);

function updateOptionsSummary() {
  const parts = [];
  if (kSelect.value !== DEFAULT_K) parts.push(`${kSelect.value} results`);
  if (modeSelect.value) parts.push(MODE_NAMES[modeSelect.value] || modeSelect.value);
  if (docSelect.value) parts.push(docSelect.selectedOptions[0].textContent);
  $("options-summary").textContent = parts.length ? ": " + parts.join(", ") : "";
}

function render() {
  if (inFlight) inFlight.abort();
  inFlight = null;
  const params = new URLSearchParams(location.search);
  const current = params.has("read") ? "reader" : params.get("view") === "documents" ? "documents" : "search";
  for (const link of document.querySelectorAll("nav a[data-view]")) {
    if (link.dataset.view === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  view.removeAttribute("aria-busy");
  if (current === "reader") return showReader(params.get("read"), parseRange(params.get("passage")), parseRange(params.get("answer")));
  if (current === "documents") return showDocuments();
  return showSearch(searchParams());
}

// ---------- the document filter menu ----------

function loadDocuments() {
  if (!documentList) {
    documentList = fetch("/documents", { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .catch((err) => { documentList = null; throw err; });
  }
  return documentList;
}

// A document named in the URL gets an option at once (labelled by its id until the list of titles arrives).
function fillDocumentMenu(selected) {
  const setOption = (id, title) => {
    const existing = [...docSelect.options].find((o) => o.value === id);
    if (existing) existing.textContent = title;
    else docSelect.append(withLang(el("option", { value: id, text: title }), title));
  };
  for (const id of selected) if (![...docSelect.options].some((o) => o.value === id)) setOption(id, id);
  docSelect.value = selected[0] || "";
  loadDocuments().then((body) => {
    for (const d of body.documents) setOption(d.id, d.title);
    docSelect.value = selected[0] || "";
    updateOptionsSummary();
  }).catch(() => { /* the menu keeps what it has; searching still works */ });
}

// ---------- search ----------

const EXAMPLES = [
  "When did the Hong Kong-Zhuhai-Macao Bridge open?",
  "What is the Northern Metropolis?",
  "河套深港科技创新合作区的定位是什么？",
];

function examplesNode() {
  const list = el("ul", { class: "examples" });
  for (const q of EXAMPLES) list.append(el("li", {}, withLang(el("a", { href: searchUrl({ q, k: DEFAULT_K, mode: "", docs: [] }), "data-nav": true, text: q }), q)));
  return el("div", { class: "hint" }, el("p", { text: "Try one of these:" }), list);
}

function showSearch(s) {
  input.value = s.q || "";
  kSelect.value = [...kSelect.options].some((o) => o.value === s.k) ? s.k : DEFAULT_K;
  modeSelect.value = MODE_NAMES[s.mode] ? s.mode : "";
  fillDocumentMenu(s.docs);
  updateOptionsSummary();
  if (s.mode || s.k !== DEFAULT_K || s.docs.length) $("options").open = true;

  if (s.q === null) {
    document.title = "bayqa — search Greater Bay Area policy texts";
    setStatus(s.docs.length ? "Ask a question about this document." : "");
    view.replaceChildren(examplesNode());
    if (s.docs.length) {
      input.focus();
    } else {
      const here = location.search;
      loadDocuments().then((body) => {
        const n = body.documents.length;
        if (location.search === here && n) setStatus(`Searching ${n} indexed document${n === 1 ? "" : "s"}.`);
      }).catch(() => {});
    }
    return;
  }
  const question = s.q.trim();
  document.title = `${question || "Search"} — bayqa`;
  if (!question) {
    setStatus("Type a question first.", "warn");
    view.replaceChildren(examplesNode());
    input.focus();
    return;
  }
  const api = new URLSearchParams({ q: s.q, k: s.k });
  if (s.mode) api.set("mode", s.mode);
  for (const d of s.docs) api.append("doc", d);
  const key = "?" + api.toString();
  const cached = searchCache.get(key);
  if (cached) return showResults(s, cached);
  const controller = new AbortController();
  inFlight = controller;
  setStatus("Searching…", "loading");
  view.setAttribute("aria-busy", "true");
  view.replaceChildren();
  fetch("/search" + key, { signal: controller.signal, headers: { Accept: "application/json" } })
    .then(async (resp) => {
      const body = await resp.json().catch(() => null);
      if (controller.signal.aborted) return;
      if (!resp.ok || !body || !Array.isArray(body.results)) {
        const detail = body && typeof body.detail === "string" ? body.detail : null;
        return showError(`The search failed (HTTP ${resp.status})`, detail);
      }
      searchCache.set(key, body);
      if (searchCache.size > 30) searchCache.delete(searchCache.keys().next().value);
      showResults(s, body);
    })
    .catch((err) => {
      if (err.name === "AbortError") return;
      showError("The server could not be reached", "Check that bayqa is running and your connection works, then try again.");
    })
    .finally(() => {
      if (inFlight === controller) inFlight = null;
      view.removeAttribute("aria-busy");
    });
}

function showError(title, detail) {
  setStatus("", "error");
  const retry = el("button", { type: "button", class: "secondary", text: "Try again" });
  retry.addEventListener("click", () => render());
  view.replaceChildren(el("div", { class: "error-box", role: "alert" },
    el("p", { class: "error-title", text: title }),
    detail ? el("p", { text: detail }) : null,
    retry));
}

function showResults(s, body) {
  const results = body.results;
  const question = body.query || s.q.trim();
  const parts = [];
  if (!results.length) {
    setStatus(`No passages found for “${question}”.`, "warn");
    const hint = el("div", { class: "hint" },
      el("p", { text: "Nothing in the indexed documents matched. You could:" }),
      el("ul", {},
        el("li", { text: "use fewer or more general words, or check the spelling;" }),
        s.docs.length ? el("li", {}, el("a", { href: searchUrl({ ...s, docs: [] }), "data-nav": true, text: "search all documents" }), " instead of one;") : null,
        el("li", {}, "see ", el("a", { href: "/?view=documents", "data-nav": true, text: "what is indexed" }), ".")));
    view.replaceChildren(hint);
    return;
  }
  parts.push(`${results.length} passage${results.length === 1 ? "" : "s"} for “${question}”`);
  if (typeof body.took_ms === "number") parts.push(`${Math.round(body.took_ms)} ms`);
  if (typeof body.mode === "string") parts.push(`${MODE_NAMES[body.mode] || body.mode} search`);
  setStatus(parts.join(" · "));

  const out = [];
  const low = body.confidence && body.confidence.low === true;
  if (low) {
    const missing = MISSING_NAMES[body.confidence.missing];
    const named = { year: "a year", name: "a place or body" }[body.confidence.missing];
    const reason = named
      ? `The question names ${named} that none of the top passages mentions.`
      : missing ? `The question asks for ${missing}, and none of the top passages gives one.` : null;
    out.push(el("div", { class: "low-confidence", role: "note" },
      el("p", { class: "low-title", text: "The documents probably do not answer this question." }),
      ...(reason ? [el("p", { class: "low-reason", text: reason })] : []),
      el("p", { text: "These are the closest passages bayqa found; check them before relying on them, or rephrase the question." })));
  } else if (results[0].answer) {
    out.push(answerBox(results[0]));
  }
  const top = Math.max(...results.map((r) => r.score), 1e-9);
  out.push(el("h2", { class: "visually-hidden", text: "Passages, best first" }));
  const list = el("ol", { class: "results" });
  for (const r of results) list.append(resultNode(r, top));
  out.push(list);
  view.replaceChildren(...out);
}

// The section path without a leading heading that only repeats the document title.
function sectionPath(r) {
  const headings = Array.isArray(r.headings) ? [...r.headings] : [];
  if (headings.length && headings[0].trim() === r.title.trim()) headings.shift();
  return headings.length ? headings.join(" › ") : Array.isArray(r.headings) ? "" : r.section || "";
}

// The page as printed on it ("p. 65") when the PDF says, else its place in the file ("page 8").
function pageText(r) {
  return r.page_label ? `p. ${r.page_label}` : r.page ? `page ${r.page}` : "";
}

function answerBox(r) {
  const a = r.answer;
  const shown = displayed(a.text, isMarkdown(r.doc_id));
  return el("section", { class: "answer-box", "aria-labelledby": "answer-heading" },
    el("h2", { id: "answer-heading", class: "answer-label", text: "Answer" }),
    withLang(el("p", { class: "answer-text" }, ...highlighted(shown.text, termRanges(r.matches, a.start, a.end, shown.at), null)), shown.text),
    el("p", { class: "answer-source" }, "From ",
      withLang(el("a", { href: readerUrl(r.doc_id, [r.start, r.end], [a.start, a.end]), "data-nav": true, text: r.title }), r.title),
      sectionPath(r) ? ` — ${sectionPath(r)}` : "", pageText(r) ? `, ${pageText(r)}` : ""));
}

function resultNode(r, top) {
  const meta = [];
  const section = sectionPath(r);
  if (section) meta.push(section);
  if (pageText(r)) meta.push(pageText(r));
  meta.push(r.doc_id);
  const share = Math.max(0, Math.min(1, r.score / top));
  const passage = displayed(r.text, isMarkdown(r.doc_id));
  const answer = r.answer ? [passage.at(r.answer.start - r.start), passage.at(r.answer.end - r.start)] : null;
  const link = el("a", {
    href: readerUrl(r.doc_id, [r.start, r.end], r.answer ? [r.answer.start, r.answer.end] : null),
    "data-nav": true, class: "result-link", text: r.title,
  });
  return el("li", { class: "result", "data-doc": r.doc_id, "data-chunk": r.chunk_id },
    el("div", { class: "result-head" },
      el("h3", { class: "result-title" }, withLang(link, r.title)),
      el("span", { class: "relevance", title: "Score of this passage; the bar compares it with the best passage" },
        el("span", { class: "bar", "aria-hidden": "true" }, el("span", { class: "fill", style: `width:${(share * 100).toFixed(0)}%` })),
        el("span", { class: "score", text: `score ${r.score.toFixed(3)}` }))),
    withLang(el("p", { class: "meta", text: meta.join(" · ") }), section),
    withLang(el("p", { class: "passage" }, ...highlighted(passage.text, termRanges(r.matches, r.start, r.end, passage.at), answer)), r.text));
}

// ---------- highlighting ----------

// The words to mark in a text that runs from document offset `from` to `to`: the server's matches of the question's
// terms (document offsets) that fall inside it, mapped by `at` into the displayed text; overlapping ones (Chinese
// terms are overlapping pairs of characters) and touching ones joined.
function termRanges(matches, from, to, at) {
  const ranges = [];
  for (const m of Array.isArray(matches) ? matches : []) {
    if (m.start < from || m.end > to) continue;
    const s = at(m.start - from), e = at(m.end - from);
    const last = ranges[ranges.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else if (e > s) ranges.push([s, e]);
  }
  return ranges;
}

// Nodes for `text` with the `terms` ranges in <strong> and, when given, the answering sentence [a, b) in one <mark>.
function highlighted(text, terms, answer) {
  const withTerms = (from, to) => {
    const nodes = [];
    let at = from;
    for (const [s, e] of terms) {
      if (e <= from || s >= to) continue;
      const a = Math.max(s, from), b = Math.min(e, to);
      if (a > at) nodes.push(document.createTextNode(text.slice(at, a)));
      nodes.push(el("strong", { class: "term", text: text.slice(a, b) }));
      at = b;
    }
    if (at < to) nodes.push(document.createTextNode(text.slice(at, to)));
    return nodes;
  };
  if (!answer || answer[0] < 0 || answer[1] > text.length || answer[1] <= answer[0]) return withTerms(0, text.length);
  return [...withTerms(0, answer[0]), el("mark", { class: "answer" }, ...withTerms(answer[0], answer[1])), ...withTerms(answer[1], text.length)];
}

// ---------- documents view ----------

function showDocuments() {
  document.title = "Documents — bayqa";
  input.value = "";
  setStatus("Loading the list of documents…", "loading");
  view.setAttribute("aria-busy", "true");
  view.replaceChildren();
  documentList = null;
  loadDocuments().then((body) => {
    view.removeAttribute("aria-busy");
    const docs = body.documents;
    const heading = el("h2", { text: "Documents" });
    if (!docs.length) {
      setStatus("No documents are indexed yet.", "warn");
      view.replaceChildren(heading, el("p", { class: "hint", text: "Put files in the corpus folder and run bayqa index; they will appear here." }));
      return;
    }
    const chunks = docs.reduce((n, d) => n + d.chunks, 0);
    setStatus(`${docs.length} document${docs.length === 1 ? "" : "s"} indexed, ${chunks} passages.`);
    const rows = docs.map((d) => el("tr", { "data-doc": d.id },
      el("td", { "data-label": "Title" }, withLang(el("a", { href: readerUrl(d.id), "data-nav": true, text: d.title }), d.title),
        el("span", { class: "doc-id", text: d.id })),
      el("td", { "data-label": "Type", text: d.kind }),
      el("td", { "data-label": "Size", text: (d.pages ? `${d.pages} page${d.pages === 1 ? "" : "s"}, ` : "") + formatBytes(d.size) }),
      el("td", { "data-label": "Passages", class: "num", text: String(d.chunks) }),
      el("td", { "data-label": "Added" }, el("time", { datetime: d.added_at, text: formatDate(d.added_at) })),
      el("td", { "data-label": "" }, el("a", { href: `/?doc=${encodeURIComponent(d.id)}`, "data-nav": true, class: "search-in", text: "Search in it",
        "aria-label": `Search in ${d.title}` }))));
    const table = el("table", { class: "documents" },
      el("caption", { class: "visually-hidden", text: "Indexed documents" }),
      el("thead", {}, el("tr", {}, ...["Title", "Type", "Size", "Passages", "Added", ""].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...rows));
    view.replaceChildren(heading, table, el("p", { class: "generation", text: `Index generation ${body.generation}` }));
  }).catch(() => {
    view.removeAttribute("aria-busy");
    showError("The list of documents could not be loaded", "Check that bayqa is running, then try again.");
  });
}

// ---------- reader ----------

function showReader(docId, passage, answer) {
  document.title = "Document — bayqa";
  setStatus("Opening the document…", "loading");
  view.setAttribute("aria-busy", "true");
  view.replaceChildren();
  const controller = new AbortController();
  inFlight = controller;
  fetch(docPath(docId || ""), { signal: controller.signal, headers: { Accept: "application/json" } })
    .then(async (resp) => {
      const body = await resp.json().catch(() => null);
      if (controller.signal.aborted) return;
      view.removeAttribute("aria-busy");
      if (!resp.ok || !body || typeof body.text !== "string") {
        return showError(`The document could not be opened (HTTP ${resp.status})`, body && body.detail);
      }
      renderDocument(body, passage, answer);
    })
    .catch((err) => {
      if (err.name === "AbortError") return;
      view.removeAttribute("aria-busy");
      showError("The server could not be reached", "Check that bayqa is running, then try again.");
    });
}

function renderDocument(doc, passage, answer) {
  document.title = `${doc.title} — bayqa`;
  const shown = displayed(doc.text, doc.kind === "markdown");
  const text = shown.text;
  const valid = passage && passage[1] <= doc.text.length;
  const info = [doc.kind, doc.pages ? `${doc.pages} pages` : formatBytes(doc.size), `${doc.chunks} passages`, `added ${formatDate(doc.added_at)}`];
  const back = el("a", { href: "/", class: "back", text: "← Back" });
  back.addEventListener("click", (event) => {
    if (history.state && history.state.depth > 0) { event.preventDefault(); history.back(); }
  });
  const body = el("div", { class: "doc-text" });
  withLang(body, text.slice(0, 2000));
  if (valid) {
    const [s, e] = passage.map(shown.at);
    const inner = [];
    if (answer && answer[0] >= passage[0] && answer[1] <= passage[1] && answer[1] > answer[0]) {
      const [a, b] = answer.map(shown.at);
      inner.push(text.slice(s, a), el("mark", { class: "answer", text: text.slice(a, b) }), text.slice(b, e));
    } else {
      inner.push(text.slice(s, e));
    }
    body.append(text.slice(0, s), el("span", { class: "passage-flag", "aria-hidden": "true", text: "Found passage" }), el("mark", { id: "passage", class: "passage-mark", tabindex: "-1", "aria-label": "The passage found by your search" }, ...inner), text.slice(e));
  } else {
    body.textContent = text;
  }
  setStatus(valid ? `Showing the passage in “${doc.title}”.` : `“${doc.title}”`);
  view.replaceChildren(el("article", { class: "reader" },
    el("p", { class: "reader-nav" }, back, " · ", el("a", { href: `/?doc=${encodeURIComponent(doc.id)}`, "data-nav": true, text: "Search in this document" })),
    withLang(el("h2", { class: "reader-title", text: doc.title }), doc.title),
    el("p", { class: "meta", text: `${doc.id} · ${info.join(" · ")}` }),
    body));
  const mark = $("passage");
  if (mark) {
    mark.scrollIntoView({ block: "center" });
    mark.focus({ preventScroll: true });
  } else {
    window.scrollTo(0, 0);
  }
}

render();
