"use strict";
(() => {
  const { el, api, fmt, fmtInt, fmtDensity, featureLink, showError } = Loupe;
  Loupe.header("index.html");
  const $ = id => document.getElementById(id);
  const tbody = document.querySelector("#features tbody");
  let offset = 0;
  /** feature → its best-scored explanation (from loupe explain), loaded once. */
  let explained = null;
  async function explanations() {
    if (explained) return explained;
    explained = new Map();
    try {
      const r = await api("/api/explanations?limit=100000");
      for (const x of r.rows) if (!explained.has(x.feature_id)) explained.set(x.feature_id, x);
    } catch (e) { /* no explanations: the column stays empty */ }
    return explained;
  }
  const score = v => v == null ? "n/a" : fmt(v);
  const clip = t => t.length > 140 ? t.slice(0, 140) + "…" : t;

  // The URL holds the view, so a table state can be bookmarked; each change the user makes is a history entry, so
  // Back returns to the view before it.
  const defaults = { q: $("q").value, sort: $("sort").value, order: $("order").value, hide_dead: $("hide-dead").checked,
    hide_dense: $("hide-dense").checked, limit: $("limit").value };
  function readUrl() {
    const url = new URLSearchParams(location.search);
    const get = (k) => url.has(k) ? url.get(k) : String(defaults[k]);
    $("q").value = get("q");
    $("sort").value = get("sort");
    $("order").value = get("order");
    $("hide-dead").checked = get("hide_dead") === "true";
    $("hide-dense").checked = get("hide_dense") === "true";
    $("limit").value = get("limit");
    offset = Number(url.get("offset") || 0);
  }
  readUrl();
  window.addEventListener("popstate", () => { readUrl(); load(false); });

  /** Shows the view the controls describe; push: a new history entry (a user's change), else the current one. */
  async function load(push = true) {
    const limit = Number($("limit").value);
    const p = new URLSearchParams({ sort: $("sort").value, order: $("order").value, offset, limit,
      hide_dead: $("hide-dead").checked, hide_dense: $("hide-dense").checked });
    if ($("q").value.trim()) p.set("q", $("q").value.trim());
    if (push && "?" + p !== location.search) history.pushState(null, "", "?" + p);
    else history.replaceState(null, "", "?" + p);
    const query = new URLSearchParams(p);
    query.delete("hide_dense");
    if ($("hide-dense").checked) query.set("max_density", "0.1");
    $("status").textContent = "Loading…";
    let page;
    try {
      page = await api("/api/features?" + query);
    } catch (e) {
      tbody.replaceChildren();
      showError($("status"), e);
      return;
    }
    const ex = await explanations();
    tbody.replaceChildren(...page.rows.map(r => el("tr", {},
      el("td", {}, featureLink(r.feature_id, "#" + r.feature_id)),
      el("td", { class: "num" }, fmtDensity(r.density)),
      el("td", { class: "num" }, fmt(r.max_activation)),
      el("td", { class: "num" }, fmt(r.mean_activation)),
      el("td", { class: "num" }, fmtInt(r.fire_count)),
      el("td", {}, r.top_promoted.slice(0, 6).map(t => el("span", { class: "chip pos", title: "logit " + fmt(t.value) }, Loupe.chipLabel(t.text)))),
      el("td", { class: "explanation", style: "max-width:28em;overflow-wrap:anywhere", title: ex.has(r.feature_id) ? ex.get(r.feature_id).explanation : "" }, ex.has(r.feature_id)
        ? [clip(ex.get(r.feature_id).explanation), " ", el("span", { class: "muted" }, `(${score(ex.get(r.feature_id).detection)} / ${score(ex.get(r.feature_id).fuzzing)})`)]
        : []))));
    const last = Math.min(page.total, offset + page.rows.length);
    $("status").textContent = page.total === 0 ? "No feature matches." : `${fmtInt(page.total)} features match; showing ${fmtInt(offset + 1)}–${fmtInt(last)}.`;
    $("page-label").textContent = page.total ? `${fmtInt(offset + 1)}–${fmtInt(last)} of ${fmtInt(page.total)}` : "";
    $("prev").disabled = offset === 0;
    $("next").disabled = last >= page.total;
    document.querySelectorAll("th button.sort").forEach(b => {
      const on = b.dataset.col === $("sort").value;
      if (on) { b.setAttribute("aria-sort", $("order").value === "asc" ? "ascending" : "descending"); b.dataset.arrow = $("order").value === "asc" ? "▲" : "▼"; }
      else b.removeAttribute("aria-sort");
    });
  }

  $("filters").addEventListener("submit", e => {
    e.preventDefault();
    const g = $("goto").value.trim();
    if (g !== "") { location.href = "feature.html?id=" + encodeURIComponent(g); return; }
    offset = 0;
    load();
  });
  for (const id of ["sort", "order", "hide-dead", "hide-dense", "limit"]) $(id).addEventListener("change", () => { offset = 0; load(); });
  $("prev").addEventListener("click", () => { offset = Math.max(0, offset - Number($("limit").value)); load(); });
  $("next").addEventListener("click", () => { offset += Number($("limit").value); load(); });
  document.querySelectorAll("th button.sort").forEach(b => b.addEventListener("click", () => {
    if ($("sort").value === b.dataset.col) $("order").value = $("order").value === "asc" ? "desc" : "asc";
    else { $("sort").value = b.dataset.col; $("order").value = b.dataset.col === "feature_id" ? "asc" : "desc"; }
    offset = 0;
    load();
  }));
  load(false);
})();
