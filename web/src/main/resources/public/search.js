"use strict";
(() => {
  const { el, api, fmt, fmtDensity, featureLink, showError, tokenStrip, tokenLabel } = Loupe;
  Loupe.header("search.html");
  const $ = id => document.getElementById(id);

  async function shadeBy(text, feature, box) {
    box.replaceChildren(el("p", { class: "muted spinner" }, "Shading by feature " + feature));
    try {
      const [r, info] = await Promise.all([api("/api/features/" + feature + "/activations", { text }), Loupe.serverInfo()]);
      // As on the feature page: a feature that fires only weakly stays faint (full colour at least the run's typical max).
      const max = Math.max(r.max, info.typical_max_activation || 0, 1e-6);
      box.replaceChildren(el("h3", {}, "Where ", featureLink(feature, "feature " + feature), " fires"),
        el("p", { class: "hint" }, `Full colour is ${fmt(max)}, the larger of its max on this text and the median max over the run's features.`),
        el("div", { class: "card" }, tokenStrip(r.tokens.map(t => ({ text: t.text, value: t.value })), max, { label: "feature " + feature + ":" })));
    } catch (e) { showError(box, e); }
  }

  async function run() {
    const text = $("text").value;
    if (!text.trim()) { $("out").replaceChildren(el("p", { class: "notice", role: "status" }, "Type some text to search with first.")); return; }
    $("run").disabled = true;
    $("out").replaceChildren(el("p", { class: "muted spinner" }, "Running the model"));
    try {
      const maxDensity = Number($("max-density").value);
      const r = await api("/api/search", { text, k: Number($("k").value || 10), max_density: maxDensity });
      const shaded = el("div", { id: "shaded" });
      const rows = r.overall.map((f, i) => {
        const peak = r.tokens.reduce((best, t) => {
          const hit = t.features.find(x => x.feature_id === f.feature_id);
          return hit && (!best || hit.activation > best.a) ? { a: hit.activation, t } : best;
        }, null);
        const tr = el("tr", {},
          el("td", { class: "num" }, i + 1),
          el("td", {}, featureLink(f.feature_id, "Feature " + f.feature_id)),
          el("td", { class: "num" }, fmt(f.activation)),
          el("td", { class: "num density" }, f.density === null || f.density === undefined ? "–" : fmtDensity(f.density)),
          el("td", {}, peak ? el("span", { class: "chip" }, Loupe.chipLabel(peak.t.text)) : "–"),
          el("td", { class: "top-tokens" }, ""),
          el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => shadeBy(text, f.feature_id, shaded) }, "Show in text")));
        api("/api/features/" + f.feature_id + "/logits").then(l => {
          tr.querySelector(".top-tokens").replaceChildren(...l.top_promoted.slice(0, 4).map(t => el("span", { class: "chip pos" }, Loupe.chipLabel(t.text))));
        }).catch(() => {});
        return tr;
      });
      $("out").replaceChildren(
        el("h2", {}, r.overall.length ? `Top ${r.overall.length} features` + (maxDensity < 1 ? ` firing on at most ${fmtDensity(maxDensity)} of the run's tokens` : "")
          : maxDensity < 1 ? "No feature this sparse fires on this text" : "No feature fires on this text"),
        el("table", { id: "results" },
          el("thead", {}, el("tr", {}, el("th", { class: "num" }, "#"), el("th", {}, "Feature"), el("th", { class: "num" }, "Max act."), el("th", { class: "num", title: "share of the corpus run's tokens it fires on" }, "Density"),
            el("th", {}, "At token"), el("th", {}, "Promotes"), el("th", {}, ""))),
          el("tbody", {}, rows)),
        shaded);
      if (r.overall.length) shadeBy(text, r.overall[0].feature_id, shaded);
    } catch (e) { showError($("out"), e); } finally { $("run").disabled = false; }
  }

  Loupe.requireLive($("out"), "Search via inference").then(live => { if (!live) $("run").disabled = true; });
  Loupe.submitOnCtrlEnter($("text"), $("form"));
  $("form").addEventListener("submit", e => { e.preventDefault(); run(); });

  const fmtScore = v => v == null ? "n/a" : Loupe.fmt(v);
  document.getElementById("expl-form").addEventListener("submit", async e => {
    e.preventDefault();
    const out = document.getElementById("expl-out");
    const q = document.getElementById("expl-q").value.trim();
    out.replaceChildren(Loupe.el("span", { class: "muted spinner" }, "Searching"));
    try {
      const r = await Loupe.api("/api/explanations?limit=50&q=" + encodeURIComponent(q));
      if (!r.rows.length) { out.replaceChildren(Loupe.el("p", { class: "muted" }, "No explanation matches.")); return; }
      out.replaceChildren(Loupe.el("p", { class: "muted" }, r.total === 1 ? "1 explanation matches." : `${r.total} explanations match.`),
        Loupe.el("ul", { class: "expl-results" }, ...r.rows.map(x => Loupe.el("li", {},
          Loupe.featureLink(x.feature_id, "#" + x.feature_id), " ", x.explanation, " ",
          Loupe.el("span", { class: "muted" }, `detection ${fmtScore(x.detection)}, fuzzing ${fmtScore(x.fuzzing)}`)))));
    } catch (err) { Loupe.showError(out, err); }
  });
})();
