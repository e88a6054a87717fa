// The review page: grid, loupe and compare views over /review/api/photos; every key sends the change at once
// (the server writes the sidecar before it answers) and the page shows what the server answered.
// The grid is virtualised: only the rows on screen (and two either side) are in the DOM, so 10,000 photos load
// and scroll like 50, and only the thumbnails on screen are asked of the server.
"use strict";
const S = { photos: [], byId: new Map(), order: [], index: 0, view: "grid", csrf: "", zoom: false,
  cmp: { s: 1, cx: 0.5, cy: 0.5 }, cells: new Map(), prefetched: [], seq: 0,
  // this tab's id: the server keeps an undo history per tab, so Ctrl+Z here takes back only what this tab did
  tab: (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)) };
const $ = (sel) => document.querySelector(sel);
const CELL_W = 210, ROW_H = 236, LABELS = { 6: "red", 7: "yellow", 8: "green", 9: "blue" };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

const stars = (p) => "★".repeat(p.rating) + "☆".repeat(5 - p.rating);
const flagText = (p) => (p.flag === "pick" ? "⚑ pick" : p.flag === "reject" ? "✕ reject" : "");
const current = () => S.order[S.index];
const src = (p, size) => `/review/img/${p.id}/${size}`;
const labelDot = (p) => (p.label ? el("span", { class: `label ${p.label}`, title: `${p.label} label` }) : null);

// the reasons as `keepers show` prints them (the server sends them in its order, with its words and signed points):
// what moved the score, then, for a photo not kept, what was measured and not charged under its own heading
function reasonsTable(p) {
  const t = el("table", { class: "reasons" });
  if (!p.reasons.some((r) => r.role !== "measured")) t.append(el("tr", {}, el("td", { colspan: 3, text: p.reasons.length ? "no flaw charged" : p.why })));
  let heading = false;
  for (const r of p.reasons) {
    if (r.role === "measured" && !heading) {
      heading = true;
      t.append(el("tr", {}, el("td", { colspan: 3, class: "measured", text: "measured, not charged:" })));
    }
    t.append(el("tr", {}, el("td", { class: `cost ${r.role}`, text: r.points }), el("td", { text: r.code }),
      el("td", { text: r.said })));
  }
  return t;
}

// --- filters and sort --------------------------------------------------------------------------------------

function filterValues() { return Object.fromEntries(new FormData($("#filters")).entries()); }

function matches(p, f, here) {
  if (f.verdict && p.verdict !== f.verdict) return false;
  if (f.stars === "0" && p.rating !== 0) return false;
  if (f.stars && f.stars !== "0" && p.rating < Number(f.stars)) return false;
  if (f.flag && (f.flag === "none" ? p.flag : p.flag !== f.flag)) return false;
  if (f.label && (f.label === "none" ? p.label : p.label !== f.label)) return false;
  if (f.reason && !p.reasons.some((r) => r.code === f.reason)) return false;
  if (f.burst === "in" && !p.group) return false;
  if (f.burst === "picks" && !(p.group && p.pick)) return false;
  if (f.burst === "single" && p.group) return false;
  if (f.burst === "this" && (!here || !here.group ? p !== here : p.group !== here.group)) return false;
  if (f.keyword) {
    const k = f.keyword.toLowerCase();
    if (!p.keywords.some((w) => w.toLowerCase().includes(k)) && !p.name.toLowerCase().includes(k)) return false;
  }
  return true;
}

// the order changes only when a filter or the sort does: a photo rated out of the filter stays until then
function applyFilters() {
  const f = filterValues(), here = current();
  S.order = S.photos.filter((p) => matches(p, f, here));
  if (f.sort === "score-desc") S.order.sort((a, b) => b.score - a.score);
  else if (f.sort === "score-asc") S.order.sort((a, b) => a.score - b.score);
  S.index = Math.max(0, S.order.indexOf(here));
  for (const c of S.cells.values()) drop(c);
  S.cells.clear();
  render();
}

function fillChoices(name, values) {
  const s = $(`#filters [name=${name}]`);
  for (const v of values) s.append(el("option", { value: v, text: v.replaceAll("_", " ") }));
}

// --- grid ----------------------------------------------------------------------------------------------------

function drop(c) {  // a cell leaves the DOM: its thumbnail's download, if still running, stops
  const i = c.querySelector("img");
  if (i && !i.complete) i.removeAttribute("src");
  c.remove();
}

