// The browser client's Fossil apply (JS.Delta.apply, Comet4Net.Client.js/src/delta.js) timed under node on
// the C# vectors of a 2 KB state (Comet4Net.Client.js/test/fossil-vectors.json): µs per apply. Run by
// bench/run.sh --delta; alone: node bench/delta-apply.js
const path = require('path');
const JS = require(path.join(__dirname, '..', 'Comet4Net.Client.js', 'dist', 'comet4j.umd.js'));
const vectors = require(path.join(__dirname, '..', 'Comet4Net.Client.js', 'test', 'fossil-vectors.json')).slice(0, 6); // the 2 KB states
for (let i = 0; i < 2000; i++) { const v = vectors[i % vectors.length]; JS.Delta.apply(v.source, v.delta); }
const runs = 20000;
const start = process.hrtime.bigint();
for (let i = 0; i < runs; i++) {
  const v = vectors[i % vectors.length];
  if (JS.Delta.apply(v.source, v.delta).length !== v.target.length) throw new Error('wrong result');
}
console.log((Number(process.hrtime.bigint() - start) / 1000 / runs).toFixed(2) + ' µs');
