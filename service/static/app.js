// tracuu's page: one script, no framework, no CDN. Every view has its own address in the URL's fragment
// (#tim?q=…, #hoi?q=…, #van-ban/ID?tu=…&den=…, #chi-tieu?key=…, #tai-len), so links can be shared and the
// back button works. The JSON keeps the API's English error codes; people read Vietnamese here.
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const FILTERS = ["province", "locality", "level", "doc_type", "year_from", "year_to"];
const PANELS = ["home", "results", "similar", "indicators", "upload", "document"];
const KIND_LABELS = {target: "chỉ tiêu", result: "kết quả", estimate: "ước thực hiện", plan: "kế hoạch", growth: "tốc độ tăng"};
const PERIOD_LABELS = {year: "cả năm", half_first: "6 tháng đầu năm", half_second: "6 tháng cuối năm", five_year: "cả giai đoạn"};
const ERRORS = {
  network: "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.",
  not_found: "Không tìm thấy (văn bản hoặc đoạn này có thể đã bị xóa).",
  invalid_request: "Yêu cầu chưa hợp lệ.",
  bad_request: "Yêu cầu chưa hợp lệ.",
  unauthorized: "Cần khóa truy cập (API key) để thêm hoặc xóa văn bản.",
  forbidden: "Máy chủ chưa đặt khóa truy cập nên chỉ nhận văn bản gửi từ chính máy chủ.",
  too_large: "Tệp quá lớn so với giới hạn của máy chủ.",
  unsupported_type: "Định dạng tệp không được hỗ trợ (chỉ nhận .txt, .md, .docx, .pdf).",
  index_mismatch: "Chỉ mục được xây bằng mô hình khác; cần xây lại chỉ mục.",
  snapshot_conflict: "Chỉ mục đang được cập nhật; xin thử lại sau giây lát.",
  rate_limited: "Quá nhiều yêu cầu; xin chờ một chút.",
  internal_error: "Lỗi máy chủ; xin thử lại sau.",
};
const REJECTED = {
  unsupported_type: "định dạng không hỗ trợ (chỉ nhận .txt, .md, .docx, .pdf)",
  too_large: "tệp quá lớn",
  invalid: "không đọc được nội dung (tệp rỗng, nhị phân, ảnh quét hoặc hỏng)",
};

// --- formats -----------------------------------------------------------------------------------------------

function vnNumber(value, decimals = 2) {
  // 2809.228 → "2.809,23": "." groups thousands and "," marks decimals, as the documents write them.
  if (value === null || value === undefined || value === "") return "";
  const [whole, part = ""] = Math.abs(Number(value)).toFixed(decimals).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  const fraction = part.replace(/0+$/, "");
  return (Number(value) < 0 ? "-" : "") + grouped + (fraction ? "," + fraction : "");
}

function vnDate(iso) {
  // "2022-12-16" → "16/12/2022"; "2026-11-21T08:30:00Z" → "21/11/2026 lúc 08:30".
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(iso || "");
  if (!m) return "";
  return `${m[3]}/${m[2]}/${m[1]}` + (m[4] ? ` lúc ${m[4]}:${m[5]}` : "");
}

function placeLabel(doc) {
  const province = doc.province && doc.province !== doc.locality ? doc.province : null;
  const now = doc.province_current && doc.province_current !== doc.province ? ` (nay thuộc ${doc.province_current})` : "";
  return [doc.locality, province].filter(Boolean).join(", ") + (doc.province || doc.locality ? now : "");
}

function docTitle(doc) {
  // The text's own title when it has one; else type, number, issuer and date; the file name only as a last resort.
  const kind = [doc.doc_type, doc.number].filter(Boolean).join(" ");
  if (doc.title) return kind ? `${kind}: ${doc.title}` : doc.title;
  const made = [kind || "Văn bản", doc.issuer ? `của ${doc.issuer}` : "", doc.issued_date ? `ngày ${vnDate(doc.issued_date)}` : ""];
  return doc.doc_type || doc.issuer || doc.issued_date ? made.filter(Boolean).join(" ") : `Văn bản ${doc.source}`;
}

function docLine(doc) {
  return [placeLabel(doc), doc.issuer, doc.issued_date ? "ngày " + vnDate(doc.issued_date) : ""].filter(Boolean).map(esc).join(" · ");
}

