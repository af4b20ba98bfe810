"use strict";
(() => {
  const { el, api, fmt, featureLink, showError } = Loupe;
  Loupe.header("steer.html");
  const $ = id => document.getElementById(id);
  let rowCount = 0;
  let controller = null;
  let state = null;

  /** One feature row: id, mode, and a strength control that suits the mode. */
  function addRow(feature, mode = "add", strength = 40) {
    const n = rowCount++;
    const idInput = el("input", { type: "number", min: "0", class: "f-id", id: "f-id-" + n, value: feature ?? "", required: true, "aria-label": "feature id" });
    const modeSel = el("select", { class: "f-mode", id: "f-mode-" + n, "aria-label": "steering mode" },
      el("option", { value: "add" }, "add (strength)"), el("option", { value: "orthogonal_decomp" }, "orthogonal decomp. (factor)"),
      el("option", { value: "projection_cap" }, "projection cap (cap)"), el("option", { value: "clamp_max" }, "clamp (× max act.)"),
      el("option", { value: "clamp" }, "clamp (value)"), el("option", { value: "ablate" }, "ablate"));
    modeSel.value = mode;
    const slider = el("input", { type: "range", min: "-300", max: "300", step: "1", value: String(strength), class: "f-strength", id: "f-strength-" + n, "aria-label": "additive strength" });
    const num = el("input", { type: "number", min: "-300", max: "300", step: "any", value: String(strength), class: "f-strength-num", "aria-label": "additive strength value" });
    const mult = el("input", { type: "number", min: "-100", max: "100", step: "0.5", value: "2", class: "f-multiple", "aria-label": "multiple of max activation" });
    const title = el("span", { class: "feat-title" });
    const strengthLabel = el("span", {}, "strength (−300 to 300)");
    const addBox = el("label", { class: "field" }, strengthLabel, el("span", { style: "display:flex;gap:6px;align-items:center" }, slider, num));
    const clampBox = el("label", { class: "field" }, "multiple of max activation", mult, el("span", { class: "hint f-max" }));
    const remove = el("button", { type: "button", class: "secondary", "aria-label": "remove this feature" }, "Remove");
    const row = el("div", { class: "steer-row" }, el("label", { class: "field" }, "feature", idInput), el("label", { class: "field" }, "mode", modeSel), addBox, clampBox, title, remove);
    slider.addEventListener("input", () => { num.value = slider.value; });
    num.addEventListener("input", () => { slider.value = num.value; });
    const LABELS = { add: "strength (−300 to 300)", orthogonal_decomp: "factor on the component along the direction",
      projection_cap: "cap on the projection", clamp: "activation to clamp to" };
    const sync = () => {
      addBox.hidden = !(modeSel.value in LABELS);
      strengthLabel.textContent = LABELS[modeSel.value] || "";
      clampBox.hidden = modeSel.value !== "clamp_max";
    };
    modeSel.addEventListener("change", sync);
    const describe = async () => {
      const f = idInput.value.trim();
      title.replaceChildren();
      if (f === "") return;
      try {
        const s = await api("/api/features/" + f + "/summary");
        title.replaceChildren(featureLink(f, "#" + f), " promotes ", s.top_promoted.slice(0, 4).map(t => JSON.stringify(t.text)).join(" "));
        row.querySelector(".f-max").textContent = s.fire_count > 0 ? "max " + fmt(s.max_activation) : "never fires in the run";
      } catch (e) { title.textContent = e.message; }
    };
    idInput.addEventListener("change", describe);
    remove.addEventListener("click", () => { row.remove(); refreshPlotChoices(); });
    sync();
    $("rows").append(row);
    if (feature !== undefined && feature !== null && feature !== "") describe();
    return row;
  }

  function steerList() {
    return [...document.querySelectorAll(".steer-row")].map(r => {
      const feature = Number(r.querySelector(".f-id").value);
      const mode = r.querySelector(".f-mode").value;
      if (mode === "add" || mode === "orthogonal_decomp" || mode === "projection_cap" || mode === "clamp") {
        return { feature, mode, strength: Number(r.querySelector(".f-strength-num").value) };
      }
      if (mode === "clamp_max") return { feature, mode, strength: Number(r.querySelector(".f-multiple").value) };
      return { feature, mode };
    });
  }

  function refreshPlotChoices(features) {
    const sel = $("plot-feature");
    const list = features || (state ? state.features : []);
    sel.replaceChildren(...list.map((f, i) => el("option", { value: i }, "#" + f)));
  }

  /** The activation a clamp or ablation of the plotted feature sets, when the feature is clamped or ablated. */
  function targetOf(i) {
    const f = state.features[i];
    const s = (state.steer || []).find(x => x.feature === f && x.target !== undefined && x.target !== null);
    return s ? s.target : null;
  }

  function drawPlot() {
    if (!state) return;
    const i = Number($("plot-feature").value || 0);
    const series = [
      { name: "default", color: "#475569", values: state.act.default.map(v => v[i]), labels: state.tokens.default },
      { name: "steered", color: "#c2410c", values: state.act.steered.map(v => v[i]), labels: state.tokens.steered },
    ];
    const target = targetOf(i);
    const note = $("clamp-note");
    if (target !== null) {
      const n = Math.max(state.act.steered.length, state.act.default.length, 1);
      series.push({ name: "value set inside the SAE", color: "#7c3aed", dashed: true, values: Array(n).fill(target) });
      note.hidden = false;
      note.textContent = "#" + state.features[i] + " is set to " + fmt(target) + " inside the SAE (dashed line). The orange line is what the SAE reads from the "
        + "residual stream after that edit: the edit adds (" + fmt(target) + " − the feature's own value) × its decoder direction, and the SAE's encoder "
        + "does not read that direction back exactly, so the line need not sit on the dashed one. It has not failed.";
    } else {
      note.hidden = true;
    }
    Plot.lines($("plot"), series, { title: "feature activation along the generated tokens", xLabel: "generated token", height: 190 });
  }

  /** Clears the plot and its choices, so a stopped or failed run leaves nothing that looks like a result. */
  function resetPlot() {
    state = null;
    $("plot").replaceChildren();
    $("plot-feature").replaceChildren();
    $("clamp-note").hidden = true;
  }

  async function run() {
    const steer = steerList();
    if (!steer.length) { showError($("status"), new Error("add at least one feature to steer")); return; }
    const prompt = $("prompt").value;
    const body = { prompt, steer, temperature: Number($("temperature").value), max_tokens: Number($("max-tokens").value), chat: $("chat").checked,
      strength_multiplier: Number($("multiplier").value), normalize_steering: $("normalize").checked, steer_special_tokens: $("special").checked };
    resetPlot();
    if ($("seed").value.trim() !== "") body.seed = Number($("seed").value);
    state = { features: [], steer: [], act: { default: [], steered: [] }, tokens: { default: [], steered: [] }, text: { default: "", steered: "" } };
    for (const k of ["default", "steered"]) $("out-" + k).replaceChildren(el("span", { class: "prompt" }, body.chat ? "" : prompt));
    $("status").replaceChildren(el("span", { class: "muted spinner" }, "Generating"));
    $("run").disabled = true;
    $("stop").disabled = false;
    controller = new AbortController();
    const outs = { default: null, steered: null };
    try {
      await Loupe.stream("/api/steer", body, (name, d) => {
        if (name === "start") {
          state.features = d.features;
          state.steer = d.steer || [];
          refreshPlotChoices(d.features);
          for (const k of ["default", "steered"]) { outs[k] = el("span", { class: "gen" }); $("out-" + k).append(outs[k]); }
        } else if (name === "token") {
          state.tokens[d.run][d.index] = d.token;
          if (d.text) { state.text[d.run] += d.text; outs[d.run].textContent = state.text[d.run]; }
        } else if (name === "activation") {
          state.act[d.run][d.index] = d.values;
          drawPlot();
        } else if (name === "done") {
          outs[d.run].textContent = d.text;
          outs[d.run].dataset.done = d.finish_reason;
        } else if (name === "error") {
          throw new Error(d.error.message);
        }
      }, controller.signal);
      $("status").replaceChildren(el("span", { class: "muted" }, "Done. Seed " + (body.seed ?? "random") + ", temperature " + body.temperature + "."));
    } catch (e) {
      resetPlot();
      if (e.name === "AbortError") $("status").replaceChildren(el("span", { class: "muted" }, "Stopped. The plot is cleared: a partial run is not compared."));
      else showError($("status"), e);
    } finally {
      $("run").disabled = false;
      $("stop").disabled = true;
      controller = null;
    }
  }

  $("temperature").addEventListener("input", () => { $("temperature-out").textContent = $("temperature").value; });
  $("add-row").addEventListener("click", () => addRow("", "add", 40).querySelector(".f-id").focus());
  $("plot-feature").addEventListener("change", drawPlot);
  $("stop").addEventListener("click", () => controller && controller.abort());
  Loupe.submitOnCtrlEnter($("prompt"), $("form"));
  $("form").addEventListener("submit", e => { e.preventDefault(); run(); });
  Loupe.requireLive($("status"), "Steering").then(live => { if (!live) $("run").disabled = true; });
  const f = Loupe.param("feature");
  addRow(f !== null ? f : "", "add", 40);
})();
