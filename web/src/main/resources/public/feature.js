"use strict";
(() => {
  const { el, api, fmt, fmtInt, fmtDensity, featureLink, showError, tokenStrip } = Loupe;
  Loupe.header("");
  const $ = id => document.getElementById(id);
  const raw = Loupe.param("id");
  const id = /^[0-9]+$/.test(raw || "") ? Number(raw) : NaN;
  let shadeMax = 0;   // the value that gets full colour on this page (see shadingScale)
  const WIDE = 64;    // tokens either side when an example is widened

  function stat(k, v) { return el("div", { class: "stat" }, el("div", { class: "v" }, v), el("div", { class: "k" }, k)); }

  function logitRows(tbody, list, cls) {
    tbody.replaceChildren(...list.map(t => el("tr", {},
      el("td", {}, el("span", { class: "chip " + cls }, Loupe.chipLabel(t.text))),
      el("td", { class: "num" }, fmt(t.value)))));
  }

  /**
   * Full colour at the larger of the feature's own max and the run's typical max (the median over its live
   * features): a feature that barely fires (max 0.004 where features typically reach 5) is drawn faint, as it is.
   */
  function shadingScale(featureMax, typical) {
    return Math.max(featureMax || 0, typical || 0) || 1;
  }

  function stripOf(tokens, pos) {
    return tokenStrip(tokens.map(t => ({ text: t.text, value: t.activation, center: t.pos === pos })), shadeMax);
  }

  function exampleRow(ex) {
    const strip = el("div", { class: "ex-tokens" }, stripOf(ex.window, ex.pos));
    const more = el("button", { type: "button", class: "link", title: `show ${WIDE} tokens either side` }, "more context");
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        const d = await api(`/api/documents/${ex.doc_id}?feature=${id}&from=${Math.max(0, ex.pos - WIDE)}&to=${ex.pos + WIDE + 1}`);
        strip.replaceChildren(stripOf(d.tokens, ex.pos));
        more.hidden = true;
        strip.closest(".example").classList.add("wide");
      } catch (e) { more.disabled = false; showError(strip, e); }
    });
    const doc = el("a", { href: `document.html?doc=${ex.doc_id}&feature=${id}&pos=${ex.pos}`, title: "the whole document, shaded by this feature" }, "document");
    return el("div", { class: "example" },
      el("div", { class: "act", title: `document ${ex.doc_id}, token ${ex.pos}` }, fmt(ex.activation)),
      strip,
      el("div", { class: "ex-actions" }, more, doc));
  }

  /**
   * Quantile k holds activations in [(1 - k/Q)·max, (1 - (k-1)/Q)·max) sampled outside the top examples. The
   * strongest bands are often empty because every window that strong is already a top example: say so, rather
   * than let the list start at "Quantile 2".
   */
  function quantileGroups(examples, max, q) {
    const groups = {};
    for (const e of examples) if (e.kind !== "top") (groups[e.kind] = groups[e.kind] || []).push(e);
    const present = Object.keys(groups).map(k => Number(k.split("_")[1]));
    if (!present.length) return [];
    const last = Math.max(...present), bands = q || last;
    const out = [el("h3", {}, "Quantile groups"),
      el("p", { class: "hint" }, `Examples sampled from ${bands} equal bands of activation, outside the top examples: quantile 1 is the strongest band (${Math.round(100 - 100 / bands)}–100% of the max).`)];
    let openFirst = true;
    for (let k = 1; k <= last; k++) {
      const list = groups["quantile_" + k] || [];
      const hiPct = Math.round(100 * (1 - (k - 1) / bands)), loPct = Math.round(100 * (1 - k / bands));
      const band = `${loPct}–${hiPct}% of max (${fmt(max * loPct / 100)} – ${fmt(max * hiPct / 100)})`;
      if (!list.length) {
        out.push(el("div", { class: "quantile empty", "data-band": k },
          el("strong", {}, `Quantile ${k}`), `: ${band}: no examples beyond the top ones above (every window this strong is already a top example).`));
        continue;
      }
      out.push(el("details", { open: openFirst, class: "quantile", "data-band": k },
        el("summary", {}, `Quantile ${k}: ${band}, ${list.length} example${list.length === 1 ? "" : "s"}`),
        list.map(exampleRow)));
      openFirst = false;
    }
    return out;
  }

  // Without a card there is nothing to show, steer or test: only the reason (empty panels read as a feature that never fires).
  function noCard(err) {
    $("steer-link").hidden = true;
    $("panels").hidden = true;
    showError($("status"), err);
  }

  async function load() {
    if (raw === null || !Number.isInteger(id) || id < 0) {
      for (const a of ["prev-f", "next-f"]) $(a).hidden = true;
      noCard(new Error("no feature id: open this page as feature.html?id=N"));
      return;
    }
    document.title = `Feature ${id} · Loupe`;
    $("title").textContent = `Feature ${id}`;
    let info;
    try { info = await Loupe.serverInfo(); } catch (e) { noCard(e); return; }
    const count = info.features;
    // Neighbours that exist only: no "next" past the last feature, no steering a feature that is not there.
    $("prev-f").hidden = id === 0;
    $("prev-f").href = "feature.html?id=" + Math.min(id - 1, count - 1);
    $("next-f").hidden = id >= count - 1;
    $("next-f").href = "feature.html?id=" + (id + 1);
    if (id >= count) {
      noCard(new Error(`feature ${id} does not exist: this run has features 0–${count - 1}`));
      return;
    }
    let card;
    try {
      card = await api("/api/features/" + id + "?context=8");
    } catch (e) { noCard(e); return; }
    $("steer-link").href = "steer.html?feature=" + id;
    $("steer-link").hidden = !info.live;
    const s = card.summary;
    $("stats").replaceChildren(stat("density", fmtDensity(s.density)), stat("fires on tokens", fmtInt(s.fire_count)),
      stat("max activation", fmt(s.max_activation)), stat("mean when firing", fmt(s.mean_activation)));
    $("subtitle").textContent = "A feature of the SAE at " + card.hook + ".";
    api("/api/features/" + id + "/explanations").then(r => {
      $("explanations").hidden = r.explanations.length === 0;
      $("expl-list").replaceChildren(...r.explanations.map(x => el("li", { class: "explanation" },
        el("span", { class: "expl-text" }, x.explanation), " ",
        el("span", { class: "muted expl-scores" }, `detection ${x.detection == null ? "n/a" : fmt(x.detection)}, fuzzing ${x.fuzzing == null ? "n/a" : fmt(x.fuzzing)} · ${x.explainer_model}`))));
    }).catch(() => { $("explanations").hidden = true; });
    if (card.histogram && card.histogram.counts.length) {
      Plot.histogram($("hist"), card.histogram.edges, card.histogram.counts, { title: `Activation histogram of feature ${id}` });
    } else {
      $("hist").replaceChildren(el("p", { class: "muted" }, "This feature never fires in the run (a dead feature)."));
    }
    logitRows(document.querySelector("#promoted tbody"), s.top_promoted, "pos");
    logitRows(document.querySelector("#suppressed tbody"), s.top_suppressed, "neg");

    shadeMax = shadingScale(s.max_activation, info.typical_max_activation);
    $("shading").textContent = shadeMax > (s.max_activation || 0)
      ? `Full colour is ${fmt(shadeMax)}, the median max activation over this run's features: this feature's own max (${fmt(s.max_activation)}) is below it, so its tokens stay faint.`
      : `Full colour is this feature's max activation, ${fmt(shadeMax)}.`;
    const top = card.examples.filter(e => e.kind === "top");
    $("top-examples").replaceChildren(top.length ? el("div", {}, top.map(exampleRow)) : el("p", { class: "muted" }, "No examples."));
    const q = info.run && info.run.options ? Number(info.run.options.quantiles) : 0;
    $("quantiles").replaceChildren(...quantileGroups(card.examples, s.max_activation, q));

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
    if (!text.trim()) { $("test-out").replaceChildren(el("p", { class: "muted" }, "Type some text first.")); return; }
    $("test-run").disabled = true;
    $("test-out").replaceChildren(el("span", { class: "muted spinner" }, "Running"));
    try {
      const r = await api("/api/features/" + id + "/activations", { text });
      const toks = r.tokens.map(t => ({ text: t.text, value: t.value }));
      // On the examples' scale, or the text's own when the feature never fired in the run.
      const max = shadeMax > 0 ? shadeMax : Math.max(r.max, 1e-6);
      $("test-max").textContent = "max on this text: " + fmt(r.max);
      $("test-out").replaceChildren(tokenStrip(toks, max, { allValues: true }));
    } catch (err) { showError($("test-out"), err); } finally { $("test-run").disabled = false; }
  });
  load();
})();