function cell(p, i, w) {
  const c = el("div", { class: `cell${p.flag ? " " + p.flag : ""}`, "data-id": p.id, role: "button", "aria-label": p.name },
    el("img", { src: src(p, "thumb"), alt: p.name, decoding: "async" }),
    el("div", { class: "meta" }, el("span", { class: "stars", text: stars(p) }), labelDot(p),
      el("span", { class: `flag ${p.flag || ""}`, text: flagText(p) }), el("span", { text: p.score.toFixed(1) })),
    el("div", { class: "reason", text: p.why }));
  c.style.cssText = `top:${Math.floor(i / S.cols) * ROW_H}px;left:${(i % S.cols) * w}px;width:${w - 8}px`;
  c.addEventListener("click", () => { S.index = S.order.indexOf(p); render(); });
  c.addEventListener("dblclick", () => { S.index = S.order.indexOf(p); show("loupe"); });
  c.photo = p;
  return c;
}

function renderGrid(scrollToCurrent = true) {
  const g = $("#grid"), spacer = g.firstElementChild;
  const width = Math.max(CELL_W, g.clientWidth - 16);
  const cols = Math.max(1, Math.floor(width / CELL_W)), w = Math.floor(width / cols);
  if (cols !== S.cols || w !== S.cellW) {  // a new layout: every cell moves
    S.cols = cols; S.cellW = w;
    for (const c of S.cells.values()) drop(c);
    S.cells.clear();
  }
  spacer.style.height = `${Math.ceil(S.order.length / cols) * ROW_H}px`;
  if (scrollToCurrent) {
    const top = Math.floor(S.index / cols) * ROW_H;
    if (top < g.scrollTop) g.scrollTop = top;
    else if (top + ROW_H > g.scrollTop + g.clientHeight) g.scrollTop = top + ROW_H - g.clientHeight;
  }
  const first = Math.max(0, Math.floor(g.scrollTop / ROW_H) - 2) * cols;
  const last = Math.min(S.order.length, (Math.ceil((g.scrollTop + g.clientHeight) / ROW_H) + 2) * cols);
  const want = new Set();
  for (let i = first; i < last; i++) {
    const p = S.order[i];
    want.add(p.id);
    let c = S.cells.get(p.id);
    if (c && c.photo !== p) { drop(c); c = null; }  // changed since: drawn again
    if (!c) { c = cell(p, i, w); S.cells.set(p.id, c); spacer.append(c); }
    c.classList.toggle("current", i === S.index);
    if (i === S.index) c.setAttribute("aria-current", "true"); else c.removeAttribute("aria-current");
  }
  for (const [id, c] of S.cells) if (!want.has(id)) { drop(c); S.cells.delete(id); }
}

// --- loupe ---------------------------------------------------------------------------------------------------

function details(p) {
  const e = p.exif || {};
  const facts = [e.model, e.lens, e.exposure_time ? `1/${Math.round(1 / e.exposure_time)} s` : null,
    e.f_number ? `f/${e.f_number}` : null, e.iso ? `ISO ${e.iso}` : null, p.time].filter(Boolean).join(" · ");
  const where = p.where === "plugin"
    ? "This host reads no sidecar for this file: your choices are kept in Keepers' catalog (Lightroom: Plug-in Extras > Apply my choices from the review page; or set embed = true to write them into the file itself)."
    : p.where === "embedded" ? "Your choices are written into the file itself (embed setting)." : null;
  return el("aside", {}, el("h2", { text: p.name }),
    el("p", {}, el("span", { class: "stars", text: stars(p) }), " ", labelDot(p), " ",
      el("span", { class: `flag ${p.flag || ""}`, text: flagText(p) })),
    el("p", { text: `score ${p.score.toFixed(1)}/10 · ${p.verdict} · Keepers gave ${p.stars === -1 ? "reject" : p.stars + "★"}` }),
    facts ? el("p", { text: facts }) : null,
    p.group ? el("p", { text: `burst ${p.group}${p.pick ? " (its pick)" : ""}` }) : null,
    where ? el("p", { class: "where", text: where }) : null,
    reasonsTable(p));
}

function prefetch(ps) {  // kept decoded in memory: the next photo shows in the frame after the key
  S.prefetched = ps.map((q) => {
    const i = new Image();
    i.src = src(q, S.zoom && q.focus ? "crop" : "loupe");
    i.decode().catch(() => {});
    return i;
  });
}

