// The browser client's Fossil apply (Comet4Net.Client.js/src/delta.js) timed under node on the C# vectors of
// a 2 KB state (Comet4Net.Client.js/test/fossil-vectors.json): µs per message for what the connector does with
// a delta frame (JS.Delta.applyBytes on the base it keeps as UTF-8 bytes, then the UTF-8 decode before
// JSON.parse). Run by bench/run.sh --delta; alone: node bench/delta-apply.js
const path = require('path');
const JS = require(path.join(__dirname, '..', 'Comet4Net.Client.js', 'dist', 'comet4j.umd.js'));
const vectors = require(path.join(__dirname, '..', 'Comet4Net.Client.js', 'test', 'fossil-vectors.json')).slice(0, 6) // the 2 KB states
  .map((v) => ({ bytes: unescape(encodeURIComponent(v.source)), delta: v.delta, length: v.target.length }));
const once = (v) => decodeURIComponent(escape(JS.Delta.applyBytes(v.bytes, v.delta)));
for (let i = 0; i < 5000; i++) once(vectors[i % vectors.length]);
const runs = 20000;
const start = process.hrtime.bigint();
for (let i = 0; i < runs; i++) {
  const v = vectors[i % vectors.length];
  if (once(v).length !== v.length) throw new Error('wrong result');
}
console.log((Number(process.hrtime.bigint() - start) / 1000 / runs).toFixed(2) + ' µs');
