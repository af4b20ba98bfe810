"use strict";
(() => {
  const { el, api, fmt, featureLink, showError } = Loupe;
  Loupe.header("shield.html");
  const $ = id => document.getElementById(id);

  function render(r) {
    const pct = (100 * r.p_yes).toFixed(2) + "%";
    const verdict = el("p", { id: "verdict", class: "card" }, el("strong", {}, "P(Yes) = " + r.p_yes.toFixed(6)), " (" + pct + "): logit(Yes) ",
      fmt(r.yes_logit), ", logit(No) ", fmt(r.no_logit), ", ", r.token_ids.length + " tokens");
    const features = r.features_note
      ? el("p", { class: "notice" }, r.features_note)
      : r.features.length === 0
        ? el("p", { class: "muted" }, "No SAE feature pushes toward Yes here.")
        : el("table", { id: "shield-features" },
          el("thead", {}, el("tr", {}, el("th", {}, "Feature"), el("th", {}, "Token"), el("th", { class: "num" }, "Position"),
            el("th", { class: "num" }, "Activation"), el("th", { class: "num" }, "Attribution to logit(Yes) − logit(No)"))),
          el("tbody", {}, r.features.map(f => el("tr", {},
            el("td", {}, featureLink(f.feature, "Feature " + f.feature)), el("td", {}, el("span", { class: "chip" }, Loupe.chipLabel(f.token))),
            el("td", { class: "num" }, f.position), el("td", { class: "num" }, fmt(f.activation)), el("td", { class: "num" }, fmt(f.attribution))))));
    $("out").replaceChildren(verdict, el("h2", {}, "Features pushing toward Yes"), features,
      el("details", {}, el("summary", {}, "The prompt ShieldGemma saw"), el("pre", { id: "prompt-text" }, r.prompt_text)));
  }

  async function run() {
    if (!$("prompt").value.trim() || !$("policy").value.trim()) {
      $("out").replaceChildren(el("p", { class: "notice", role: "status" }, "Fill in a policy and a prompt first."));
      return;
    }
    const body = { prompt: $("prompt").value, policy: $("policy").value, top_k: Number($("topk").value || 0) };
    if ($("response").value.trim()) body.response = $("response").value;
    $("run").disabled = true;
    $("out").replaceChildren(el("p", { class: "muted spinner" }, "Running the model"));
    try { render(await api("/api/shield", body)); } catch (e) { showError($("out"), e); } finally { $("run").disabled = false; }
  }

  Loupe.requireLive($("out"), "Shield").then(live => { if (!live) $("run").disabled = true; });
  Loupe.submitOnCtrlEnter($("prompt"), $("form"));
  $("form").addEventListener("submit", e => { e.preventDefault(); run(); });
})();
