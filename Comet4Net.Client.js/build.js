// Copies src/comet4j.js to dist/ and writes dist/comet4j.min.js with terser; --size prints the gzipped size.
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { minify } = require('terser');

async function main() {
  const source = fs.readFileSync(path.join(__dirname, 'src', 'comet4j.js'), 'utf8');
  const dist = path.join(__dirname, 'dist');
  fs.mkdirSync(dist, { recursive: true });
  fs.writeFileSync(path.join(dist, 'comet4j.js'), source);
  const result = await minify(source, {
    compress: { passes: 2 },
    mangle: { properties: { regex: /^_/ } },
    format: { preamble: '/* Comet4Net client ' + /JS\.version = '([^']+)'/.exec(source)[1] + ' */' },
  });
  fs.writeFileSync(path.join(dist, 'comet4j.min.js'), result.code + '\n');
  const gz = zlib.gzipSync(result.code, { level: 9 }).length;
  console.log(`dist/comet4j.min.js: ${result.code.length} bytes, ${gz} bytes gzipped`);
}

main().catch((e) => { console.error(e); process.exit(1); });
