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
  circumstance: "情节", amount: "数额", elements: "量刑要素", court: "审级", recent: "近年", score: "综合",
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

// ---------------------------------------------------------------- 量刑测算
// The circumstances the estimate counts (the sentencing model's list, in its order); stage and role
// ones also set the elements' 犯罪形态 and 共同犯罪地位.
const CIRCUMSTANCES = ["自首", "坦白", "当庭认罪", "认罪认罚", "立功", "重大立功", "退赃", "退赔", "赔偿", "谅解",
  "刑事和解", "累犯", "前科", "未成年", "初犯", "从犯", "胁从犯", "未遂", "中止", "预备"];
const STAGES = ["未遂", "中止", "预备"];
const ROLES = ["从犯", "胁从犯"];
const INJURY_GRADES = ["轻微伤", "轻伤二级", "轻伤一级", "重伤二级", "重伤一级"];
const CN_DIGITS = "零一二三四五六七八九十";

function termText(m) {
  // whole months, half up, as a judgment writes a term (the server's months_text)
  if (m === null || m === undefined) return "—";
  const n = Math.floor(m + 0.5);
  const y = Math.floor(n / 12), r = n % 12;
  return y ? `${y}年` + (r ? `${r}个月` : "") : `${r}个月`;
}

function statutoryText(est) {
  const low = est.statutory_min, high = est.statutory_max;
  if ((low === null || low === undefined) && (high === null || high === undefined)) return "";
  const tier = est.tier_level ? `第${CN_DIGITS[est.tier_level] || est.tier_level}档：` : "";
  if (low === null || low === undefined) return `${tier}${termText(high)}以下（有减轻处罚情节或档次待定）`;
  return `${tier}${termText(low)}${high ? " 至 " + termText(high) : "以上"}`;
}

function effectText(pct) {
  if (pct === null || pct === undefined) return "—";
  return `${pct > 0 ? "+" : ""}${pct.toFixed(0)}%`;
}

function renderEstimate(est) {
  const box = el("div", { class: "est-result" });
  if (est.months === null || est.months === undefined) {
    box.append(el("div", { class: "est-main none" }, el("span", { class: "est-median" }, "无法测算")));
  } else {
    box.append(el(
      "div", { class: "est-main" },
      el("span", { class: "est-label" }, "中位数"),
      el("span", { class: "est-median" }, termText(est.months)),
      el("span", { class: "est-range" }, `80%区间：${termText(est.low_months)} 至 ${termText(est.high_months)}`),
    ));
  }
  const statutory = statutoryText(est);
  if (statutory) {
    box.append(el("div", { class: "est-statutory" }, el("b", {}, "法定刑幅度"), statutory,
      est.clipped ? el("span", { class: "clipped" }, "已限于法定刑幅度内") : null));
  }
  box.append(el("p", { class: "est-basis" }, est.basis));
  if (est.tier_rule) box.append(el("p", { class: "est-rule" }, el("b", {}, "档次依据"), est.tier_rule));
  if ((est.lines || []).length) {
    const body = el("tbody");
    for (const line of est.lines) {
      const effect = line.factor === "基准" ? termText(line.months) : effectText(line.effect_pct);
      body.append(el("tr", { class: line.note ? "noted" : "" },
        el("td", {}, line.factor), el("td", { class: "num" }, effect), el("td", {}, line.guidance),
        el("td", {}, line.note || "")));
    }
    box.append(el("table", { class: "est-lines" },
      el("thead", {}, el("tr", {}, el("th", {}, "因素"), el("th", {}, "基准刑期 / 对刑期的影响"),
        el("th", {}, "量刑指导意见"), el("th", {}, "说明"))),
      body));
  }
  if (est.model) box.append(el("div", { class: "est-model" }, `${est.model} · 依本索引${est.n_cases}件判决`));
  return box;
}

