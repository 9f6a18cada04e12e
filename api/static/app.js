// leian web page. Plain JS, no dependencies. All server text is put into the page with textContent
// (never innerHTML), so a judgment's text cannot inject markup; the report preview runs in a
// sandboxed iframe without scripts.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORE = "leian.apiKey";
let authOn = true;
let currentReport = null; // {id, sha256}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function headers(json = true) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  const key = $("api-key").value.trim();
  if (authOn && key) h["X-API-Key"] = key;
  return h;
}

async function api(path, options = {}) {
  const resp = await fetch(path, options);
  if (!resp.ok) {
    let msg = `HTTP ${resp.status}`;
    try {
      const body = await resp.json();
      if (body && body.error) msg = `${body.error.message}（${body.error.code}，HTTP ${resp.status}）`;
    } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  return resp;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

// ---------------------------------------------------------------- formatting
function monthsText(m) {
  if (!m) return "";
  const y = Math.floor(m / 12), r = m % 12;
  return (y ? `${y}年` : "") + (r ? `${r}个月` : "");
}

function yuanText(v) {
  return `${Number(v).toLocaleString("zh-CN")}元`;
}

function sentenceText(s) {
  if (!s || !s.kind) return "—";
  let out = s.kind;
  if ((s.kind === "有期徒刑" || s.kind === "拘役" || s.kind === "管制") && s.months) out += monthsText(s.months);
  if (s.probation_months) out += `，缓刑${monthsText(s.probation_months)}`;
  if (s.fine_yuan) out += `，罚金${yuanText(s.fine_yuan)}`;
  return out;
}

const SECTION_NAMES = { facts: "事实", reasoning: "本院认为", judgment: "判决", text: "全文" };
const COMPONENT_NAMES = {
  bm25: "关键词", dense: "语义", fused: "融合", structure: "要素", charge: "罪名", statute: "法条",
  circumstance: "情节", amount: "数额", court: "审级", recent: "近年", score: "综合",
};

// ---------------------------------------------------------------- rendering hits
function renderPassage(p) {
  const box = el("p", { class: "passage" }, el("span", { class: "sec" }, SECTION_NAMES[p.section] || p.section));
  box.append("…");
  for (const [text, matched] of p.segments) box.append(matched ? el("mark", {}, text) : document.createTextNode(text));
  box.append("…");
  return box;
}

function renderHit(h) {
  const tierClass = h.tier === "指导性案例" ? "tier guiding" : "tier";
  const head = el(
    "div", { class: "hit-head" },
    el("span", { class: "rank" }, h.rank),
    el("span", { class: "case-no" }, h.case_number || h.title || h.id),
    el("span", { class: tierClass }, h.tier),
    el("span", { class: "score", title: "综合相似度" }, `相似度 ${h.score.toFixed(3)}`),
  );
  const meta = el("div", { class: "hit-meta" });
  for (const part of [h.court, h.date, (h.charges || []).join("、")]) if (part) meta.append(el("span", {}, part));
  const sentence = el("div", { class: "sentence" }, el("b", {}, "判处："), sentenceText(h.sentence));
  const reasons = el("ul", { class: "reasons" });
  for (const r of h.reasons || []) reasons.append(el("li", {}, r));
  const comps = el("div", { class: "components" });
  for (const [k, v] of Object.entries(h.components || {})) {
    comps.append(el("span", { title: k }, `${COMPONENT_NAMES[k] || k} ${Number(v).toFixed(3)}`));
  }
  const li = el("li", { class: "hit", "data-id": h.id }, head, meta, sentence, reasons, comps);
  for (const p of h.passages || []) li.append(renderPassage(p));
  return li;
}

function renderSearch(res) {
  const list = $("hits");
  list.replaceChildren(...res.hits.map(renderHit));
  $("hit-count").textContent = `(${res.hits.length})`;
  $("hits-empty").hidden = res.hits.length > 0;
  if (!res.hits.length) $("hits-empty").textContent = "没有找到符合条件的案例，请放宽检索范围。";
  const info = $("query-info");
  const predicted = (res.charges_predicted || []).slice(0, 3)
    .map((c) => `${c.charge}（${(c.probability * 100).toFixed(0)}%）`).join("、");
  info.replaceChildren(
    el("div", {}, el("b", {}, "适用罪名"), (res.charges_used || []).join("、") || "—",
      res.charges_given ? "（用户指定）" : predicted ? `（预测：${predicted}）` : ""),
    el("div", {}, el("b", {}, "检索词"), (res.query_terms || []).slice(0, 30).join(" ")),
  );
  info.hidden = false;
}

// ---------------------------------------------------------------- the request
function numberOrNull(id) {
  const v = $(id).value.trim();
  return v === "" ? null : Number(v);
}

function buildRequest() {
  const facts = $("facts").value;
  if (!facts.trim()) throw new Error("请填写案件事实。");
  const body = { facts, top_k: numberOrNull("top-k") || 10, filters: {} };
  const charges = $("charges").value.split(/[,，、;；\s]+/).map((s) => s.trim()).filter(Boolean);
  if (charges.length) body.charges = charges;
  if ($("court-level").value) body.filters.court_level = [$("court-level").value];
  if (numberOrNull("year-from")) body.filters.year_from = numberOrNull("year-from");
  if (numberOrNull("year-to")) body.filters.year_to = numberOrNull("year-to");
  return body;
}

function reportExtras(body) {
  const out = { ...body };
  const kind = $("p-kind").value;
  if (kind) {
    const p = { kind };
    for (const [field, id] of [["months", "p-months"], ["probation_months", "p-probation"], ["fine_yuan", "p-fine"]]) {
      const v = numberOrNull(id);
      if (v !== null) p[field] = v;
    }
    out.proposed_sentence = p;
  }
  const name = $("r-name").value.trim(), org = $("r-org").value.trim();
  if (name || org) out.requester = { name: name || null, org: org || null };
  return out;
}

async function runSearch(event) {
  event.preventDefault();
  showError("");
  let body;
  try {
    body = buildRequest();
  } catch (e) {
    showError(e.message);
    return;
  }
  if (authOn) localStorage.setItem(KEY_STORE, $("api-key").value.trim());
  const button = $("submit");
  button.disabled = true;
  button.textContent = "正在检索…";
  $("case-form").classList.add("busy");
  try {
    const search = api("/v1/search", { method: "POST", headers: headers(), body: JSON.stringify(body) })
      .then((r) => r.json()).then(renderSearch);
    const report = api("/v1/reports", { method: "POST", headers: headers(), body: JSON.stringify(reportExtras(body)) })
      .then((r) => r.json()).then(loadReport);
    await Promise.all([search, report]);
  } catch (e) {
    showError(e.message);
  } finally {
    button.disabled = false;
    button.textContent = "检索类案并生成报告";
    $("case-form").classList.remove("busy");
  }
}

async function loadReport(report) {
  currentReport = { id: report.id, sha256: report.sha256 };
  $("report-meta").textContent = `报告编号 ${report.id} · SHA-256 ${report.sha256.slice(0, 16)}…`;
  const html = await (await api(`/v1/reports/${encodeURIComponent(report.id)}?format=html`, { headers: headers(false) })).text();
  $("report-frame").srcdoc = html;
  $("dl-docx").disabled = false;
  $("dl-md").disabled = false;
}

async function download(format, ext) {
  if (!currentReport) return;
  showError("");
  try {
    const resp = await api(`/v1/reports/${encodeURIComponent(currentReport.id)}?format=${format}`, { headers: headers(false) });
    const blob = await resp.blob();
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: `类案检索报告-${currentReport.id}.${ext}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    showError(e.message);
  }
}

async function uploadFile(event) {
  const file = event.target.files[0];
  if (!file) return;
  showError("");
  const form = new FormData();
  form.append("file", file);
  try {
    const resp = await api("/v1/extract-text", { method: "POST", headers: headers(false), body: form });
    const data = await resp.json();
    $("facts").value = data.text;
    updateCount();
  } catch (e) {
    showError(`无法读取文件：${e.message}`);
  } finally {
    event.target.value = "";
  }
}

function updateCount() {
  $("facts-count").textContent = `${$("facts").value.length.toLocaleString("zh-CN")} 字`;
}

function switchTab(name) {
  for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t.dataset.tab === name);
  $("tab-hits").hidden = name !== "hits";
  $("tab-report").hidden = name !== "report";
}

async function checkHealth() {
  const status = $("status");
  try {
    const resp = await fetch("/healthz");
    const data = await resp.json();
    if (!resp.ok) throw new Error(data.error ? data.error.message : `HTTP ${resp.status}`);
    authOn = data.auth;
    $("key-row").hidden = !authOn;
    status.className = "status ok";
    status.textContent = `服务正常 · 案例库 ${data.doc_count.toLocaleString("zh-CN")} 篇 · v${data.version}`;
    $("platform").textContent = `leian ${data.version} · ${data.backend} 检索后端`;
  } catch (e) {
    status.className = "status down";
    status.textContent = `服务不可用：${e.message}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("api-key").value = localStorage.getItem(KEY_STORE) || "";
  $("case-form").addEventListener("submit", runSearch);
  $("upload").addEventListener("change", uploadFile);
  $("facts").addEventListener("input", updateCount);
  $("dl-docx").addEventListener("click", () => download("docx", "docx"));
  $("dl-md").addEventListener("click", () => download("md", "md"));
  for (const t of document.querySelectorAll(".tab")) t.addEventListener("click", () => switchTab(t.dataset.tab));
  checkHealth();
});
