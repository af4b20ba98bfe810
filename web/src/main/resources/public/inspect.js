"use strict";
(() => {
  const { el, api, fmt, featureLink, showError, tokenStrip, tokenLabel } = Loupe;
  Loupe.header("inspect.html");
  const $ = id => document.getElementById(id);
  let last = null;       // the last inspection
  let selected = 1;      // selected token index
  let typicalMax = 0;    // the run's median max activation over its features
  Loupe.serverInfo().then(i => { typicalMax = i.typical_max_activation || 0; }).catch(() => {});

  function render() {
    const r = last;
    const f = r.feature;
    const shadeBy = f === undefined || f === null ? null : f;
    // Without a chosen feature, each token is shaded by its strongest feature, so the text is never blank; the
    // scale is the largest value on the text past <bos> (whose features dwarf every other token's).
    const value = t => shadeBy === null ? (t.top.length ? t.top[0].activation : 0) : (t.value || 0);
    const textMax = Math.max(1e-6, ...r.tokens.slice(1).map(value));
    // A chosen feature that fires only weakly stays faint: full colour at least the run's typical max, as elsewhere.
    const max = shadeBy === null ? textMax : Math.max(textMax, typicalMax);
    const strip = tokenStrip(r.tokens.map(t => ({ text: t.text, value: value(t), index: t.index })), max, {
      label: shadeBy === null ? "strongest feature:" : "feature " + shadeBy + ":",
      onClick: (t) => { selected = t.index; render(); },
    });
    strip.id = "token-strip";
    strip.children[selected] && strip.children[selected].classList.add("sel");
    const tok = r.tokens[Math.min(selected, r.tokens.length - 1)];
    const side = el("div", { class: "card", id: "token-features" },
      el("h2", { style: "margin-top:0" }, "Token ", el("span", { class: "chip" }, Loupe.chipLabel(tok.text)), ` (position ${tok.index})`),
      tok.top.length ? el("ul", { class: "toplist" }, tok.top.map(x => el("li", {},
        el("span", {}, featureLink(x.feature, "Feature " + x.feature), " ",
          el("button", { type: "button", class: "secondary", style: "padding:1px 8px;font-size:.8rem", onclick: () => { $("feature").value = x.feature; run(); } }, "shade")),
        el("span", { class: "muted" }, fmt(x.activation)))))
        : el("p", { class: "muted" }, "No feature is active on this token."));
    const table = el("table", { id: "per-token" },
      el("thead", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "Token"), shadeBy === null ? null : el("th", { class: "num" }, "Feature " + shadeBy), el("th", {}, "Top features"))),
      el("tbody", {}, r.tokens.map(t => el("tr", {},
        el("td", { class: "num" }, t.index),
        el("td", {}, el("span", { class: "chip" }, Loupe.chipLabel(t.text))),
        shadeBy === null ? null : el("td", { class: "num" }, fmt(t.value)),
        el("td", {}, t.top.map(x => el("span", { style: "margin-right:10px;white-space:nowrap" }, featureLink(x.feature, "#" + x.feature), el("span", { class: "muted" }, " " + fmt(x.activation)))))))));
    $("out").replaceChildren(
      el("h2", {}, shadeBy === null ? "Tokens shaded by their strongest feature (select one)" : "Tokens shaded by ", shadeBy === null ? null : featureLink(shadeBy, "feature " + shadeBy)),
      el("p", { class: "hint", id: "shading" }, shadeBy === null
        ? `Each token is shaded by the activation of its strongest feature; full colour is ${fmt(max)}, the largest on this text after <bos>. Give a feature id to shade by that feature instead.`
        : `Full colour is ${fmt(max)}, the larger of feature ${shadeBy}'s largest activation on this text after <bos> and the median max over the run's features.`),
      el("div", { class: "grid side" }, el("div", { class: "card" }, strip), side),
      el("h2", {}, "Every token"), table);
  }

  async function run() {
    const text = $("text").value;
    if (!text.trim()) {
      $("out").replaceChildren(el("p", { class: "notice", role: "status" }, "Type some text to inspect first (the box above is empty)."));
      $("text").focus();
      return;
    }
    const body = { text, top_k: Number($("topk").value || 5) };
    if ($("feature").value.trim() !== "") body.feature = Number($("feature").value);
    $("run").disabled = true;
    $("out").replaceChildren(el("p", { class: "muted spinner" }, "Running the model"));
    try {
      last = await api("/api/inspect", body);
      if (selected >= last.tokens.length) selected = last.tokens.length - 1;
      render();
    } catch (e) { showError($("out"), e); } finally { $("run").disabled = false; }
  }

  Loupe.requireLive($("out"), "The inspector").then(live => { if (!live) $("run").disabled = true; });
  Loupe.submitOnCtrlEnter($("text"), $("form"));
  $("form").addEventListener("submit", e => { e.preventDefault(); run(); });
  const q = Loupe.param("text");
  if (q) { $("text").value = q; if (Loupe.param("feature")) $("feature").value = Loupe.param("feature"); run(); }
})();
