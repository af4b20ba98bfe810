// A small SVG plotter for the two charts the pages need: a histogram over (log-spaced) bins and line series
// over token positions. No dependencies; the SVG scales with its container.
"use strict";

const Plot = (() => {
  const NS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    const step0 = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(x => x >= step0) || step0;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(+v.toPrecision(12));
    return out;
  }
  const short = v => {
    const a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1e4 || a < 1e-2) return v.toExponential(0);
    return a >= 10 ? v.toFixed(0) : +v.toPrecision(2) + "";
  };

  /**
   * Bars for counts[i] over [edges[i], edges[i+1]). Bins are drawn equally wide (they are log-spaced, so the x axis
   * is a log scale), with ticks at the edges that are round numbers (1, 2, 5 × 10^k) when there are enough of them,
   * else at evenly spaced edges. opts: {width, height, title, color, xLabel}.
   */
  function histogram(container, edges, counts, opts = {}) {
    // R leaves room for half of the last tick label, which is centred on the right edge.
    const W = opts.width || Math.max(320, container.clientWidth || 560), H = opts.height || 190, L = 46, R = 24, T = 10, B = 36;
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.title || "histogram" });
    svg.append(s("title", {}, opts.title || "histogram"));
    const n = counts.length;
    const max = Math.max(1, ...counts);
    const bw = (W - L - R) / Math.max(1, n);
    for (const t of niceTicks(0, max, 4)) {
      const y = T + (H - T - B) * (1 - t / max);
      svg.append(s("line", { x1: L, x2: W - R, y1: y, y2: y, stroke: "#e5e7eb" }));
      svg.append(s("text", { x: L - 6, y: y + 4, "text-anchor": "end" }, short(t)));
    }
    counts.forEach((c, i) => {
      const h = (H - T - B) * c / max;
      const gap = bw > 4 ? 1 : 0;   // fine bins touch: a gap per bar would grey the whole chart
      const r = s("rect", { x: L + i * bw + gap / 2, y: H - B - h, width: Math.max(0.8, bw - gap), height: h, fill: opts.color || "#f08a24" });
      r.append(s("title", {}, `[${fmtEdge(edges[i])}, ${fmtEdge(edges[i + 1])}): ${c.toLocaleString("en-US")}`));
      svg.append(r);
    });
    for (const i of tickEdges(edges)) {
      const x = L + i * bw;
      svg.append(s("line", { x1: x, x2: x, y1: H - B, y2: H - B + 4, stroke: "#9ca3af" }));
      svg.append(s("text", { x, y: H - B + 15, "text-anchor": "middle" }, short(edges[i])));
    }
    svg.append(s("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, opts.xLabel || "activation (log scale)"));
    svg.append(s("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#9ca3af" }));
    container.replaceChildren(svg);
  }

  const fmtEdge = v => +v.toPrecision(3) + "";

  /** Indices of the edges to label: round numbers when at least three are, else about eight spread out. */
  function tickEdges(edges) {
    const round = [];
    edges.forEach((e, i) => {
      if (!(e > 0)) return;
      const lg = Math.log10(e), k = Math.floor(lg + 1e-9);
      if ([1, 2, 5].some(m => Math.abs(lg - (k + Math.log10(m))) < 0.0025)) round.push(i);
    });
    let out = round;
    if (round.length < 3) {
      out = [];
      const every = Math.max(1, Math.ceil((edges.length - 1) / 8));
      for (let i = 0; i < edges.length; i += every) out.push(i);
    }
    // Thin the labels so that neighbours never overlap (about 9 fit).
    const every = Math.ceil(out.length / 9);
    return out.filter((_, j) => j % every === 0);
  }

  /**
   * Lines over x = 0..n-1. series: [{name, color, values: [..] (NaN/undefined = not yet)}]. opts: {width, height,
   * title, xLabel, yLabel}.
   */
  function lines(container, series, opts = {}) {
    const W = opts.width || Math.max(320, container.clientWidth || 640), H = opts.height || 200, L = 46, R = 12, T = 10, B = 34;
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.title || "plot" });
    svg.append(s("title", {}, opts.title || "plot"));
    const n = Math.max(2, ...series.map(x => x.values.length));
    const vals = series.flatMap(x => x.values).filter(v => Number.isFinite(v));
    let lo = Math.min(0, ...vals), hi = Math.max(1e-6, ...vals);
    if (hi - lo < 1e-6) hi = lo + 1;
    const X = i => L + (W - L - R) * i / (n - 1);
    const Y = v => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
    for (const t of niceTicks(lo, hi, 4)) {
      svg.append(s("line", { x1: L, x2: W - R, y1: Y(t), y2: Y(t), stroke: t === 0 ? "#9ca3af" : "#e5e7eb" }));
      svg.append(s("text", { x: L - 6, y: Y(t) + 4, "text-anchor": "end" }, short(t)));
    }
    for (const t of niceTicks(0, n - 1, 8)) {
      if (t !== Math.round(t)) continue;
      svg.append(s("text", { x: X(t), y: H - B + 14, "text-anchor": "middle" }, String(t)));
    }
    for (const ser of series) {
      let d = "";
      ser.values.forEach((v, i) => { if (Number.isFinite(v)) d += (d ? "L" : "M") + X(i).toFixed(1) + "," + Y(v).toFixed(1); });
      if (d) svg.append(s("path", Object.assign({ d, fill: "none", stroke: ser.color, "stroke-width": 2 }, ser.dashed ? { "stroke-dasharray": "6 4" } : {})));
      if (ser.dashed) continue;
      ser.values.forEach((v, i) => {
        if (!Number.isFinite(v)) return;
        const c = s("circle", { cx: X(i), cy: Y(v), r: 2.6, fill: ser.color });
        c.append(s("title", {}, `${ser.name}, token ${i}${ser.labels && ser.labels[i] !== undefined ? " " + JSON.stringify(ser.labels[i]) : ""}: ${v.toFixed(3)}`));
        svg.append(c);
      });
    }
    svg.append(s("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, opts.xLabel || "generated token"));
    container.replaceChildren(svg);
  }

  return { histogram, lines };
})();
