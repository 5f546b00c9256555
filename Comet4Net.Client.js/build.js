// Builds dist/ from src/ (one file per job: events, requests, JSON-P, the transports, the connector,
// the engine's channel API, tab sharing), concatenated in FILES order inside one function:
//   dist/comet4j.js            the script served as /comet4j.js (a script tag, no build step for a page)
//   dist/comet4j.min.js        the script, minified (terser)
//   dist/comet4j.mjs           an ES module: export default JS, export { JS, Engine }
//   dist/comet4j.umd.js        the script that require() can load too: module.exports = JS
//   dist/comet4j.min.js.gz/.br and dist/comet4j.js.gz/.br
//                              the two scripts the server serves, precompressed at the highest level,
//                              byte for byte the same once decompressed
// Every text file starts with a preamble naming the hash of the bundle of every src file: a test fails
// when src changed without a build. (The server embeds dist/comet4j.js, dist/comet4j.min.js and the
// four compressed copies.)
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');
const { minify } = require('terser');

// Bundle order: each file uses only what the ones before it define (at load time).
const FILES = ['core.js', 'codes.js', 'http.js', 'jsonp.js',
  'transports/websocket.js', 'transports/stream.js', 'transports/lpool.js', 'transports/sse.js', 'transports/list.js',
  'connector.js', 'frames.js', 'delta.js', 'wake.js', 'token.js', 'engine.js', 'tabs.js',
  'publish.js'];

const HEADER = [
  '/*',
  ' * Comet4Net browser client: the JS.Engine API of Comet4J\'s comet4j.js, on the v2 dialect (docs/protocol.md):',
  ' * acknowledged, gap-free delivery across reconnects over WebSocket, streaming, Server-Sent Events or long',
  ' * polling (moving down that list when one does not open, and back), channel subscriptions, history,',
  ' * presence counts, client publishing, JSON-P and one connection shared by a browser\'s tabs.',
  ' * Built from src/ by build.js: edit the sources, then npm run build.',
  ' */',
  '(function (window) {',
  "  'use strict';",
].join('\n');

/** The script: every src file in FILES order inside one function, called with the page's window. */
function bundle() {
  const dir = path.join(__dirname, 'src');
  const parts = FILES.map((f) => fs.readFileSync(path.join(dir, f), 'utf8').replace(/\s+$/, ''));
  return [HEADER, parts.join('\n\n'), "})(typeof window !== 'undefined' ? window : this);", ''].join('\n');
}

// The last line of the bundle: the script hands its function the page's window, or `this` elsewhere. In an
// ES module `this` is undefined, and outside a page (Node, server rendering) there is no
// addEventListener for the client's pagehide hook: the module builds hand it a host instead.
const TAIL = /\}\)\(typeof window !== 'undefined' \? window : this\);\s*$/;

const HOST = [
  '// Built from src/ by build.js: edit the sources, then npm run build.',
  "var __c4jGlobal = typeof window !== 'undefined' ? window : globalThis;",
  '// Outside a page (Node, server rendering) nothing fires pagehide: the client gets a host whose',
  '// addEventListener does nothing, and everything else (WebSocket, fetch, …) from the global object.',
  "var __c4jHost = typeof __c4jGlobal.addEventListener === 'function' ? __c4jGlobal : Object.create(__c4jGlobal, {",
  '  addEventListener: { value: function () {} },',
  '  removeEventListener: { value: function () {} }',
  '});',
].join('\n');
const GLOBAL = [
  'var JS = __c4jHost.JS;',
  'if (__c4jHost !== __c4jGlobal) __c4jGlobal.JS = JS; // the JS global, as the script sets it in a page',
].join('\n');

function moduleBody(source) {
  if (!TAIL.test(source)) {
    throw new Error("the bundle no longer ends with \"})(typeof window !== 'undefined' ? window : this);\": update TAIL in build.js");
  }
  return source.replace(TAIL, '})(__c4jHost);\n');
}

function preambleOf(source) {
  const version = /JS\.version = '([^']+)'/.exec(source)[1];
  const hash = crypto.createHash('sha256').update(source).digest('hex').slice(0, 16);
  return '/* Comet4Net client ' + version + ' src-sha256:' + hash + ' */';
}

function compress(file, bytes) {
  const gz = zlib.gzipSync(bytes, { level: zlib.constants.Z_BEST_COMPRESSION });
  const br = zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_LGWIN]: zlib.constants.BROTLI_MAX_WINDOW_BITS,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  fs.writeFileSync(file + '.gz', gz);
  fs.writeFileSync(file + '.br', br);
  return { gz: gz.length, br: br.length };
}

async function main() {
  const source = bundle();
  const dist = path.join(__dirname, 'dist');
  fs.mkdirSync(dist, { recursive: true });
  const preamble = preambleOf(source);
  const body = moduleBody(source);
  const script = preamble + '\n' + source;
  fs.writeFileSync(path.join(dist, 'comet4j.js'), script);

  const result = await minify(source, {
    compress: { passes: 2 },
    mangle: { properties: { regex: /^_/ } },
    format: { preamble },
  });
  const min = result.code + '\n';
  fs.writeFileSync(path.join(dist, 'comet4j.min.js'), min);

  const mjs = [preamble, HOST, body, GLOBAL, 'var Engine = JS.Engine;', 'export { JS, Engine };', 'export default JS;', ''].join('\n');
  fs.writeFileSync(path.join(dist, 'comet4j.mjs'), mjs);

  // A script as well (a page may load it with a script tag): its own scope, so no helper name leaks.
  const umd = [preamble, '(function () {', HOST, body, GLOBAL,
    "if (typeof module === 'object' && module && typeof module.exports === 'object') module.exports = JS;",
    '})();', ''].join('\n');
  fs.writeFileSync(path.join(dist, 'comet4j.umd.js'), umd);

  const sizes = [
    ['dist/comet4j.js', Buffer.from(script), compress(path.join(dist, 'comet4j.js'), Buffer.from(script))],
    ['dist/comet4j.min.js', Buffer.from(min), compress(path.join(dist, 'comet4j.min.js'), Buffer.from(min))],
    ['dist/comet4j.mjs', Buffer.from(mjs), null],
    ['dist/comet4j.umd.js', Buffer.from(umd), null],
  ];
  for (const [name, bytes, c] of sizes) {
    const packed = c || { gz: zlib.gzipSync(bytes, { level: 9 }).length, br: null };
    console.log(`${name}: ${bytes.length} bytes, ${packed.gz} gzipped` + (packed.br ? `, ${packed.br} brotli` : '') + (c ? ' (precompressed: .gz, .br in dist/)' : ''));
  }
}

module.exports = { FILES, bundle, preambleOf };
if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