function numberField(name, label, value, attrs = {}) {
  return el("label", { class: "field" }, el("span", {}, label),
    el("input", { type: "number", name, min: "0", value: value === null || value === undefined ? "" : value, ...attrs }));
}

function renderEditor(est) {
  const e = est.elements || {};
  const form = el("form", { class: "est-edit", novalidate: "" });
  const grid = el("div", { class: "est-grid" },
    numberField("amount_yuan", "数额（元）", e.amount_yuan, { step: "any" }),
    numberField("offence_count", "次数", e.offence_count, { min: "1", step: "1" }),
    numberField("bac_mg_per_100ml", "血液酒精含量（mg/100ml）", e.bac_mg_per_100ml, { step: "any" }),
    numberField("deaths", "死亡人数", e.deaths, { step: "1" }),
  );
  const drugs = (e.drugs || []).length ? e.drugs : [{ kind: "", grams: null }];
  drugs.forEach((d, i) => {
    grid.append(el("label", { class: "field" }, el("span", {}, `毒品种类${drugs.length > 1 ? i + 1 : ""}`),
      el("input", { type: "text", name: "drug_kind", value: d.kind || "", placeholder: "如 甲基苯丙胺" })));
    grid.append(numberField("drug_grams", "毒品数量（克）", d.grams, { step: "any" }));
  });
  const injuries = el("div", { class: "est-grid injuries" });
  for (const g of INJURY_GRADES) {
    const n = (e.injuries || []).filter((x) => x === g).length;
    injuries.append(numberField(`injury:${g}`, `${g}（人）`, n || "", { step: "1" }));
  }
  const ticked = new Set(est.circumstances || []);
  if (STAGES.includes(e.stage)) ticked.add(e.stage);
  if (ROLES.includes(e.role)) ticked.add(e.role);
  const names = [...CIRCUMSTANCES, ...[...ticked].filter((c) => !CIRCUMSTANCES.includes(c))];
  const boxes = el("div", { class: "est-circs" });
  for (const c of names) {
    const input = el("input", { type: "checkbox", name: "circumstance", value: c });
    input.checked = ticked.has(c);
    boxes.append(el("label", { class: "circ" }, input, c));
  }
  form.append(
    el("div", { class: "est-sub" }, "要素（由事实提取，可修改）"), grid, injuries,
    el("div", { class: "est-sub" }, "量刑情节（勾选适用的情节）"), boxes,
    el("div", { class: "est-actions" },
      el("button", { type: "submit", class: "primary recompute" }, "重新测算"),
      el("span", { class: "est-status", "aria-live": "polite" })),
    el("div", { class: "error", role: "alert", hidden: "" }),
  );
  return form;
}

function editedElements(form, original) {
  const num = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const field = (name) => num(form.elements[name]);
  const e = { ...original };
  for (const name of ["amount_yuan", "offence_count", "bac_mg_per_100ml", "deaths"]) e[name] = field(name);
  const kinds = [...form.querySelectorAll('input[name="drug_kind"]')];
  const grams = [...form.querySelectorAll('input[name="drug_grams"]')];
  e.drugs = kinds.map((k, i) => ({ kind: k.value.trim(), grams: num(grams[i]) }))
    .filter((d) => d.kind && d.grams !== null);
  e.injuries = [];
  for (const g of INJURY_GRADES) {
    const n = num(form.elements[`injury:${g}`]) || 0;
    for (let i = 0; i < n; i++) e.injuries.push(g);
  }
  const ticked = [...form.querySelectorAll('input[name="circumstance"]:checked')].map((c) => c.value);
  const stage = STAGES.find((s) => ticked.includes(s));
  e.stage = stage || (STAGES.includes(original.stage) ? "既遂" : original.stage ?? null);
  const role = ROLES.find((r) => ticked.includes(r));
  e.role = role || (ROLES.includes(original.role) ? null : original.role ?? null);
  return { elements: e, circumstances: ticked };
}

