"use strict";
// One document of the run, shaded by a feature's activation when the URL names one (document.html?doc=D&feature=F&pos=P,
// as the feature page's example links do); long documents are shown a part at a time.
(() => {
  const { el, api, fmt, fmtInt, featureLink, showError, tokenStrip } = Loupe;
  Loupe.header("");
  const $ = id => document.getElementById(id);
  const SPAN = 2048;
  const int = name => /^[0-9]+$/.test(Loupe.param(name) || "") ? Number(Loupe.param(name)) : null;
  const doc = int("doc"), feature = int("feature"), pos = int("pos");

  function link(from) {
    const p = new URLSearchParams({ doc, from });
    if (feature !== null) p.set("feature", feature);
    if (pos !== null) p.set("pos", pos);
    return "document.html?" + p;
  }

  async function load() {
    if (doc === null) { showError($("status"), new Error("no document: open this page as document.html?doc=N")); return; }
    document.title = `Document ${doc} · Loupe`;
    $("title").textContent = `Document ${doc}`;
    // The part holding the example's token, unless the URL asks for another.
    const from = int("from") !== null ? int("from") : pos !== null ? Math.max(0, pos - SPAN / 2) : 0;
    const q = new URLSearchParams({ from, to: from + SPAN });
    if (feature !== null) q.set("feature", feature);
    let d, info, summary = null;
    try {
      [d, info] = await Promise.all([api(`/api/documents/${doc}?${q}`), Loupe.serverInfo()]);
      if (feature !== null) summary = await api(`/api/features/${feature}/summary`);
    } catch (e) { showError($("status"), e); return; }
    $("subtitle").replaceChildren(`${d.source} · ${fmtInt(d.length)} tokens`,
      feature !== null ? el("span", {}, " · shaded by ", featureLink(feature, "feature " + feature)) : "");
    $("span").textContent = d.length > d.to - d.from || d.from > 0 ? `tokens ${fmtInt(d.from)}–${fmtInt(d.to - 1)} of ${fmtInt(d.length)}` : "";
    $("earlier").hidden = d.from === 0;
    $("earlier").href = link(Math.max(0, d.from - SPAN));
    $("later").hidden = d.to >= d.length;
    $("later").href = link(d.to);
    // The feature page's scale: the larger of the feature's max and the run's typical max.
    const max = summary ? Math.max(summary.max_activation || 0, info.typical_max_activation || 0) || 1 : 1;
    $("shading").textContent = summary ? `Full colour is ${fmt(max)}; the outlined token is the example's.` : "";
    const strip = tokenStrip(d.tokens.map(t => ({ text: t.text, value: feature !== null ? t.activation : 0, center: t.pos === pos })), max,
      { label: feature !== null ? "feature " + feature + ":" : "" });
    $("doc").replaceChildren(strip);
    const center = strip.querySelector(".tok.center");
    if (center) center.scrollIntoView({ block: "center" });
  }
  load();
})();