function renderLoupe() {
  const p = current();
  let box = $("#loupe");
  if (!box.querySelector(".stage")) {
    box.replaceChildren(el("div", { class: "stage" }, el("img", { class: "photo", alt: "" }), el("div", { class: "focus" })),
      el("div", { class: "side" }));
  }
  const crop = S.zoom && p.focus, photo = box.querySelector("img.photo");
  photo.alt = p.name;
  photo.classList.toggle("crop", Boolean(crop));
  photo.setAttribute("src", src(p, crop ? "crop" : "loupe"));
  const f = box.querySelector(".focus");
  f.hidden = crop || !p.focus;
  if (p.focus) {
    const [x0, y0, x1, y1] = p.focus;
    f.style.cssText = `left:${x0 * 100}%;top:${y0 * 100}%;width:${(x1 - x0) * 100}%;height:${(y1 - y0) * 100}%`;
  }
  const note = S.zoom ? el("p", { class: "zoomed", text: p.focus ? "100 % where focus was judged (Z: fit)" : "no focus region was found for this photo" }) : null;
  box.querySelector(".side").replaceChildren(...[note, details(p)].filter(Boolean));
  // the one after next first: the image cache answers the nearest when the key comes; the server makes the
  // newest asked first
  prefetch([S.order[S.index + 2], S.order[S.index - 1], S.order[S.index + 1]].filter(Boolean));
}

// --- compare: the burst's frames side by side, zoomed and panned together ------------------------------------

function layoutFrame(v) {
  const i = v.querySelector("img"), W = v.clientWidth, H = v.clientHeight;
  if (!i.naturalWidth || !W) return;
  const k = Math.min(W / i.naturalWidth, H / i.naturalHeight), fw = i.naturalWidth * k * S.cmp.s, fh = i.naturalHeight * k * S.cmp.s;
  i.style.cssText = `width:${fw}px;height:${fh}px;left:${W / 2 - S.cmp.cx * fw}px;top:${H / 2 - S.cmp.cy * fh}px`;
  v.fit = k;
}

function layoutCompare() { for (const v of document.querySelectorAll("#compare .view")) layoutFrame(v); }

function zoomAt(v, mx, my, s) {  // the point under the pointer stays where it is, in every frame
  const i = v.querySelector("img"), W = v.clientWidth, H = v.clientHeight;
  if (!v.fit) return;
  const fw = i.naturalWidth * v.fit, fh = i.naturalHeight * v.fit, c = S.cmp;
  const px = c.cx + (mx - W / 2) / (fw * c.s), py = c.cy + (my - H / 2) / (fh * c.s);
  c.s = Math.max(1, Math.min(40, s));
  c.cx = px - (mx - W / 2) / (fw * c.s); c.cy = py - (my - H / 2) / (fh * c.s);
  if (c.s === 1) { c.cx = 0.5; c.cy = 0.5; }
  layoutCompare();
}

function frameView(q) {
  const v = el("div", { class: "view" }, el("img", { src: src(q, "loupe"), alt: q.name, draggable: "false" }));
  v.querySelector("img").addEventListener("load", () => layoutFrame(v));
  v.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = v.getBoundingClientRect();
    zoomAt(v, ev.clientX - r.left, ev.clientY - r.top, S.cmp.s * Math.pow(1.2, -ev.deltaY / 100));
  }, { passive: false });
  v.addEventListener("pointerdown", (ev) => {
    const start = { x: ev.clientX, y: ev.clientY, cx: S.cmp.cx, cy: S.cmp.cy };
    const i = v.querySelector("img");
    const moveTo = (e) => {
      if (!v.fit) return;
      S.cmp.cx = start.cx - (e.clientX - start.x) / (i.naturalWidth * v.fit * S.cmp.s);
      S.cmp.cy = start.cy - (e.clientY - start.y) / (i.naturalHeight * v.fit * S.cmp.s);
      layoutCompare();
    };
    v.setPointerCapture(ev.pointerId);
    v.addEventListener("pointermove", moveTo);
    v.addEventListener("pointerup", () => v.removeEventListener("pointermove", moveTo), { once: true });
  });
  v.addEventListener("dblclick", () => { S.cmp = { s: 1, cx: 0.5, cy: 0.5 }; layoutCompare(); });
  return v;
}