function marked(text, offset, spans, cite) {
  // The text with <mark> on each [start, end) of spans (offsets into the stored document, as the API gives).
  let html = "", at = 0;
  for (const [start, end] of spans || []) {
    const s = Math.max(start - offset, at), e = Math.min(end - offset, text.length);
    if (e <= s) continue;
    html += esc(text.slice(at, s)) + `<mark${cite ? ' class="cite"' : ""}>` + esc(text.slice(s, e)) + "</mark>";
    at = e;
  }
  return html + esc(text.slice(at));
}

// --- talking to the API ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(code, detail, status) { super(ERRORS[code] || `Có lỗi xảy ra (${code}).`); this.code = code; this.detail = detail; this.status = status; }
}

async function api(path, options = {}) {
  let response;
  try { response = await fetch(path, options); } catch (err) { throw new ApiError("network", String(err), 0); }
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(error.code || `http_${response.status}`, error.message || "", response.status);
  }
  return data;
}

const post = (path, body) => api(path, {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});

function status(text, kind) {
  $("status").textContent = text || "";
  $("status").className = "status" + (kind ? " " + kind : "");
}

function showError(err) {
  const detail = err.code === "invalid_request" && err.detail ? ` (${err.detail})` : "";
  status(err.message + detail, "error");
}

async function busy(text, work) {
  // One request at a time from the page: buttons off and a spinner until it ends, then a clear outcome.
  const buttons = [...document.querySelectorAll("button, input[type=submit]")];
  const before = buttons.map((b) => b.disabled);
  buttons.forEach((b) => { b.disabled = true; });
  document.body.setAttribute("aria-busy", "true");
  status(text, "busy");
  try { await work(); } catch (err) { if (err instanceof ApiError) showError(err); else { console.error(err); status("Có lỗi xảy ra trên trang; xin tải lại.", "error"); } }
  finally {
    buttons.forEach((b, i) => { b.disabled = before[i]; });
    document.body.removeAttribute("aria-busy");
    if ($("status").classList.contains("busy")) status("");
    refreshUploadButton();
  }
}

// --- panels and addresses ----------------------------------------------------------------------------------

const shown = {};  // panel → the address it currently shows: coming back to it does not ask the server again

