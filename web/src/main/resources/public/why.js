"use strict";
// "Why this next token" on the prompt inspector: the SAE features with the largest attribution (activation × gradient)
// to the next token's logit (or its difference against a baseline token), shaded over the prompt.
(() => {
  const { el, api, fmt, featureLink, showError, tokenStrip } = Loupe;
  const $ = id => document.getElementById(id);
  const box = el("section", { id: "why", "aria-label": "Why this next token" },
    el("h2", {}, "Why this next token?"),
    el("p", { class: "muted" }, "Features ranked by attribution to the next token's logit: activation × gradient, summed over positions, with the SAE's error term as its own node. Select a feature to shade the prompt by its attribution."),
    el("div", { class: "controls" },
      el("label", {}, "Next token id ", el("input", { type: "number", id: "why-target", min: "0", placeholder: "most likely", style: "width:10em" })),
      el("label", {}, "Against token id ", el("input", { type: "number", id: "why-baseline", min: "0", placeholder: "none (logit)", style: "width:10em" })),
      el("button", { type: "button", id: "why-run" }, "Explain")),
    el("div", { id: "why-out", role: "region", "aria-live": "polite" }));
  $("main").append(box);

  let last = null, chosen = null;

  function render() {
    const r = last;
    const f = r.features.find(x => x.feature === chosen) || r.features[0];
    const values = f ? f.by_position : [];
    const max = Math.max(1e-9, ...values.map(Math.abs));
    const strip = tokenStrip(r.tokens.map((t, i) => ({ text: t.text, value: values[i] || 0 })), max,
      { label: f ? "feature " + f.feature + " attribution:" : "" });
    strip.id = "why-strip";
    const errMax = Math.max(1e-9, ...r.error.map(Math.abs));
    const errStrip = tokenStrip(r.tokens.map((t, i) => ({ text: t.text, value: r.error[i] })), errMax, { label: "error node:" });
    const what = r.baseline ? ["logit(", chip(r.target), ") − logit(", chip(r.baseline), ")"] : ["logit of ", chip(r.target)];
    $("why-out").replaceChildren(
      el("p", {}, "Explaining the ", ...what, ` = ${fmt(r.value, 4)} after position ${r.position}, SAE at `, el("code", {}, r.hook), "."),
      el("div", { class: "grid side" },
        el("div", { class: "card" }, el("p", { class: "muted", style: "margin-top:0" }, f ? ["Shaded by ", featureLink(f.feature, "feature " + f.feature)] : "No feature fires."), strip,
          el("p", { class: "muted" }, "Error node (what the SAE does not explain):"), errStrip),
        el("div", { class: "card" }, el("ol", { class: "toplist", id: "why-features" }, r.features.map(x => el("li", {},
          el("span", {}, featureLink(x.feature, "Feature " + x.feature), " ",
            el("button", { type: "button", class: "secondary", style: "padding:1px 8px;font-size:.8rem", onclick: () => { chosen = x.feature; render(); } }, "shade")),
          el("span", { class: x.attribution >= 0 ? "" : "muted" }, (x.attribution >= 0 ? "+" : "") + fmt(x.attribution))))))));
  }

  function chip(t) { return el("span", { class: "chip" }, Loupe.chipLabel(t.text) + " #" + t.id); }

  async function run() {
    const text = $("text").value;
    if (!text.trim()) return;
    const body = { text };
    if ($("why-target").value.trim() !== "") body.target = Number($("why-target").value);
    if ($("why-baseline").value.trim() !== "") body.baseline = Number($("why-baseline").value);
    $("why-run").disabled = true;
    $("why-out").replaceChildren(el("p", { class: "muted spinner" }, "Running the model forward and backward"));
    try {
      last = await api("/api/attribute", body);
      chosen = last.features.length ? last.features[0].feature : null;
      render();
    } catch (e) { showError($("why-out"), e); } finally { $("why-run").disabled = false; }
  }

  $("why-run").addEventListener("click", run);
})();
