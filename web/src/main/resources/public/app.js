// Shared helpers for the Loupe pages: API calls, element building, token shading, number formats, the header.
"use strict";

const Loupe = (() => {
  const PAGES = [
    ["index.html", "Features"], ["inspect.html", "Prompt inspector"], ["search.html", "Search"], ["steer.html", "Steering"], ["shield.html", "Shield"],
  ];

  /** Builds an element: el("a", {href: "x", class: "y"}, "text", child...). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  /** GET or POST JSON; rejects with the server's error message. */
  async function api(path, body) {
    const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    let res;
    try { res = await fetch(path, opts); } catch (e) { throw new ApiError(0, "the server cannot be reached (" + e.message + ")"); }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
    if (!res.ok) {
      const msg = data && data.error ? data.error.message : ("HTTP " + res.status);
      throw new ApiError(res.status, res.status === 429 ? msg + " (busy: try again shortly)" : msg);
    }
    return data;
  }

  /** POSTs and reads a server-sent-event stream, calling onEvent(name, data) per event. */
  async function stream(path, body, onEvent, signal) {
    const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
    if (!res.ok) {
      let msg = "HTTP " + res.status;
      try { const d = await res.json(); if (d.error) msg = d.error.message; } catch (e) { /* keep status */ }
      throw new ApiError(res.status, msg);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        let name = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (data) onEvent(name, data === "[DONE]" ? data : JSON.parse(data));
      }
    }
  }

  let info = null;
  /** The server's /api/info, fetched once. */
  async function serverInfo() {
    if (!info) info = await api("/api/info");
    return info;
  }

  /** Draws the header with the current page marked, and the run line. */
  function header(current) {
    const nav = el("nav", { "aria-label": "Pages" },
      PAGES.map(([href, label]) => el("a", { href, "aria-current": href === current ? "page" : null }, label)));
    const run = el("span", { class: "run", id: "run-line" }, "");
    document.body.prepend(
      el("a", { class: "skip", href: "#main" }, "Skip to content"),
      el("header", { class: "top" }, el("a", { class: "brand", href: "index.html" }, "Loupe"), nav, run));
    serverInfo().then(i => {
      const sae = i.run && i.run.saes && i.run.saes.length ? i.run.saes[0] : null;
      run.textContent = (i.run ? i.run.model_name + " · " : "") + i.hook + " · " + fmtInt(i.features) + " features"
        + (i.run ? " · " + fmtInt(i.run.tokens) + " tokens" : "") + (i.live ? " · live" : " · browsing only");
      if (sae) run.title = "SAE: " + sae.name;
    }).catch(() => { run.textContent = "server not reachable"; });
  }

  /** Shows a message in place of a page part that needs the model, when the server has none. */
  function requireLive(container, what) {
    return serverInfo().then(i => {
      if (i.live) return true;
      container.prepend(el("div", { class: "notice", role: "status" },
        what + " needs the model: this server was started with a run folder only. Start it with ",
        el("code", {}, "loupe serve --run RUN --model PATH --sae DIR"), "."));
      return false;
    });
  }

  function showError(container, err) {
    const box = el("div", { class: "error", role: "alert" }, err.message || String(err));
    container.replaceChildren(box);
  }

  const fmtInt = n => (n === null || n === undefined) ? "–" : Number(n).toLocaleString("en-US");
  function fmt(x, digits = 3) {
    if (x === null || x === undefined || Number.isNaN(x)) return "–";
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a >= 1000) return x.toFixed(0);
    if (a >= 1) return x.toFixed(2);
    return x.toPrecision(digits);
  }
  function fmtDensity(d) {
    if (!d) return "0";
    return d >= 0.01 ? (100 * d).toFixed(2) + "%" : (100 * d).toPrecision(2) + "%";
  }

  /** How a token shows in running text: spaces kept, newlines and tabs as visible marks. */
  function tokenLabel(text) {
    if (text === undefined || text === null) return "";
    return text.replace(/\n/g, "↵\n").replace(/\t/g, "⇥");
  }

  /** How a token shows on its own (a chip): also its spaces made visible, so a bare space is not an empty box. */
  function chipLabel(text) {
    if (text === undefined || text === null) return "";
    return text.replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥");
  }

  /** Background for an activation: orange scaled by value/max (negative values, e.g. suppressed logits, blue). */
  function shade(v, max) {
    if (!v || !max) return "";
    const a = Math.max(-1, Math.min(1, v / max));
    return "rgba(" + (a >= 0 ? "255,137,0" : "40,110,220") + "," + (0.12 + 0.78 * Math.abs(a)).toFixed(3) + ")";
  }

  // One floating tooltip for token values (hover or keyboard focus).
  let tip = null;
  function showTip(target) {
    if (!tip) { tip = el("div", { class: "tip", role: "tooltip" }); document.body.append(tip); }
    tip.textContent = target.dataset.tip;
    const r = target.getBoundingClientRect();
    tip.style.left = Math.max(4, r.left) + "px";
    tip.style.top = (r.top - 26 < 0 ? r.bottom + 4 : r.top - 26) + "px";
    tip.hidden = false;
  }
  function hideTip() { if (tip) tip.hidden = true; }

  /**
   * Renders tokens shaded by activation. tokens: [{text, value, center?}]; max: the value that gets full colour.
   * Active tokens are focusable so the keyboard reaches their values too.
   */
  function tokenStrip(tokens, max, opts = {}) {
    const wrap = el("div", { class: "tokens" });
    for (const t of tokens) {
      const v = t.value || 0;
      const span = el("span", { class: "tok" + (t.center ? " center" : "") }, tokenLabel(t.text));
      if (v !== 0 || opts.allValues) {
        span.dataset.v = v;
        span.dataset.tip = (opts.label ? opts.label + " " : "") + fmt(v, 4) + "  ·  " + JSON.stringify(t.text);
        span.style.background = shade(v, max);
        if (v !== 0) span.tabIndex = 0;
        span.addEventListener("mouseenter", () => showTip(span));
        span.addEventListener("mouseleave", hideTip);
        span.addEventListener("focus", () => showTip(span));
        span.addEventListener("blur", hideTip);
      }
      if (opts.onClick) {
        span.tabIndex = 0;
        span.addEventListener("click", () => opts.onClick(t, span));
        span.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); opts.onClick(t, span); } });
      }
      wrap.append(span);
    }
    return wrap;
  }

  function featureLink(id, text) { return el("a", { href: "feature.html?id=" + id }, text || ("#" + id)); }

  function param(name) { return new URLSearchParams(location.search).get(name); }

  /** Ctrl/Cmd+Enter in a textarea submits its form. */
  function submitOnCtrlEnter(textarea, form) {
    textarea.addEventListener("keydown", e => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
  }

  return { el, api, stream, serverInfo, header, requireLive, showError, fmt, fmtInt, fmtDensity, tokenLabel, chipLabel, shade,
           tokenStrip, featureLink, param, submitOnCtrlEnter, hideTip };
})();
