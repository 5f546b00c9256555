const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { load, line, connFrame, msg } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

// dist/comet4j.umd.js: the body of the module builds (dist/comet4j.mjs is the same with exports).
for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js', 'dist/comet4j.umd.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  function connected(options) {
    const c = load(file);
    const got = [];
    c.JS.Engine.on('news', (data, time) => got.push(['news', data, time]));
    c.JS.Engine.on('hello', (data) => got.push(['hello', data]));
    c.JS.Engine.start('/conn', 'room=1', options);
    const conn = c.next();
    assert.equal(conn.query.cmd, 'conn');
    assert.equal(conn.query.cv, '2.0.0');
    assert.equal(conn.query.room, '1');
    conn.respond(200, connFrame(options && options.connData));
    return Object.assign(c, { got });
  }

  t('connects, fires start with the id and channels, and revives with its secret and ack', () => {
    const c = load(file);
    let started;
    c.JS.Engine.on('start', (cId, channels, engine) => { started = { cId, channels, engine }; });
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn');
    const conn = c.next();
    assert.equal(conn.query.sub, 'news');
    conn.respond(200, connFrame());
    assert.equal(started.cId, 'C'.repeat(22));
    assert.deepEqual([...started.channels], ['news', 'hello']);
    assert.equal(started.engine, c.JS.Engine);
    assert.equal(c.JS.Engine.getId(), 'C'.repeat(22));
    assert.equal(c.JS.Engine.getConnector().workStyle, 'stream');
    assert.equal(c.JS.Engine.running, true);
    const revival = c.next();
    assert.equal(revival.query.cmd, 'revival');
    assert.equal(revival.query.cs, 'S'.repeat(22));
    assert.equal(revival.query.ack, '10');
    assert.equal(revival.query.ws, 'stream');
  });

  t('a stream frame split across reads is dispatched whole, in order', () => {
    const c = connected();
    const r = c.next();
    const text = line({ channel: 'c4j', data: { type: 'hb' } }) + msg(11, 'news', { text: 'a' }) + msg(12, 'hello', 'b');
    r.progress(text.slice(0, 50));
    r.progress(text.slice(50, 61));
    assert.equal(c.got.length, 0);
    r.progress(text.slice(61));
    assert.deepEqual(JSON.parse(JSON.stringify(c.got)), [['news', { text: 'a' }, 1700000000011], ['hello', 'b']]);
  });

  t('a long poll answer with many frames dispatches them all and acks the last', () => {
    const c = connected({ ws: 'lpool' });
    const r = c.next();
    assert.equal(r.query.ws, 'lpool');
    let body = '';
    for (let i = 11; i <= 110; i++) body += msg(i, 'news', i);
    r.respond(200, body);
    assert.equal(c.got.length, 100);
    assert.equal(c.got[99][1], 110);
    assert.equal(c.next().query.ack, '110');
  });

  t('a frame seen before (a re-send after a cut) is dropped', () => {
    const c = connected();
    const r = c.next();
    r.progress(msg(11, 'news', 1) + msg(12, 'news', 2));
    r.fail();
    mock.timers.tick(20000);
    const again = c.next();
    assert.equal(again.query.ack, '12');
    again.progress(msg(12, 'news', 2) + msg(13, 'news', 3));
    assert.deepEqual(c.got.map((g) => g[1]), [1, 2, 3]);
  });

  t('network errors are retried with growing, jittered delays and never given up', () => {
    const c = connected();
    let stops = 0;
    c.JS.Engine.on('stop', () => stops++);
    const delays = [];
    for (let i = 0; i < 25; i++) {
      const r = c.next();
      r.fail();
      let waited = 0;
      while (c.requests.filter((x) => x.readyState < 4 && !x.aborted).length === 0) { mock.timers.tick(50); waited += 50; }
      delays.push(waited);
    }
    assert.equal(stops, 0);
    assert.equal(c.JS.Engine.running, true);
    assert.ok(Math.max(...delays.slice(10)) > Math.max(...delays.slice(0, 2)), 'delays grow: ' + delays);
    assert.ok(Math.max(...delays) <= 15050, 'capped: ' + delays);
  });

  t('an unknown cid (server restarted) fires stop and start again and reports a gap', () => {
    const c = connected();
    const events = [];
    c.JS.Engine.on('stop', (cause) => events.push('stop:' + cause));
    c.JS.Engine.on('start', () => events.push('start'));
    c.JS.Engine.on('gap', (info) => events.push('gap:' + info.reason));
    c.next().respond(404, JSON.stringify({ error: 'unknown-cid', channel: 'c4j', data: { type: 'reconnect' } }));
    const conn = c.next();
    assert.equal(conn.query.cmd, 'conn');
    conn.respond(200, connFrame({ cId: 'D'.repeat(22), seq: 3 }));
    assert.deepEqual(events, ['stop:reconnect', 'gap:reset', 'start']);
    assert.equal(c.JS.Engine.running, true);
    assert.equal(c.next().query.ack, '3');
  });

  t('a gap frame reaches the page as a gap event', () => {
    const c = connected();
    const gaps = [];
    c.JS.Engine.on('gap', (info) => gaps.push(info));
    c.next().progress(line({ channel: 'c4j', data: { type: 'gap', from: 11, to: 40 } }) + msg(41, 'news', 'after'));
    assert.deepEqual(JSON.parse(JSON.stringify(gaps)), [{ from: 11, to: 40 }]);
    assert.equal(c.got[0][1], 'after');
  });

  t('a stream that brings no byte falls back to long polling', () => {
    const c = connected();
    c.next();
    mock.timers.tick(4100);
    const r = c.next();
    assert.equal(r.query.ws, 'lpool');
    assert.equal(c.JS.Engine.getConnector().workStyle, 'lpool');
    r.respond(200, msg(11, 'news', 1));
    assert.equal(c.next().query.ws, 'lpool');
  });

  t('listeners added before start and in object form work, names are case-insensitive, a throwing listener does not stop the others', () => {
    const c = load(file);
    const seen = [];
    c.JS.Engine.on({ News: (d) => seen.push('obj:' + d), start: () => seen.push('start') });
    c.JS.Engine.addListener('NEWS', () => { throw new Error('boom'); });
    c.JS.Engine.on('news', (d) => seen.push('plain:' + d));
    c.JS.Engine.start('/conn');
    c.next().respond(200, connFrame());
    c.next().progress(msg(11, 'news', 7));
    assert.deepEqual(seen, ['start', 'obj:7', 'plain:7']);
  });

  t('stop sends the drop and fires stop; a page closing sends the drop too', () => {
    const c = connected();
    let stopped;
    c.JS.Engine.on('stop', (cause, cId) => { stopped = [cause, cId]; });
    c.JS.Engine.stop('bye');
    assert.deepEqual(stopped, ['bye', 'C'.repeat(22)]);
    assert.equal(c.JS.Engine.running, false);
    assert.match(c.beacons[0], /cmd=drop&cid=C{22}&cs=S{22}&room=1$/);
    const d = connected();
    d.fire('pagehide');
    assert.match(d.beacons[0], /cmd=drop/);
  });

  t('kicked: stop with the reason and no reconnect', () => {
    const c = connected();
    let cause;
    c.JS.Engine.on('stop', (why) => { cause = why; });
    c.next().progress(line({ channel: 'c4j', data: { type: 'kicked', reason: 'spam' } }));
    assert.equal(cause, 'spam');
    mock.timers.tick(60000);
    assert.equal(c.requests.filter((x) => x.readyState < 4 && !x.aborted).length, 0);
  });

  t('a refused connection stops with the server\'s message', () => {
    const c = load(file);
    let cause;
    c.JS.Engine.on('stop', (why) => { cause = why; });
    c.JS.Engine.start('/conn');
    c.next().respond(401, JSON.stringify({ error: 'refused', message: 'log in first' }));
    assert.equal(cause, 'log in first');
    assert.equal(c.JS.Engine.running, false);
  });

  t('listening on a channel subscribes without reconnecting; dropping the last listener unsubscribes', () => {
    const c = connected();
    c.next(); // the stream
    const fn = () => {};
    c.JS.Engine.on('room.typing', fn);
    const subs = c.requests.filter((r) => r.query.cmd === 'sub').map((r) => r.query.channel);
    assert.deepEqual(subs.sort(), ['room', 'room.typing']);
    c.JS.Engine.removeListener('room.typing', fn);
    const unsub = c.requests.filter((r) => r.query.cmd === 'unsub').map((r) => r.query.channel);
    assert.ok(unsub.includes('room.typing'));
  });

  t('an event within a channel reaches channel.event listeners', () => {
    const c = connected();
    const typing = [];
    c.JS.Engine.on('room.typing', (d) => typing.push(d.user));
    c.requests.filter((r) => r.query.cmd === 'sub').forEach((r) => r.respond(200, ''));
    c.requests.find((r) => r.query.cmd === 'revival' && r.readyState < 4).progress(msg(11, 'room', { user: 'ann' }, { event: 'typing' }));
    assert.deepEqual(typing, ['ann']);
  });

  t('history comes before live frames that overtook it, with no duplicate', () => {
    const c = connected();
    const got = [];
    c.JS.Engine.on('room', (d, t, e, f) => got.push((f.history ? 'h' : 'l') + d), null, { history: 2 });
    const sub = c.requests.find((r) => r.query.cmd === 'sub');
    assert.equal(sub.query.history, '2');
    c.requests.find((r) => r.query.cmd === 'revival' && r.readyState < 4).progress(msg(12, 'room', 3) + msg(13, 'room', 4));
    assert.deepEqual(got, []);
    sub.respond(200, msg(8, 'room', 1, { history: true }) + msg(12, 'room', 3, { history: true }) + line({ channel: 'c4j', data: { type: 'subscribed' } }));
    assert.deepEqual(got, ['h1', 'h3', 'l4']);
  });

  t('send publishes JSON and reports delivery; count asks the server', () => {
    const c = connected();
    let report, counted;
    c.JS.Engine.send('room', { text: 'hi' }, { event: 'say' }, (err, r) => { report = r; });
    const pub = c.requests.find((r) => r.method === 'POST');
    assert.match(pub.body, /cmd=pub&channel=room&event=say&data=%7B%22text%22%3A%22hi%22%7D&idem=[A-Za-z0-9_-]{22}&cid=C{22}&cs=S{22}/);
    pub.respond(200, JSON.stringify({ ok: true, seq: 5, delivered: 3 }));
    assert.equal(report.delivered, 3);
    c.JS.Engine.count('room', (err, n) => { counted = n; });
    c.requests.find((r) => r.query.cmd === 'count').respond(200, JSON.stringify({ connections: 4, users: 2 }));
    assert.equal(counted.users, 2);
  });

  t('JS.AJAX.post and JS.on exist for Comet4J pages', () => {
    const c = load(file);
    let status;
    c.JS.AJAX.post('talk.do?cmd=talk', 'id=1&text=x', (x) => { status = x.status; });
    const r = c.requests[0];
    assert.equal(r.method, 'POST');
    assert.equal(r.body, 'id=1&text=x');
    r.respond(200, '');
    assert.equal(status, 200);
    assert.equal(typeof c.JS.on, 'function');
  });
}

