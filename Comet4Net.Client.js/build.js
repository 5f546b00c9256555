// Writes dist/comet4j.min.js from src/comet4j.js with terser and prints its gzipped size.
// (The server embeds src/comet4j.js as /comet4j.js and dist/comet4j.min.js as /comet4j.min.js.)
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');
const { minify } = require('terser');

async function main() {
  const source = fs.readFileSync(path.join(__dirname, 'src', 'comet4j.js'), 'utf8');
  const dist = path.join(__dirname, 'dist');
  fs.mkdirSync(dist, { recursive: true });
  const result = await minify(source, {
    compress: { passes: 2 },
    mangle: { properties: { regex: /^_/ } },
    // The preamble names the source it was built from: a test fails when src changed without a build.
    format: { preamble: '/* Comet4Net client ' + /JS\.version = '([^']+)'/.exec(source)[1] + ' src-sha256:' +
      crypto.createHash('sha256').update(source).digest('hex').slice(0, 16) + ' */' },
  });
  fs.writeFileSync(path.join(dist, 'comet4j.min.js'), result.code + '\n');
  const gz = zlib.gzipSync(result.code, { level: 9 }).length;
  console.log(`dist/comet4j.min.js: ${result.code.length} bytes, ${gz} bytes gzipped`);
}

main().catch((e) => { console.error(e); process.exit(1); });
