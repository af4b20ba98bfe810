// An independent reader of a Loupe corpus run, written against the Arrow format with the apache-arrow JS package
// (no Loupe code): reads every file of the run, recomputes each feature's fire count, maximum and top-5 examples
// from the activation shards, and compares them with features.arrow and top_examples.arrow.
//
//   node check-run.cjs RUN_DIR NODE_DIR      (NODE_DIR holds node_modules with apache-arrow, fzstd, lz4js)
// Prints "check-run: ok ..." and exits 0, or prints each mismatch and exits 1.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const [runDir, nodeDir] = process.argv.slice(2);
if (!runDir || !nodeDir) { console.error('usage: node check-run.cjs RUN_DIR NODE_DIR'); process.exit(2); }
const req = createRequire(path.join(path.resolve(nodeDir), 'node_modules', 'x.js'));
const arrow = req('apache-arrow');
const fzstd = req('fzstd');
const lz4 = req('lz4js');
// Arrow JS decodes compressed IPC bodies through codecs registered by the application.
arrow.compressionRegistry.set(arrow.CompressionType.ZSTD, { decode: (b) => fzstd.decompress(b) });
arrow.compressionRegistry.set(arrow.CompressionType.LZ4_FRAME, { decode: (b) => Uint8Array.from(lz4.decompress(b)) });

const errors = [];
function fail(msg) { if (errors.length < 50) errors.push(msg); }
function read(file) {
  const t = arrow.tableFromIPC(fs.readFileSync(file));
  for (const k of ['loupe_version', 'model', 'sae', 'hook']) {
    if (!t.schema.metadata.has(k)) fail(`${file}: schema metadata has no '${k}'`);
  }
  return t;
}
function col(t, name) {
  const c = t.getChild(name);
  if (!c) { fail(`missing column ${name}`); return []; }
  return c.toArray();
}
function expectColumns(t, file, names) {
  const have = t.schema.fields.map((f) => f.name).join(',');
  if (have !== names.join(',')) fail(`${file}: columns ${have}, expected ${names.join(',')}`);
}

const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
if (run.complete !== true) fail('run.json: complete is not true');
const context = run.options.context;
const windowOf = (pos) => (pos < context ? 0 : 1 + Math.floor((pos - context) / (context - 1)));

const tokens = read(path.join(runDir, 'tokens.arrow'));
expectColumns(tokens, 'tokens.arrow', ['doc_id', 'pos', 'token_id']);
if (tokens.numRows !== run.tokens) fail(`tokens.arrow: ${tokens.numRows} rows, run.json says ${run.tokens}`);
const docs = read(path.join(runDir, 'documents.arrow'));
expectColumns(docs, 'documents.arrow', ['doc_id', 'token_offset', 'token_count', 'source']);
if (docs.numRows !== run.documents) fail(`documents.arrow: ${docs.numRows} rows, run.json says ${run.documents}`);
{
  const tDoc = col(tokens, 'doc_id'), tPos = col(tokens, 'pos');
  const off = col(docs, 'token_offset'), cnt = col(docs, 'token_count');
  for (let d = 0; d < docs.numRows; d++) {
    const o = Number(off[d]);
    if (tDoc[o] !== d || tPos[o] !== 0) fail(`documents.arrow: doc ${d} offset ${o} does not point at its pos 0 in tokens.arrow`);
    if (o + cnt[d] !== (d + 1 < docs.numRows ? Number(off[d + 1]) : tokens.numRows)) fail(`documents.arrow: doc ${d} count ${cnt[d]} leaves a gap`);
  }
}