test('dist/ was built from the current src/ (npm run build), every src file in the bundle', () => {
  const fs = require('fs');
  const path = require('path');
  const zlib = require('zlib');
  const { FILES, bundle, preambleOf } = require('../build.js');
  const read = (...p) => fs.readFileSync(path.join(__dirname, '..', ...p));
  // Every file in src/ is in the bundle (a file left out would not reach a page).
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(dir, e.name)).map((f) => e.name + '/' + f) : [e.name]);
  assert.deepEqual(walk(path.join(__dirname, '..', 'src')).sort(), [...FILES].sort());
  for (const f of FILES) assert.ok(read('src', f).toString('utf8').replace(/\n$/, '').split('\n').length <= 250, `src/${f} is over 250 lines`);
  const source = bundle();
  const preamble = preambleOf(source);
  assert.equal(read('dist', 'comet4j.js').toString('utf8'), preamble + '\n' + source, 'dist/comet4j.js');
  for (const file of ['comet4j.min.js', 'comet4j.mjs', 'comet4j.umd.js']) {
    assert.equal(read('dist', file).toString('utf8').split('\n')[0], preamble, `dist/${file}`);
  }
  // The module builds are the bundle itself, with only its last line (what it is called with) changed.
  const body = source.slice(0, source.lastIndexOf('})('));
  for (const file of ['comet4j.mjs', 'comet4j.umd.js']) assert.ok(read('dist', file).toString('utf8').includes(body), `dist/${file} holds the bundle`);
  // The precompressed copies the server sends are, decompressed, exactly the files it sends uncompressed.
  for (const file of ['comet4j.min.js', 'comet4j.js']) {
    const identity = read('dist', file);
    assert.ok(zlib.gunzipSync(read('dist', file + '.gz')).equals(identity), `dist/${file}.gz`);
    assert.ok(zlib.brotliDecompressSync(read('dist', file + '.br')).equals(identity), `dist/${file}.br`);
  }
});
