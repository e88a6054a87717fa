// The review page: grid, loupe and compare views over /review/api/photos; every key sends the change at once
// (the server writes the sidecar before it answers) and the page shows what the server answered.
"use strict";
const state = { photos: [], index: 0, view: "grid", csrf: "" };
const $ = (sel) => document.querySelector(sel);

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
const current = () => state.photos[state.index];
const img = (p, size) => el("img", { src: `/review/img/${p.id}/${size}`, alt: p.name, loading: "lazy" });

function reasonsTable(p) {
  const t = el("table", { class: "reasons" });
  if (!p.reasons.length) t.append(el("tr", {}, el("td", { text: "no flaw found" })));
  for (const r of p.reasons) {
    t.append(el("tr", {}, el("td", { class: "cost", text: r.cost >= 0.05 ? `−${r.cost.toFixed(1)}` : "·" }),
      el("td", { text: r.code }), el("td", { text: r.message })));
  }
  return t;
}

function cell(p, i) {
  const c = el("div", { class: `cell${p.flag ? " " + p.flag : ""}${i === state.index ? " current" : ""}`,
    "data-id": p.id, role: "button", "aria-label": p.name },
    img(p, "thumb"),
    el("div", { class: "meta" }, el("span", { class: "stars", text: stars(p) }),
      el("span", { class: `flag ${p.flag || ""}`, text: flagText(p) }), el("span", { text: p.score.toFixed(1) })),
    el("div", { class: "reason", text: p.reasons.length ? p.reasons[0].message : "no flaw found" }));
  c.addEventListener("click", () => { state.index = i; render(); });
  c.addEventListener("dblclick", () => { state.index = i; show("loupe"); });
  return c;
}

function renderGrid() {
  const g = $("#grid");
  g.replaceChildren(...state.photos.map(cell));
  const cur = g.querySelector(".current");
  if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: "nearest" });
}

function details(p) {
  const e = p.exif || {};
  const facts = [e.model, e.lens, e.exposure_time ? `1/${Math.round(1 / e.exposure_time)} s` : null,
    e.f_number ? `f/${e.f_number}` : null, e.iso ? `ISO ${e.iso}` : null, p.time].filter(Boolean).join(" · ");
  return el("aside", {}, el("h2", { text: p.name }),
    el("p", {}, el("span", { class: "stars", text: stars(p) }), " ", el("span", { class: `flag ${p.flag || ""}`, text: flagText(p) })),
    el("p", { text: `score ${p.score.toFixed(1)}/10 · ${p.verdict} · Keepers gave ${p.stars === -1 ? "reject" : p.stars + "★"}` }),
    facts ? el("p", { text: facts }) : null,
    p.group ? el("p", { text: `group ${p.group}${p.pick ? " (its pick)" : ""}` }) : null,
    reasonsTable(p));
}

function renderLoupe() {
  const p = current();
  $("#loupe").replaceChildren(img(p, "loupe"), details(p));
  const next = state.photos[state.index + 1];  // prefetch: the next photo is usually the next one asked for
  if (next) new Image().src = `/review/img/${next.id}/loupe`;
}

function renderCompare() {
  const p = current();
  const frames = p.group ? state.photos.filter((q) => q.group === p.group) : [p];
  const box = $("#compare");
  box.replaceChildren(...frames.map((q) => {
    const pickWhy = q.pick ? el("p", { class: "won", text: `Keepers' pick: scored ${q.score.toFixed(1)}, the best of ${frames.length}` }) : null;
    const f = el("div", { class: `frame${q.id === p.id ? " current" : ""}`, "data-id": q.id }, img(q, "loupe"),
      el("aside", {}, el("h3", { text: q.name }), pickWhy,
        el("p", {}, el("span", { class: "stars", text: stars(q) }), " ", el("span", { class: `flag ${q.flag || ""}`, text: flagText(q) }),
          ` · ${q.score.toFixed(1)}`), reasonsTable(q)));
    f.addEventListener("click", () => { state.index = state.photos.indexOf(q); render(); });
    return f;
  }));
  if (!p.group) box.append(el("p", { text: "This photo is in no burst; compare shows a burst's frames." }));
}

function render() {
  for (const v of ["grid", "loupe", "compare"]) {
    $("#" + v).hidden = v !== state.view;
    document.querySelector(`nav [data-view=${v}]`).classList.toggle("on", v === state.view);
  }
  if (!state.photos.length) { $("#status").textContent = "no photos"; return; }
  ({ grid: renderGrid, loupe: renderLoupe, compare: renderCompare })[state.view]();
  const p = current();
  $("#status").textContent = `${state.index + 1}/${state.photos.length} ${p.name} ${stars(p)} ${flagText(p)}`;
}

function show(view) { state.view = view; render(); }

async function post(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-Keepers-CSRF": state.csrf },
    body: JSON.stringify(body), credentials: "same-origin" });
  if (!r.ok) { $("#status").textContent = `not saved: ${await r.text()}`; return null; }
  return r.json();
}

// the server's answer replaces the photo; the cursor stays where the keys have moved it since, except for an undo,
// which shows the photo it changed back
function replace(photo, focus = false) {
  if (!photo) return;
  const i = state.photos.findIndex((q) => q.id === photo.id);
  if (i >= 0) { state.photos[i] = photo; if (focus) state.index = i; }
  render();
}

async function change(body) { replace(await post(`/review/api/photos/${current().id}`, body)); }
async function undo(redo) { const r = await post("/review/api/undo", { redo }); if (r) replace(r.photo, true); }

function move(step) {
  state.index = Math.max(0, Math.min(state.photos.length - 1, state.index + step));
  render();
}

document.addEventListener("keydown", (ev) => {
  if (!state.photos.length || ev.altKey || ev.metaKey && !ev.ctrlKey && ev.key.toLowerCase() !== "z") return;
  const k = ev.key.toLowerCase();
  let done = true;
  if ((ev.ctrlKey || ev.metaKey) && k === "z") undo(ev.shiftKey);
  else if (ev.ctrlKey || ev.metaKey) done = false;
  else if (/^[0-5]$/.test(ev.key)) change({ rating: Number(ev.key) });
  else if (k === "p") change({ flag: "pick" });
  else if (k === "x") change({ flag: "reject" });
  else if (k === "u") change({ flag: null });
  else if (ev.key === "ArrowRight") move(1);
  else if (ev.key === "ArrowLeft") move(-1);
  else if (k === "g") show("grid");
  else if (k === "e") show("loupe");
  else if (k === "c") show("compare");
  else done = false;
  if (done) ev.preventDefault();
});

for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));

fetch("/review/api/photos", { credentials: "same-origin" }).then((r) => r.json()).then((data) => {
  state.photos = data.photos;
  state.csrf = data.csrf;
  render();
});
