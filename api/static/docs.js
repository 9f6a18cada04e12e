// leian API docs page (/docs): renders /openapi.json with plain JS. A file, not an inline <script>:
// the Content-Security-Policy allows only scripts served by the service.
"use strict";
const el = (tag, cls, text) => { const n = document.createElement(tag); if (cls) n.className = cls; if (text !== undefined) n.textContent = text; return n; };
const refName = (s) => (s && s.$ref ? s.$ref.split("/").pop() : null);
function typeOf(s) {
  if (!s) return "";
  if (s.$ref) return refName(s);
  if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === "array") return `${typeOf(s.items)}[]`;
  return s.type || "object";
}
function table(rows, head) {
  const t = el("table"); const tr = el("tr"); head.forEach((h) => tr.append(el("th", null, h))); t.append(tr);
  rows.forEach((r) => { const row = el("tr"); r.forEach((c) => row.append(el("td", null, c))); t.append(row); });
  return t;
}
fetch("/openapi.json").then((r) => r.json()).then((spec) => {
  document.getElementById("title").textContent = `${spec.info.title} ${spec.info.version}`;
  document.getElementById("desc").textContent = spec.info.description || "";
  const ops = document.getElementById("ops");
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const d = el("details", "op"); d.id = op.operationId || `${method}-${path}`;
      const s = el("summary"); s.append(el("span", `method ${method}`, method.toUpperCase()), el("span", "path", path), el("span", "summary", op.summary || ""));
      d.append(s);
      const b = el("div", "body");
      if (op.description) b.append(el("p", null, op.description));
      if (op.parameters && op.parameters.length) {
        b.append(el("strong", null, "参数"));
        b.append(table(op.parameters.map((p) => [p.name, p.in, typeOf(p.schema), p.required ? "必填" : "可选", p.description || ""]), ["名称", "位置", "类型", "", "说明"]));
      }
      if (op.requestBody) {
        const c = op.requestBody.content || {};
        b.append(el("strong", null, "请求体"));
        b.append(table(Object.entries(c).map(([ct, v]) => [ct, typeOf(v.schema)]), ["Content-Type", "模型"]));
      }
      b.append(el("strong", null, "响应"));
      b.append(table(Object.entries(op.responses || {}).map(([code, r]) => [code, r.description || "", Object.entries(r.content || {}).map(([ct, v]) => `${ct} ${typeOf(v.schema)}`).join("; ")]), ["状态", "说明", "内容"]));
      if (op.security) b.append(el("p", null, "需要 X-API-Key"));
      d.append(b); ops.append(d);
    }
  }
  const schemas = document.getElementById("schemas");
  for (const [name, s] of Object.entries((spec.components || {}).schemas || {})) {
    const d = el("details", "op"); d.id = `schema-${name}`;
    const sum = el("summary"); sum.append(el("span", "path", name), el("span", "summary", s.description || "")); d.append(sum);
    const b = el("div", "body");
    const req = new Set(s.required || []);
    b.append(table(Object.entries(s.properties || {}).map(([k, v]) => [k, typeOf(v), req.has(k) ? "必填" : "可选", v.description || ""]), ["字段", "类型", "", "说明"]));
    d.append(b); schemas.append(d);
  }
}).catch((e) => { document.getElementById("ops").textContent = `无法加载 /openapi.json：${e}`; });