function renderCompare() {
  const p = current();
  const frames = p.group ? S.photos.filter((q) => q.group === p.group) : [p];
  const box = $("#compare");
  const same = box.dataset.group === String(p.group || p.id);
  if (!same) S.cmp = { s: 1, cx: 0.5, cy: 0.5 };
  box.dataset.group = String(p.group || p.id);
  box.replaceChildren(...frames.map((q) => {
    const old = same && box.querySelector(`.frame[data-id="${q.id}"] .view`);
    const pickWhy = q.pick ? el("p", { class: "won", text: `Keepers' pick: scored ${q.score.toFixed(1)}, the best of ${frames.length}` }) : null;
    const f = el("div", { class: `frame${q.id === p.id ? " current" : ""}`, "data-id": q.id }, old || frameView(q),
      el("aside", {}, el("h3", { text: q.name }), pickWhy,
        el("p", {}, el("span", { class: "stars", text: stars(q) }), " ", labelDot(q), " ",
          el("span", { class: `flag ${q.flag || ""}`, text: flagText(q) }), ` · ${q.score.toFixed(1)}`), reasonsTable(q)));
    f.addEventListener("click", () => { const i = S.order.indexOf(q); if (i >= 0) { S.index = i; render(); } });
    return f;
  }));
  if (!p.group) box.append(el("p", { text: "This photo is in no burst; compare shows a burst's frames." }));
  layoutCompare();
}

function zoomCompare() {  // Z: 100 % of the photo in every frame, at the current photo's focus; again: fit
  const v = $("#compare .frame.current .view") || $("#compare .view"), p = current();
  if (!v || !v.fit) return;
  if (S.cmp.s > 1) { S.cmp = { s: 1, cx: 0.5, cy: 0.5 }; layoutCompare(); return; }
  const i = v.querySelector("img"), full = (p.exif && p.exif.width) || i.naturalWidth;
  const f = p.focus || [0.5, 0.5, 0.5, 0.5];
  S.cmp = { s: Math.max(1, full / (i.naturalWidth * v.fit)), cx: (f[0] + f[2]) / 2, cy: (f[1] + f[3]) / 2 };
  layoutCompare();
}

// --- all views -----------------------------------------------------------------------------------------------

function render() {
  for (const v of ["grid", "loupe", "compare"]) {
    $("#" + v).hidden = v !== S.view;
    document.querySelector(`nav [data-view=${v}]`).classList.toggle("on", v === S.view);
  }
  if (!S.order.length) {
    $("#status").textContent = S.photos.length ? "no photo matches the filters" : "no photos";
    if (S.view === "grid") renderGrid(false);
    return;
  }
  ({ grid: renderGrid, loupe: renderLoupe, compare: renderCompare })[S.view]();
  const p = current();
  $("#status").textContent = `${S.index + 1}/${S.order.length} ${p.name} ${stars(p)} ${flagText(p)}${p.label ? " " + p.label + " label" : ""}`;
}

function show(view) {
  if (view !== "grid") for (const c of S.cells.values()) { const i = c.querySelector("img"); if (i && !i.complete) i.removeAttribute("src"); }
  if (S.view === "grid" && view !== "grid") { for (const c of S.cells.values()) c.remove(); S.cells.clear(); }
  S.view = view;
  render();
}

// one change at a time, in the order of the keys: sent together, the server's threads took "1 2 3 4 5" pressed
// fast in any order, and 2 runs in 8 ended on 4 stars, page and sidecar, instead of the 5 pressed last
let sending = Promise.resolve();
function post(url, body, refused = "not saved") {
  const answer = sending.then(() => send(url, body, refused));
  sending = answer.catch(() => null);
  return answer;
}

async function send(url, body, refused) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-Keepers-CSRF": S.csrf,
    "X-Keepers-Tab": S.tab }, body: JSON.stringify(body), credentials: "same-origin" });
  if (!r.ok) {
    const why = await r.text();
    if (r.status === 409) await refresh();  // changed in another tab, or not written: show the photo as it is
    $("#status").textContent = `${refused}: ${why}`;
    return null;
  }
  return r.json();
}

