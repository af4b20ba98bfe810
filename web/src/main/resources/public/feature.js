"use strict";
(() => {
  const { el, api, fmt, fmtInt, fmtDensity, featureLink, showError, tokenStrip, tokenLabel } = Loupe;
  Loupe.header("");
  const $ = id => document.getElementById(id);
  const raw = Loupe.param("id");
  const id = Number(raw);
  let corpusMax = 0;

  function stat(k, v) { return el("div", { class: "stat" }, el("div", { class: "v" }, v), el("div", { class: "k" }, k)); }

  function logitRows(tbody, list, cls) {
    tbody.replaceChildren(...list.map(t => el("tr", {},
      el("td", {}, el("span", { class: "chip " + cls }, Loupe.chipLabel(t.text))),
      el("td", { class: "num" }, fmt(t.value)))));
  }

  function exampleRow(ex, max) {
    const tokens = ex.window.map(t => ({ text: t.text, value: t.activation, center: t.pos === ex.pos }));
    return el("div", { class: "example" },
      el("div", { class: "act", title: `document ${ex.doc_id}, token ${ex.pos}` }, fmt(ex.activation)),
      tokenStrip(tokens, max));
  }

  async function load() {
    if (raw === null || !Number.isInteger(id) || id < 0) { showError($("status"), new Error("no feature id: open this page as feature.html?id=N")); return; }
    document.title = `Feature ${id} · Loupe`;
    $("title").textContent = `Feature ${id}`;
    $("prev-f").href = "feature.html?id=" + Math.max(0, id - 1);
    $("next-f").href = "feature.html?id=" + (id + 1);
    $("steer-link").href = "steer.html?feature=" + id;
    let card;
    try {
      card = await api("/api/features/" + id + "?context=8");
    } catch (e) { showError($("status"), e); return; }
    const s = card.summary;
    corpusMax = s.max_activation;
    $("stats").replaceChildren(stat("density", fmtDensity(s.density)), stat("fires on tokens", fmtInt(s.fire_count)),
      stat("max activation", fmt(s.max_activation)), stat("mean when firing", fmt(s.mean_activation)));
    $("subtitle").textContent = "A feature of the SAE at " + card.hook + ".";
    if (card.histogram && card.histogram.counts.length) {
      Plot.histogram($("hist"), card.histogram.edges, card.histogram.counts, { title: `Activation histogram of feature ${id}` });
    } else {
      $("hist").replaceChildren(el("p", { class: "muted" }, "This feature never fires in the run (a dead feature)."));
    }
    logitRows(document.querySelector("#promoted tbody"), s.top_promoted, "pos");
    logitRows(document.querySelector("#suppressed tbody"), s.top_suppressed, "neg");

    const max = s.max_activation || 1;
    const top = card.examples.filter(e => e.kind === "top");
    $("top-examples").replaceChildren(top.length ? el("div", {}, top.map(e => exampleRow(e, max))) : el("p", { class: "muted" }, "No examples."));
    const groups = {};
    for (const e of card.examples) if (e.kind !== "top") (groups[e.kind] = groups[e.kind] || []).push(e);
    const names = Object.keys(groups).sort((a, b) => Number(a.split("_")[1]) - Number(b.split("_")[1]));
    $("quantiles").replaceChildren(...names.map((k, i) => {
      const list = groups[k];
      const lo = Math.min(...list.map(e => e.activation)), hi = Math.max(...list.map(e => e.activation));
      return el("details", { open: i === 0 },
        el("summary", {}, `Quantile ${k.split("_")[1]}: activations ${fmt(lo)} – ${fmt(hi)} (${list.length} examples)`),
        list.map(e => exampleRow(e, max)));
    }));
    if (names.length) $("quantiles").prepend(el("h3", {}, "Quantile groups (sampled from activation bands below the top)"));

    api("/api/features/" + id + "/neighbours?k=10").then(r => {
      $("neighbours").replaceChildren(...r.neighbours.map(n => el("li", {}, featureLink(n.feature_id, "Feature " + n.feature_id), el("span", { class: "muted" }, "cos " + n.cosine.toFixed(3)))));
    }).catch(e => { $("neighbours").replaceChildren(el("li", { class: "muted" }, e.message)); });
  }

  const form = $("test-form");
  Loupe.submitOnCtrlEnter($("test-text"), form);
  Loupe.requireLive($("test-out"), "Testing your own text").then(live => { if (!live) $("test-run").disabled = true; });
  form.addEventListener("submit", async e => {
    e.preventDefault();
    const text = $("test-text").value;
    if (!text.trim()) return;
    $("test-run").disabled = true;
    $("test-out").replaceChildren(el("span", { class: "muted spinner" }, "Running"));
    try {
      const r = await api("/api/features/" + id + "/activations", { text });
      const toks = r.tokens.map(t => ({ text: t.text, value: t.value }));
      // Shaded on the corpus scale (as the examples are), or the text's own when the feature never fired in the run.
      const max = corpusMax > 0 ? corpusMax : Math.max(r.max, 1e-6);
      $("test-max").textContent = "max on this text: " + fmt(r.max);
      $("test-out").replaceChildren(tokenStrip(toks, max, { allValues: true }));
    } catch (err) { showError($("test-out"), err); } finally { $("test-run").disabled = false; }
  });
  load();
})();
