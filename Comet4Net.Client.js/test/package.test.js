// The npm package as a user gets it: what the tarball holds, that package.json points at files that
// exist, that the ES module and the require() build load in Node (where there is no window) and in a
// page, and that the TypeScript declarations compile against code using the whole API.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { execFileSync, execFile } = require('child_process');
const { pathToFileURL } = require('url');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const win = process.platform === 'win32';

let packed;
function packedFiles() {
  if (!packed) {
    const out = execFileSync(win ? 'npm.cmd' : 'npm', ['pack', '--dry-run', '--json', '--ignore-scripts'],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], shell: win });
    packed = JSON.parse(out)[0].files.map((f) => f.path.replace(/\\/g, '/'));
  }
  return packed;
}

test('the tarball holds the package, its README, the source, every build and the types; nothing else', () => {
  const files = packedFiles();
  for (const f of ['package.json', 'README.md', 'dist/comet4j.js', 'dist/comet4j.min.js', 'dist/comet4j.mjs', 'dist/comet4j.umd.js',
    'dist/comet4j.min.js.gz', 'dist/comet4j.min.js.br', 'dist/comet4j.js.gz', 'dist/comet4j.js.br', 'types/comet4j.d.ts']) {
    assert.ok(files.includes(f), `${f} is missing from the tarball: ${files.join(', ')}`);
  }
  const stray = files.filter((f) => /^(test|node_modules)\//.test(f) || f === 'build.js' || f === 'package-lock.json');
  assert.deepEqual(stray, [], 'the tarball holds files a user does not need');
});

test('every file package.json names exists and is packed', () => {
  const files = packedFiles();
  const targets = [];
  const walk = (v) => { if (typeof v === 'string') targets.push(v); else for (const k in v) walk(v[k]); };
  walk(pkg.exports);
  for (const k of ['main', 'module', 'types', 'unpkg', 'jsdelivr']) targets.push(pkg[k]);
  targets.push(...pkg.sideEffects);
  assert.ok(targets.length > 10);
  for (const t of targets) {
    const rel = t.replace(/^\.\//, '');
    assert.ok(fs.existsSync(path.join(root, rel)), `${t} does not exist`);
    assert.ok(files.includes(rel), `${t} is not in the tarball`);
  }
  assert.equal(pkg.private, undefined);
  assert.equal(pkg.exports['.'].import, './dist/comet4j.mjs');
  assert.equal(Object.keys(pkg.exports['.'])[0], 'types', 'the types condition must come first');
  assert.equal(pkg.exports['./comet4j.min.js'], pkg.unpkg);
  // The builds set the JS global: a bundler must not drop an import of them as unused.
  assert.ok(Array.isArray(pkg.sideEffects) && pkg.sideEffects.includes(pkg.exports['.'].import));
});

test('in Node (no window), the ES module imports without throwing and exports JS (default and named) and Engine', async () => {
  delete globalThis.JS;
  const mod = await import(pathToFileURL(path.join(root, 'dist', 'comet4j.mjs')).href);
  for (const name of ['start', 'stop', 'on', 'un', 'addListener', 'removeListener', 'send', 'count', 'getId', 'getConnector']) {
    assert.equal(typeof mod.Engine[name], 'function', `Engine.${name}`);
  }
  assert.equal(mod.default, mod.JS);
  assert.equal(mod.Engine, mod.JS.Engine);
  assert.equal(mod.JS.version, pkg.version);
  assert.equal(globalThis.JS, mod.JS, 'the JS global, as in a page');
  assert.equal(mod.Engine.running, false);
  assert.equal(mod.Engine.getId(), '');
});

test('in Node, require() loads the umd build and gets the JS namespace', () => {
  delete globalThis.JS;
  const JS = require(path.join(root, pkg.exports['.'].require));
  assert.equal(typeof JS.Engine.start, 'function');
  assert.equal(typeof JS.Engine.send, 'function');
  assert.equal(JS.version, pkg.version);
  assert.equal(globalThis.JS, JS);
  // The script build, required the same way, throws: why require does not point at it.
  delete globalThis.JS;
  assert.throws(() => require(path.join(root, 'dist', 'comet4j.min.js')), /addEventListener/);
  delete globalThis.JS;
});

test('in a page, the ES module sets window.JS, hooks pagehide on the window and connects', async () => {
  const listeners = [];
  const opened = [];
  class FakeXHR {
    open(method, url) { opened.push(method + ' ' + url); }
    setRequestHeader() {}
    send() {}
    abort() {}
  }
  const window = { addEventListener: (name) => listeners.push(name), removeEventListener() {}, console };
  globalThis.window = window;
  globalThis.XMLHttpRequest = FakeXHR;
  try {
    const mod = await import(pathToFileURL(path.join(root, 'dist', 'comet4j.mjs')).href + '?page');
    assert.equal(window.JS, mod.default);
    assert.notEqual(globalThis.JS, mod.default, 'in a page the module uses window, not a host of its own');
    assert.deepEqual([...new Set(listeners)].sort(), ['offline', 'online', 'pagehide', 'pageshow'], 'the page-leaving and wake-up hooks are on the window');
    mod.Engine.on('news', () => {});
    mod.Engine.start('/conn');
    assert.equal(mod.Engine.running, true);
    assert.equal(opened.length, 1);
    assert.match(opened[0], /^GET \/conn\?cmd=conn&cv=2\.0\.0&sub=news$/);
    mod.Engine.stop('done');
    assert.equal(mod.Engine.running, false);
  } finally {
    delete globalThis.window;
    delete globalThis.XMLHttpRequest;
  }
});

function tsc(args) {
  const bin = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, '--noEmit', '--strict', '--target', 'es2020', '--lib', 'es2020,dom', ...args], { cwd: root },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, out: stdout + stderr }));
  });
}

test('the declarations compile against code using the whole API (tsc --noEmit --strict), as a bundler and as Node resolve them', async () => {
  assert.ok(fs.existsSync(path.join(root, 'node_modules', 'typescript')), 'typescript is a devDependency: run npm ci');
  const [bundler, node] = await Promise.all([
    tsc(['--module', 'esnext', '--moduleResolution', 'bundler', 'test/types-check.ts', 'test/types-global.ts']),
    tsc(['--module', 'nodenext', '--moduleResolution', 'nodenext', 'test/types-check.ts']),
  ]);
  assert.equal(bundler.code, 0, bundler.out);
  assert.equal(node.code, 0, node.out);
});