// what another tab or window changed: asked when this one comes back into view and every few seconds while it is
// seen; only the photos changed since the last change this tab was told of come back
let refreshing = null;
function refresh() {
  if (!refreshing) {
    refreshing = fetch(`/review/api/photos?since=${S.seq}`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => {
        if (!data) return;
        let changed = false;
        for (const p of data.photos) changed = update(p) || changed;
        S.seq = Math.max(S.seq, data.seq);
        if (changed) render();
      })
      .catch(() => {})
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

// the server's answer replaces the photo; the cursor stays where the keys have moved it since, except for an undo,
// which shows the photo it changed back
function replace(photo, focus = false) {
  if (!photo || !S.byId.has(photo.id)) return;
  update(photo);
  if (focus) { const i = S.order.indexOf(S.byId.get(photo.id)); if (i >= 0) S.index = i; }
  render();
}

// a photo as the server sent it, unless this page already has a later state of it (answers may cross)
function update(photo) {
  const old = S.byId.get(photo.id);
  if (!old || (photo.seq ?? 0) < (old.seq ?? 0)) return false;
  const p = Object.assign({}, old, photo);
  S.byId.set(p.id, p);
  S.photos[S.photos.indexOf(old)] = p;
  const i = S.order.indexOf(old);
  if (i >= 0) S.order[i] = p;
  return true;
}

async function change(body) { replace(await post(`/review/api/photos/${current().id}`, body)); }
async function undo(redo) {
  const r = await post("/review/api/undo", { redo }, redo ? "not redone" : "not undone");
  if (r) replace(r.photo, true);
}

function move(step) {
  S.index = Math.max(0, Math.min(S.order.length - 1, S.index + step));
  render();
}

function toggleHelp(open) { $("#help").hidden = !(open ?? $("#help").hidden); }

document.addEventListener("keydown", (ev) => {
  if (ev.target.closest && ev.target.closest("input, select, textarea")) {
    if (ev.key === "Escape") ev.target.blur();
    return;  // typing in a filter is not a key for the photos
  }
  if (ev.key === "?") { toggleHelp(); ev.preventDefault(); return; }
  if (ev.key === "Escape") { toggleHelp(false); return; }
  if (!S.order.length || ev.altKey || ev.metaKey && !ev.ctrlKey && ev.key.toLowerCase() !== "z") return;
  const k = ev.key.toLowerCase();
  let done = true;
  if ((ev.ctrlKey || ev.metaKey) && k === "z") undo(ev.shiftKey);
  else if (ev.ctrlKey || ev.metaKey) done = false;
  else if (/^[0-5]$/.test(ev.key)) change({ rating: Number(ev.key) });
  else if (/^[6-9]$/.test(ev.key)) change({ label: current().label === LABELS[ev.key] ? null : LABELS[ev.key] });
  else if (k === "p") change({ flag: "pick" });
  else if (k === "x") change({ flag: "reject" });
  else if (k === "u") change({ flag: null });
  else if (ev.key === "ArrowRight") move(1);
  else if (ev.key === "ArrowLeft") move(-1);
  else if (k === "g") show("grid");
  else if (k === "e") show("loupe");
  else if (k === "c") show("compare");
  else if (k === "z") { if (S.view === "compare") zoomCompare(); else { S.zoom = !S.zoom; if (S.view !== "loupe") show("loupe"); else render(); } }
  else done = false;
  if (done) ev.preventDefault();
});

for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
$("#help-button").addEventListener("click", () => toggleHelp());
$("#help").addEventListener("click", () => toggleHelp(false));
$("#filters").addEventListener("change", applyFilters);
$("#filters").addEventListener("input", (ev) => { if (ev.target.name === "keyword") applyFilters(); });
$("#filters").addEventListener("submit", (ev) => ev.preventDefault());
let scrolling = 0;
$("#grid").addEventListener("scroll", () => {
  if (!scrolling) scrolling = requestAnimationFrame(() => { scrolling = 0; renderGrid(false); });
}, { passive: true });
window.addEventListener("resize", () => { if (S.view === "grid") renderGrid(false); else if (S.view === "compare") layoutCompare(); });
window.addEventListener("focus", () => refresh());
document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
setInterval(() => { if (!document.hidden && S.csrf) refresh(); }, 2000);
let touch = null;  // a swipe in the loupe: the next or previous photo
$("#loupe").addEventListener("touchstart", (ev) => { touch = ev.touches[0].clientX; }, { passive: true });
$("#loupe").addEventListener("touchend", (ev) => {
  const dx = ev.changedTouches[0].clientX - (touch ?? ev.changedTouches[0].clientX);
  if (Math.abs(dx) > 50) move(dx < 0 ? 1 : -1);
  touch = null;
});

fetch("/review/api/photos", { credentials: "same-origin" }).then((r) => r.json()).then((data) => {
  S.photos = data.photos;
  S.csrf = data.csrf;
  S.seq = data.seq;
  for (const p of S.photos) S.byId.set(p.id, p);
  fillChoices("verdict", [...new Set(S.photos.map((p) => p.verdict))].sort());
  fillChoices("reason", [...new Set(S.photos.flatMap((p) => p.reasons.map((r) => r.code)))].sort());
  S.order = S.photos.slice();
  render();
});