function sentencingProvince() {
  const v = $("s-province").value.trim();
  return v || null;
}

async function recompute(card, form) {
  const status = form.querySelector(".est-status");
  const error = form.querySelector(".error");
  error.hidden = true;
  const { elements, circumstances } = editedElements(form, card.estimate.elements || {});
  const body = { charges: [card.estimate.charge], elements, circumstances };
  const province = sentencingProvince();
  if (province) body.province = province;
  const button = form.querySelector(".recompute");
  button.disabled = true;
  status.textContent = "正在测算…";
  try {
    const resp = await api("/v1/sentencing", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    const est = (await resp.json()).estimates[0];
    card.estimate = est;
    card.node.querySelector(".est-result").replaceWith(renderEstimate(est));
    status.textContent = "已按修改后的要素与情节重新测算";
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
    status.textContent = "";
  } finally {
    button.disabled = false;
  }
}

function renderSentencing(res) {
  const list = $("estimates");
  const cards = (res.estimates || []).map((est) => {
    const node = el("article", { class: "est-card", "data-charge": est.charge },
      el("header", { class: "est-head" }, el("h3", {}, est.charge),
        el("span", { class: "tier" }, res.charges_from === "given" ? "用户指定罪名" : "预测罪名")),
      renderEstimate(est));
    const card = { node, estimate: est };
    const form = renderEditor(est);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      recompute(card, form);
    });
    node.append(form);
    return node;
  });
  list.replaceChildren(...cards);
  $("est-count").textContent = cards.length ? `(${cards.length})` : "";
  $("estimates-empty").hidden = cards.length > 0;
  if (!cards.length) $("estimates-empty").textContent = "未能确定罪名，无法测算。";
}

function sentencingRequest(body) {
  const out = { facts: body.facts };
  if (body.charges) out.charges = body.charges;
  const province = sentencingProvince();
  if (province) out.province = province;
  return out;
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
    const sentencing = api("/v1/sentencing", { method: "POST", headers: headers(), body: JSON.stringify(sentencingRequest(body)) })
      .then((r) => r.json()).then(renderSentencing);
    await Promise.all([search, report, sentencing]);
  } catch (e) {
    showError(e.message);
  } finally {
    button.disabled = false;
    button.textContent = "检索类案并生成报告";
    $("case-form").classList.remove("busy");
  }
}

// The preview iframe (srcdoc) inherits this page's Content-Security-Policy: the report's <style> is
// allowed by its hash (api/security_headers.py), but a chart's inline SVG paints itself with style
// attributes, which the policy refuses. Each chart is shown as an SVG image instead: an image keeps its
// own styles. Without width and height the image takes the width of the page, at the chart's ratio.
// Text, not DOMParser: parsing the report here would hold its styles against the policy too. The report's
// own text is escaped and its JSON data has no "<", so "<svg" and "</svg>" can only be its charts.
function previewHtml(html) {
  return html.replace(/<svg\b([^>]*)>([\s\S]*?)<\/svg>/g, (_, attrs, body) => {
    const svg = `<svg${attrs.replace(/\s(width|height)="[^"]*"/g, "")}>${body}</svg>`;
    // alt="": the figure around it has the chart's description (role="img", aria-label)
    return `<img alt="" src="data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}">`;
  });
}

async function loadReport(report) {
  currentReport = { id: report.id, sha256: report.sha256 };
  $("report-meta").textContent = `报告编号 ${report.id} · SHA-256 ${report.sha256.slice(0, 16)}…`;
  const html = await (await api(`/v1/reports/${encodeURIComponent(report.id)}?format=html`, { headers: headers(false) })).text();
  $("report-frame").srcdoc = previewHtml(html);
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
  for (const t of document.querySelectorAll(".tab")) {
    t.classList.toggle("active", t.dataset.tab === name);
    $(`tab-${t.dataset.tab}`).hidden = t.dataset.tab !== name;
  }
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