function showPanel(name, address) {
  for (const panel of PANELS) $("panel-" + panel).hidden = panel !== name;
  shown[name] = address;
  const nav = {home: "home", indicators: "indicators", upload: "upload"}[name];
  document.querySelectorAll("nav a").forEach((a) => {
    if (a.dataset.nav === nav) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
}

function parseHash() {
  const raw = decodeURIComponent(location.hash.slice(1).split("?")[0] || "");
  const params = new URLSearchParams(location.hash.includes("?") ? location.hash.slice(location.hash.indexOf("?") + 1) : "");
  const [view, ...rest] = raw.split("/");
  return {view, id: rest.join("/"), params};
}

function go(address, replace) {
  if (location.hash === address) route();
  else if (replace) location.replace(address);
  else location.hash = address;
}

function filtersFromForm() {
  const f = {};
  for (const key of FILTERS) {
    const v = $("f-" + key).value;
    if (v) f[key] = key.startsWith("year") ? Number(v) : v;
  }
  return f;
}

function filtersToForm(params) {
  for (const key of FILTERS) {
    const select = $("f-" + key), value = params.get(key) || "";
    if (value && ![...select.options].some((o) => o.value === value)) select.add(new Option(value, value));
    select.value = value;
  }
  if (params.get("locality") || params.get("province")) fillLocalities(params.get("locality") || "");
  countFilters();
}

function withFilters(params) {
  for (const [key, value] of Object.entries(filtersFromForm())) params.set(key, value);
  return params;
}

function countFilters() {
  const n = Object.keys(filtersFromForm()).length;
  $("filter-count").textContent = n ? `(${n} đang áp dụng)` : "";
}

async function route() {
  const {view, id, params} = parseHash();
  const address = location.hash || "#";
  if (params.has("q")) $("q").value = params.get("q");
  $("collapse").checked = params.get("gom") === "1";
  if (["tim", "hoi", "chi-tieu"].includes(view)) filtersToForm(params);
  if (view === "van-ban" && id) return openDocument(id, params, address);
  if (shown[viewPanel(view)] === address && view !== "") return showPanel(viewPanel(view), address);
  if (view === "tim") return runSearch(params, address);
  if (view === "hoi") return runAsk(params, address);
  if (view === "tuong-tu") return showSimilar(params.get("doan"), address);
  if (view === "chi-tieu") return showIndicators(params, address);
  if (view === "tai-len") { status(""); return showPanel("upload", address); }
  status("");
  showPanel("home", address);
}

function viewPanel(view) {
  return {tim: "results", hoi: "results", "tuong-tu": "similar", "chi-tieu": "indicators", "tai-len": "upload", "van-ban": "document"}[view] || "home";
}

// --- search and answers ------------------------------------------------------------------------------------

function resultCard(r) {
  const lead = r.lead || {start: r.start, end: r.end};
  const leadText = r.text.slice(lead.start - r.start, lead.end - r.start);
  const wholeIsLead = leadText.trim() === r.text.trim();
  const href = `#van-ban/${encodeURIComponent(r.document.id)}?tu=${lead.start}&den=${lead.end}`;
  return `<article class="card result" data-chunk="${esc(r.chunk_id)}">
    <a class="doc-title open-doc" href="${href}">${esc(docTitle(r.document))}</a>
    <div class="meta">${esc(placeLabel(r.document))}</div>
    <div class="section">${esc(r.section || "Phần mở đầu")}</div>
    <p class="lead">${marked(leadText, lead.start, r.highlights)}</p>
    ${wholeIsLead ? "" : `<details class="rest"><summary>Cả đoạn</summary><div class="passage">${marked(r.text, r.start, r.highlights)}</div></details>`}
    ${r.more_in_document ? `<div class="more">và ${vnNumber(r.more_in_document)} đoạn khác trong văn bản này cũng phù hợp</div>` : ""}
    <div class="actions"><a class="open-doc" href="${href}">Xem văn bản</a>
      <a class="similar" href="#tuong-tu?doan=${encodeURIComponent(r.chunk_id)}">Tương tự ở địa phương khác</a></div>
  </article>`;
}

function searchAddress(view, extra = {}) {
  const params = withFilters(new URLSearchParams({q: $("q").value.trim()}));
  if ($("collapse").checked && view === "tim") params.set("gom", "1");
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return `#${view}?${params}`;
}

async function runSearch(params, address) {
  const query = params.get("q") || "";
  if (!query.trim()) return showPanel("home", address);
  const k = Math.min(100, Number(params.get("k")) || 10);
  const collapse = params.get("gom") === "1";
  await busy("Đang tìm…", async () => {
    const body = {query, k, filters: filtersFromForm()};
    if (collapse) body.collapse = "document";
    const data = await post("/search", body);
    const unit = collapse ? "văn bản" : "đoạn";
    const understood = (data.understood_as ? ` · Đã hiểu: ${data.understood_as}` : "")
      + (data.also_read_as ? ` · Đọc thêm: ${data.also_read_as}` : "");
    $("answer").innerHTML = "";
    $("results").innerHTML = data.results.length
      ? (collapse ? `<h2>Những văn bản (nơi) đã nói về việc này</h2>` : "") + data.results.map(resultCard).join("")
      : `<p class="card">Không tìm thấy đoạn nào. Thử bỏ bớt bộ lọc hoặc dùng từ khác.</p>`;
    $("btn-more").hidden = data.results.length < k || k >= 100;
    $("btn-more").dataset.k = String(k + 10);
    showPanel("results", address);
    status(`${vnNumber(data.results.length)} ${unit} phù hợp${understood}`);
  });
}

function answerCard(data) {
  if (!data.answer) {
    return `<article class="card no-answer" id="answer-card"><div class="answer-text">${esc(data.message || "Chưa tìm được câu trả lời có trích dẫn.")}</div>
      <p class="meta">Không đưa ra con số khi văn bản không nói rõ; các đoạn gần nhất ở dưới.</p></article>`;
  }
  const ctx = data.context || {};
  const when = [ctx.kind_label, ctx.year ? `năm ${ctx.year}` : ""].filter(Boolean).join(" ");
  const context = [ctx.place ? placeLabel({locality: ctx.place, province: ctx.province}) : "", when, ctx.document && ctx.document.label].filter(Boolean);
  const cite = data.citations[0];
  const items = (data.items || []).map((item) => `<li><strong>${esc(item.place || "")}</strong>: ${esc(item.text)}
      <a class="open-doc" href="#van-ban/${encodeURIComponent(item.citation.document.id)}?tu=${item.citation.start}&den=${item.citation.end}">nguồn</a></li>`).join("");
  return `<article class="card" id="answer-card">
    <div class="answer-text answer">${esc(items ? "Các nơi đã quyết định:" : data.answer)}</div>
    ${items ? `<ul class="items">${items}</ul>` : ""}
    <div class="answer-context">${context.map(esc).join(" · ")}</div>
    ${cite && !items ? `<blockquote class="quote">${esc(cite.quote)}</blockquote>
      <div class="section">${esc(cite.section)}</div>
      <div class="actions"><a class="open-doc" href="#van-ban/${encodeURIComponent(cite.document.id)}?tu=${cite.start}&den=${cite.end}">Xem nguồn trong văn bản</a></div>` : ""}
    <div class="meta">Độ tin cậy: ${vnNumber(Math.round((data.confidence || 0) * 100), 0)} %</div>
  </article>`;
}

async function runAsk(params, address) {
  const question = params.get("q") || "";
  if (!question.trim()) return showPanel("home", address);
  await busy("Đang tìm câu trả lời…", async () => {
    const data = await post("/ask", {question, k: 5, filters: filtersFromForm()});
    $("answer").innerHTML = answerCard(data);
    $("results").innerHTML = data.passages.length ? `<h2>Các đoạn liên quan</h2>` + data.passages.map(resultCard).join("") : "";
    $("btn-more").hidden = true;
    showPanel("results", address);
    status(data.answer ? "Đã tìm thấy câu trả lời, kèm dòng trích dẫn." : "Chưa có câu trả lời chắc chắn.");
  });
}

async function showSimilar(chunkId, address) {
  if (!chunkId) return showPanel("home", address);
  await busy("Đang tìm ở địa phương khác…", async () => {
    const data = await post("/similar", {chunk_id: chunkId, k: 10});
    const groups = data.groups.map((g) => `<div class="group"><h3>${esc(placeLabel({locality: g.locality, province: g.province}) || "Không rõ địa phương")}</h3>
       ${g.results.map(resultCard).join("")}</div>`).join("");
    $("panel-similar").innerHTML = `<h2>Quyết định tương tự ở địa phương khác</h2>` + (groups || `<p class="card">Không tìm thấy văn bản tương tự ở nơi khác.</p>`);
    showPanel("similar", address);
    status(`${vnNumber(data.results.length)} văn bản ở ${vnNumber(data.groups.length)} địa phương`);
  });
}

// --- documents ---------------------------------------------------------------------------------------------

async function openDocument(id, params, address) {
  const start = Number(params.get("tu")), end = Number(params.get("den"));
  await busy("Đang mở văn bản…", async () => {
    const data = await api("/documents/" + encodeURIComponent(id));
    const doc = data.document, text = data.text;
    const cited = Number.isFinite(start) && Number.isFinite(end) && end > start && params.has("tu");
    $("doc-title").textContent = docTitle(doc);
    $("doc-meta").innerHTML = [docLine(doc), doc.signer ? "Người ký: " + esc(doc.signer) : "", `Tệp: ${esc(doc.source)}`].filter(Boolean).join("<br>");
    $("doc-text").innerHTML = cited ? marked(text, 0, [[start, end]], true).replace("<mark", '<mark id="cited"') : esc(text);
    $("doc-jump").hidden = !cited;
    showPanel("document", address);
    document.title = docTitle(doc) + " — tracuu";
    status("");
    if (cited) $("cited").scrollIntoView({block: "center"});
    else window.scrollTo(0, 0);
  });
}

function closeDocument() {
  document.title = "tracuu — tra cứu văn bản chính quyền địa phương";
  if (history.length > 1 && cameFromPage) history.back();
  else go("#");
}

// --- the collection: overview and pickers ------------------------------------------------------------------

let overview = null;

function provinceChoices(data) {
  // Names before and after the 2025 reorganisation, each with its documents: "Hải Dương (nay thuộc Hải Phòng)".
  const choices = new Map();
  const add = (name, n, label) => {
    const entry = choices.get(name) || {name, count: 0, formerly: new Set(), now: null};
    entry.count += n;
    if (label) label(entry);
    choices.set(name, entry);
  };
  for (const p of data.by_province) {
    if (!p.province) continue;
    add(p.province, p.documents, (e) => { e.now = p.province_current; });
    if (p.province_current) add(p.province_current, p.documents, (e) => e.formerly.add(p.province));
  }
  return [...choices.values()].sort((a, b) => a.name.localeCompare(b.name, "vi")).map((e) => {
    const note = e.now ? ` (nay thuộc ${e.now})` : e.formerly.size ? ` (gồm cả ${[...e.formerly].join(", ")} cũ)` : "";
    return {value: e.name, label: `${e.name}${note} · ${vnNumber(e.count)}`};
  });
}

function fillSelect(id, choices) {
  const select = $(id), current = select.value;
  select.length = 1;
  for (const c of choices) select.add(new Option(c.label, c.value));
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

function fillLocalities(wanted) {
  if (!overview) return;
  const province = $("f-province").value;
  const current = Object.fromEntries(overview.by_province.map((p) => [p.province, p.province_current]));
  const fits = (l) => !province || l.province === province || current[l.province] === province;
  fillSelect("f-locality", overview.by_locality.filter(fits).map((l) => ({
    value: l.locality, label: `${l.locality} (${[l.level, l.province].filter(Boolean).join(", ")}) · ${vnNumber(l.documents)}`})));
  if (wanted !== undefined) $("f-locality").value = wanted;
}

function renderOverview(data) {
  const list = (rows) => `<ul>${rows.map(([name, n]) => `<li><span>${esc(name)}</span><span>${vnNumber(n)}</span></li>`).join("")}</ul>`;
  const provinces = data.by_province.map((p) => [(p.province || "Không rõ tỉnh") + (p.province_current ? ` (nay thuộc ${p.province_current})` : ""), p.documents]);
  const years = data.by_year.filter((y) => y.year).slice(0, 12).map((y) => [String(y.year), y.documents]);
  const types = data.by_doc_type.map((t) => [t.doc_type || "Chưa xác định", t.documents]);
  $("overview").innerHTML = `<div class="card"><span class="big">${vnNumber(data.documents)}</span> văn bản, ${vnNumber(data.chunks)} đoạn.
      ${data.updated_at ? `Cập nhật lần cuối ${vnDate(data.updated_at)} (giờ UTC).` : ""}
      ${data.encoder ? "Tìm theo nghĩa và theo từ khóa." : "Chỉ tìm theo từ khóa (chưa có mô hình ngữ nghĩa)."}</div>
    <div class="stats">
      <div class="card"><h3>Theo tỉnh</h3>${list(provinces)}</div>
      <div class="card"><h3>Theo năm</h3>${list(years)}</div>
      <div class="card"><h3>Theo loại văn bản</h3>${list(types)}</div>
    </div>`;
}

async function loadOverview() {
  try {
    overview = await api("/overview");
  } catch (err) { showError(err); return; }
  renderOverview(overview);
  const params = parseHash().params;
  fillSelect("f-province", provinceChoices(overview));
  fillLocalities();
  fillSelect("f-level", overview.by_level.filter((l) => l.level).map((l) => ({value: l.level, label: `${l.level} · ${vnNumber(l.documents)}`})));
  fillSelect("f-doc_type", overview.by_doc_type.filter((t) => t.doc_type).map((t) => ({value: t.doc_type, label: `${t.doc_type} · ${vnNumber(t.documents)}`})));
  const years = overview.by_year.filter((y) => y.year).map((y) => ({value: String(y.year), label: String(y.year)}));
  fillSelect("f-year_from", years);
  fillSelect("f-year_to", years);
  filtersToForm(params);
}

// --- indicators --------------------------------------------------------------------------------------------

async function showIndicators(params, address) {
  showPanel("indicators", address);
  const key = params.get("key") || "";
  $("indicator-key").value = key;
  if (!$("indicator-keys").options.length) {
    try {
      const data = await api("/indicators/keys");
      $("indicator-keys").innerHTML = data.keys.map((k) => `<option value="${esc(k.key)}">${esc(k.key)} (${vnNumber(k.localities)} địa phương)</option>`).join("");
    } catch (err) { showError(err); }
  }
  if (!key) { status("Chọn hoặc gõ một chỉ tiêu để so sánh."); return; }
  await busy("Đang so sánh…", async () => {
    const query = withFilters(new URLSearchParams({key}));
    const data = await api("/indicators/compare?" + query);
    const width = Math.max(280, Math.min(1600, Math.round($("indicator-chart").clientWidth || 600)));
    $("indicator-csv").href = "/indicators/compare?" + new URLSearchParams({...Object.fromEntries(query), format: "csv"});
    $("indicator-csv").hidden = data.rows.length === 0;
    $("indicator-chart").innerHTML = data.rows.length
      ? `<img id="indicator-chart-img" alt="Biểu đồ ${esc(key)}: ${data.rows.map((r) => `${esc(r.locality)} ${r.year}: ${vnNumber(r.value)} ${esc(r.unit)}`).join("; ")}"
           src="/indicators/compare/chart.svg?${withFilters(new URLSearchParams({key, width}))}">
         <figcaption class="hint">Đơn vị: ${esc(data.unit)} · kỳ: ${esc(PERIOD_LABELS[data.period] || data.period)}</figcaption>`
      : `<p class="card">Chưa có số liệu so sánh được cho chỉ tiêu này${Object.keys(filtersFromForm()).length ? " với bộ lọc đang chọn" : ""}.</p>`;
    const figure = (r) => `${esc(r.comparator || "")} ${vnNumber(r.value)}${r.value_max !== null ? "–" + vnNumber(r.value_max) : ""} ${esc(r.unit)}`;
    const source = (r) => `<a class="open-doc" href="#van-ban/${encodeURIComponent(r.document_id)}?tu=${r.start}&den=${r.end}">${esc(r.quote)}</a>`;
    $("indicator-table").innerHTML = data.rows.length ? `<thead><tr><th>Địa phương</th><th>Tỉnh</th><th>Năm</th><th>Loại</th><th>Số liệu</th><th>Nguồn</th></tr></thead><tbody>` +
      data.rows.map((r) => `<tr class="indicator-row"><td>${esc(r.locality)}</td><td>${esc(r.province)}</td><td>${esc(r.year ?? "")}</td>
        <td>${esc(KIND_LABELS[r.kind] || r.kind)}</td><td class="num">${figure(r)}</td><td>${source(r)}</td></tr>`).join("") + "</tbody>" : "";
    $("indicator-left-out").innerHTML = data.left_out.length
      ? `<details><summary>${vnNumber(data.left_out.length)} số liệu không đặt cạnh nhau được</summary><ul>` +
        data.left_out.map((r) => `<li>${esc(r.locality)} ${esc(r.year ?? "")}: ${figure(r)} — ${esc(r.reason)} (${source(r)})</li>`).join("") + "</ul></details>"
      : "";
    status(`${vnNumber(data.rows.length)} dòng so sánh được`);
  });
}

// --- upload ------------------------------------------------------------------------------------------------

let chosen = [];

function refreshUploadButton() { $("btn-upload").disabled = chosen.length === 0 || document.body.hasAttribute("aria-busy"); }

function choose(files) {
  chosen = [...files];
  $("upload-chosen").innerHTML = chosen.map((f) => `<li>${esc(f.name)} (${vnNumber(Math.ceil(f.size / 1024), 0)} KB)</li>`).join("");
  $("upload-results").innerHTML = "";
  refreshUploadButton();
}

function uploadLines(data) {
  const line = (cls, name, what) => `<li class="${cls}"><strong>${esc(name)}</strong>: ${what}</li>`;
  const open = (f) => f.id ? ` — <a href="#van-ban/${encodeURIComponent(f.id)}">xem</a>` : "";
  return [
    ...data.added.map((f) => line("ok", f.source, "đã thêm" + open(f))),
    ...data.replaced.map((f) => line("ok", f.source, "đã thay bản cũ" + open(f))),
    ...data.unchanged.map((name) => line("ok", name, "đã có, không đổi")),
    ...data.rejected.map((r) => line("bad", r.source, `bị từ chối: ${REJECTED[r.kind] || REJECTED.invalid}` +
      (r.kind in REJECTED && r.kind !== "invalid" ? "" : ` <span class="meta">(${esc(r.reason)})</span>`))),
  ].join("");
}

async function upload(event) {
  event.preventDefault();
  if (!chosen.length) return;
  const form = new FormData();
  for (const file of chosen) form.append("files", file, file.name);
  const key = $("api-key").value || sessionStorage.getItem("tracuu-key") || "";
  const headers = key ? {Authorization: "Bearer " + key} : {};
  await busy(`Đang tải lên ${vnNumber(chosen.length)} tệp…`, async () => {
    try {
      const data = await api("/documents", {method: "POST", body: form, headers});
      if (key) sessionStorage.setItem("tracuu-key", key);
      $("upload-results").innerHTML = uploadLines(data);
      const good = data.added.length + data.replaced.length;
      status(`Đã nhận ${vnNumber(good)} tệp, từ chối ${vnNumber(data.rejected.length)}.`);
      chosen = [];
      $("upload-chosen").innerHTML = "";
      shown.results = shown.similar = shown.indicators = null;  // the collection changed
      loadOverview();
    } catch (err) {
      if (err.code === "unauthorized") {
        sessionStorage.removeItem("tracuu-key");
        $("key-row").hidden = false;
        $("api-key").focus();
        status(key ? "Khóa truy cập không đúng. Nhập lại khóa rồi bấm Tải lên." : err.message + " Nhập khóa rồi bấm Tải lên lần nữa.", "error");
        return;
      }
      if (err.code === "unsupported_type" || err.code === "too_large") {  // every file refused: say so per file
        $("upload-results").innerHTML = chosen.map((f) => `<li class="bad"><strong>${esc(f.name)}</strong>: bị từ chối: ${REJECTED[err.code]}</li>`).join("");
      }
      throw err;
    }
  });
}

function filtersChanged() {
  // The view on screen follows the filters at once: the results, the answer or the comparison and its chart.
  countFilters();
  const {view, params} = parseHash();
  if ((view === "tim" || view === "hoi") && $("q").value.trim()) go(searchAddress(view, params.has("k") ? {k: params.get("k")} : {}), true);
  if (view === "chi-tieu" && params.get("key")) go("#chi-tieu?" + withFilters(new URLSearchParams({key: params.get("key")})), true);
}

// --- wiring ------------------------------------------------------------------------------------------------

let cameFromPage = false;

function init() {
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); if ($("q").value.trim()) go(searchAddress("tim")); });
  $("btn-ask").addEventListener("click", () => { if ($("q").reportValidity()) go(searchAddress("hoi")); });
  $("btn-more").addEventListener("click", () => go(searchAddress("tim", {k: $("btn-more").dataset.k}), true));
  $("collapse").addEventListener("change", () => { if ($("q").value.trim()) go(searchAddress("tim")); });
  $("f-province").addEventListener("change", () => fillLocalities(""));
  for (const key of FILTERS) $("f-" + key).addEventListener("change", filtersChanged);
  $("btn-clear-filters").addEventListener("click", () => { for (const key of FILTERS) $("f-" + key).value = ""; fillLocalities(""); filtersChanged(); });
  $("indicator-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("indicator-key").value.trim();
    if (key) go("#chi-tieu?" + withFilters(new URLSearchParams({key})));
  });
  $("btn-close-doc").addEventListener("click", closeDocument);
  $("doc-jump").addEventListener("click", (event) => { event.preventDefault(); const c = $("cited"); if (c) c.scrollIntoView({block: "center"}); });
  $("upload-files").addEventListener("change", (event) => choose(event.target.files));
  $("upload-form").addEventListener("submit", upload);
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => { event.preventDefault(); zone.classList.remove("over"); choose(event.dataTransfer.files); });
  window.addEventListener("hashchange", () => { cameFromPage = true; route(); });
  route();
  loadOverview();
}

document.addEventListener("DOMContentLoaded", init);