let checkedFeatures = 0, checkedRows = 0;
for (const sae of run.saes) {
  const dir = path.join(runDir, sae.dir);
  const nF = sae.d_sae;
  const fire = new Float64Array(nF), max = new Float32Array(nF);
  const best = new Map();   // feature*2^32... -> per (feature, doc, window) best token
  const shardFiles = fs.readdirSync(dir).filter((n) => /^activations-\d{5}\.arrow$/.test(n)).sort();
  if (shardFiles.length !== run.shards.length) fail(`${sae.id}: ${shardFiles.length} shard files, run.json lists ${run.shards.length}`);
  let rows = 0, lastDoc = -1, lastPos = -1;
  for (const name of shardFiles) {
    const t = read(path.join(dir, name));
    expectColumns(t, name, ['doc_id', 'pos', 'feature_id', 'activation']);
    const d = col(t, 'doc_id'), p = col(t, 'pos'), f = col(t, 'feature_id'), a = col(t, 'activation');
    for (let i = 0; i < t.numRows; i++) {
      if (d[i] < lastDoc || (d[i] === lastDoc && p[i] < lastPos)) fail(`${name}: row ${i} breaks the (doc_id, pos) order`);
      lastDoc = d[i]; lastPos = p[i];
      const fi = f[i], v = a[i];
      if (!(v > 0)) fail(`${name}: row ${i} has activation ${v}`);
      fire[fi]++;
      if (v > max[fi]) max[fi] = v;
      const key = `${fi}:${d[i]}:${windowOf(p[i])}`;
      const b = best.get(key);
      if (!b || v > b[2]) best.set(key, [d[i], p[i], v]);
    }
    rows += t.numRows;
  }
  const expectedRows = run.shards.reduce((s, sh) => s + sh.rows[run.saes.indexOf(sae)], 0);
  if (rows !== expectedRows) fail(`${sae.id}: ${rows} activation rows, run.json says ${expectedRows}`);
  checkedRows += rows;

  const feats = read(path.join(dir, 'features.arrow'));
  expectColumns(feats, 'features.arrow', ['feature_id', 'fire_count', 'density', 'max_activation', 'mean_activation', 'hist_edges',
    'hist_counts', 'top_promoted_ids', 'top_promoted_values', 'top_promoted_tokens', 'top_suppressed_ids', 'top_suppressed_values',
    'top_suppressed_tokens']);
  if (feats.numRows !== nF) fail(`${sae.id}/features.arrow: ${feats.numRows} rows, expected d_sae ${nF}`);
  const fid = col(feats, 'feature_id'), fc = col(feats, 'fire_count'), fmax = col(feats, 'max_activation'), dens = col(feats, 'density');
  const hc = feats.getChild('hist_counts'), he = feats.getChild('hist_edges'), pv = feats.getChild('top_promoted_values');
  for (let i = 0; i < feats.numRows; i++) {
    const f = fid[i];
    if (f !== i) fail(`${sae.id}/features.arrow: row ${i} has feature_id ${f}`);
    if (Number(fc[i]) !== fire[f]) fail(`${sae.id}: feature ${f} fire_count ${fc[i]}, recomputed ${fire[f]}`);
    if (fmax[i] !== max[f]) fail(`${sae.id}: feature ${f} max_activation ${fmax[i]}, recomputed ${max[f]}`);
    if (Math.abs(dens[i] - fire[f] / run.tokens) > 1e-12) fail(`${sae.id}: feature ${f} density ${dens[i]}`);
    const counts = hc.get(i).toArray();
    const total = counts.reduce((s, c) => s + Number(c), 0);
    if (total !== fire[f]) fail(`${sae.id}: feature ${f} histogram holds ${total}, fire count ${fire[f]}`);
    if (counts.length > 0 && he.get(i).length !== counts.length + 1) fail(`${sae.id}: feature ${f} has ${he.get(i).length} edges for ${counts.length} bins`);
    const vals = pv.get(i).toArray();
    for (let k = 1; k < vals.length; k++) if (vals[k] > vals[k - 1]) fail(`${sae.id}: feature ${f} promoted values not descending`);
  }

  const ex = read(path.join(dir, 'top_examples.arrow'));
  expectColumns(ex, 'top_examples.arrow', ['feature_id', 'kind', 'rank', 'doc_id', 'pos', 'activation']);
  const top = new Map();
  {
    const ef = col(ex, 'feature_id'), er = col(ex, 'rank'), ed = col(ex, 'doc_id'), ep = col(ex, 'pos'), ea = col(ex, 'activation');
    const ek = ex.getChild('kind');
    for (let i = 0; i < ex.numRows; i++) {
      const kind = ek.get(i);
      if (kind !== 'top' && !/^quantile_\d+$/.test(kind)) fail(`top_examples.arrow: row ${i} kind '${kind}'`);
      if (kind !== 'top') continue;
      if (!top.has(ef[i])) top.set(ef[i], []);
      top.get(ef[i]).push([er[i], ed[i], ep[i], ea[i]]);
    }
  }
  const perFeature = new Map();
  for (const [key, v] of best) {
    const f = Number(key.split(':')[0]);
    if (!perFeature.has(f)) perFeature.set(f, []);
    perFeature.get(f).push(v);
  }
  for (let f = 0; f < nF; f++) {
    const want = (perFeature.get(f) || []).sort((x, y) => (y[2] - x[2]) || (x[0] - y[0]) || (x[1] - y[1])).slice(0, 5);
    const have = (top.get(f) || []).sort((x, y) => x[0] - y[0]).slice(0, 5);
    if (want.length !== have.length) { fail(`${sae.id}: feature ${f} has ${have.length} of its top 5 examples, recomputed ${want.length}`); continue; }
    for (let r = 0; r < want.length; r++) {
      const [rank, d, p, a] = have[r];
      if (rank !== r || d !== want[r][0] || p !== want[r][1] || a !== want[r][2]) {
        fail(`${sae.id}: feature ${f} top example ${r} is (doc ${d}, pos ${p}, ${a}), recomputed (doc ${want[r][0]}, pos ${want[r][1]}, ${want[r][2]})`);
      }
    }
    checkedFeatures++;
  }
}
if (errors.length) {
  for (const e of errors) console.log('check-run: ' + e);
  process.exit(1);
}
console.log(`check-run: ok ${run.saes.length} SAE(s), ${checkedFeatures} features, ${checkedRows} activation rows, ${run.tokens} tokens`);
