// JSON-P (start(url, param, { ws: 'jsonp' })): every request is a script tag calling a name of its own;
// the test plays the server by running the answer text /**/name(json); in the page, as a browser would.
const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const vm = require('vm');
const { load } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

const CID = 'C'.repeat(22);
const CS = 'S'.repeat(22);
const SAFE = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;
const sys = (data) => ({ channel: 'c4j', data });
const frame = (seq, channel, data, extra) => Object.assign({ seq, channel, data, time: 1700000000000 + seq }, extra);
const connFrame = (extra) => sys(Object.assign({ type: 'conn', cId: CID, cs: CS, channels: ['news', 'hello'], ws: 'lpool', timeout: 60000, heartbeat: 15000, seq: 10, v: 2 }, extra));

// A DOM document with a head that records the script elements appended to it.
function fakeDocument() {
  const scripts = [];
  const head = {
    children: [],
    appendChild(el) { el.parentNode = head; this.children.push(el); scripts.push(el); },
    removeChild(el) { el.parentNode = null; this.children.splice(this.children.indexOf(el), 1); },
  };
  return { scripts, head, documentElement: head, getElementsByTagName: () => [head], createElement: (tag) => ({ tagName: tag.toUpperCase(), src: '', parentNode: null }) };
}

for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  function page(loadOptions) {
    const doc = fakeDocument();
    const c = load(file, Object.assign({ document: doc }, loadOptions));
    const live = () => doc.head.children;
    // The one script in the page now (the request in flight).
    const script = () => {
      assert.equal(live().length, 1, 'one script in the page: ' + doc.scripts.map((s) => s.src).join(' | '));
      return live()[0];
    };
    const query = (s) => Object.fromEntries(new URL(s.src, 'http://x').searchParams);
    // The server's answer to a script: its body runs in the page.
    const answer = (s, value) => {
      const name = query(s).callback;
      assert.match(name, SAFE);
      vm.runInContext('with (window) { /**/' + name + '(' + JSON.stringify(value) + '); }', c.context);
    };
    return Object.assign(c, { doc, live, script, query, answer });
  }

  // A page listening on news, started on JSON-P, its conn answered.
  function connected(startOptions, loadOptions) {
    const c = page(loadOptions);
    const got = [];
    const styles = [];
    c.JS.Engine.on('news', (data) => got.push(data));
    c.JS.Engine.on('start', (cId, channels, engine, ws) => styles.push(ws));
    c.JS.Engine.start('http://comet.test/conn', 'room=1', Object.assign({ ws: 'jsonp' }, startOptions));
    const conn = c.script();
    c.answer(conn, [connFrame()]);
    return Object.assign(c, { got, styles, conn });
  }

  t('never picks JSON-P by itself: without ws:"jsonp" no script is made', () => {
    const c = page();
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn');
    assert.equal(c.doc.scripts.length, 0);
    assert.equal(c.requests.length, 1);
  });

  t('conn and revival are script tags with unique safe callbacks; the script and its callback go once answered', () => {
    const c = connected();
    assert.equal(c.requests.length, 0, 'no XMLHttpRequest at all');
    const q = c.query(c.conn);
    assert.equal(q.cmd, 'conn');
    assert.equal(q.ws, 'lpool');
    assert.equal(q.sub, 'news');
    assert.equal(q.room, '1');
    assert.match(q.callback, /^c4jJsonp\.r\w+$/);
    assert.equal(c.conn.async, true);
    assert.equal(c.conn.parentNode, null, 'the conn script was removed');
    assert.equal(Object.keys(c.window.c4jJsonp).length, 1, 'only the revival\'s callback is left');
    assert.deepEqual(c.styles, ['lpool']);
    assert.equal(c.JS.Engine.getId(), CID);

    const r = c.script();
    const rq = c.query(r);
    assert.equal(rq.cmd, 'revival');
    assert.equal(rq.cid, CID);
    assert.equal(rq.cs, CS);
    assert.equal(rq.ack, '10');
    assert.equal(rq.ws, 'lpool');
    assert.notEqual(rq.callback, q.callback);
    assert.match(r.src, /^http:\/\/comet\.test\/conn\?/);
  });

  t('frames of each answer are dispatched in order and the next revival acknowledges them', () => {
    const c = connected();
    c.answer(c.script(), [frame(11, 'news', 'a'), frame(12, 'hello', 'x'), frame(14, 'news', 'b\u2028c')]);
    const r2 = c.script();
    assert.equal(c.query(r2).ack, '14');
    c.answer(r2, [frame(13, 'news', 'old'), frame(15, 'news', 'd')]); // 13: already past, not dispatched again
    assert.equal(c.query(c.script()).ack, '15');
    assert.deepEqual(c.got, ['a', 'b\u2028c', 'd']);
    assert.deepEqual(Object.keys(c.window.c4jJsonp).length, 1);
  });

  t('dying revives at once; a gap is reported', () => {
    const c = connected();
    const gaps = [];
    c.JS.Engine.on('gap', (info) => gaps.push(info));
    c.answer(c.script(), [sys({ type: 'gap', from: 11, to: 12 }), frame(13, 'news', 'n')]);
    c.answer(c.script(), [sys({ type: 'dying' })]);
    assert.equal(c.query(c.script()).ack, '13');
    assert.deepEqual(gaps.map((g) => [g.from, g.to]), [[11, 12]]);
  });

  t('no answer by the timeout: the script is dropped, its late call is ignored, and the revival is retried', () => {
    const c = connected();
    const r = c.script();
    const name = c.query(r).callback.split('.')[1];
    mock.timers.tick(65001); // timeout + 5 s
    assert.equal(r.parentNode, null, 'the stalled script was removed');
    let next = c.live()[0];
    for (let waited = 0; !next && waited < 20000; waited += 50) { mock.timers.tick(50); next = c.live()[0]; }
    assert.ok(next, 'a new revival');
    assert.equal(c.query(next).cmd, 'revival');
    assert.equal(c.query(next).ack, '10');
    // The old script arrives after all: its call does nothing, and removes itself.
    c.answer(r, [frame(11, 'news', 'late')]);
    assert.equal(name in c.window.c4jJsonp, false);
    assert.deepEqual(c.got, []);
    c.answer(next, [frame(11, 'news', 'on time')]);
    assert.deepEqual(c.got, ['on time']);
  });

  t('a script that fails to load is retried with backoff', () => {
    const c = connected();
    const r = c.script();
    r.onerror({});
    assert.equal(r.parentNode, null);
    assert.equal(c.live().length, 0, 'not at once');
    for (let waited = 0; !c.live().length && waited < 20000; waited += 50) mock.timers.tick(50);
    assert.equal(c.query(c.script()).cmd, 'revival');
    assert.equal(c.JS.Engine.running, true);
  });

  t('errors come inside the call: 404 reconnects and reports a gap, 403 stops', () => {
    const c = connected();
    const gaps = [];
    const stops = [];
    c.JS.Engine.on('gap', (info) => gaps.push(info.reason));
    c.JS.Engine.on('stop', (cause) => stops.push(cause));
    c.answer(c.script(), { error: 'unknown-cid', message: 'gone', channel: 'c4j', data: { type: 'reconnect' }, status: 404 });
    const conn = c.script();
    assert.equal(c.query(conn).cmd, 'conn');
    assert.deepEqual(gaps, ['reset']);
    c.answer(conn, [connFrame({ cId: 'D'.repeat(22) })]);
    c.answer(c.script(), { error: 'forbidden', message: 'The connection secret is wrong', status: 403 });
    assert.equal(c.JS.Engine.running, false);
    assert.equal(stops.at(-1), 'The connection secret is wrong');
    assert.equal(c.live().length, 0);
  });

  t('a full server (429) on conn is retried after its retryAfter', () => {
    const c = page();
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn', '', { ws: 'jsonp' });
    c.answer(c.script(), { error: 'too-many-connections', message: 'full', status: 429, retryAfter: 3 });
    mock.timers.tick(2900);
    assert.equal(c.live().length, 0, 'not before 3 s');
    mock.timers.tick(3200);
    assert.equal(c.query(c.script()).cmd, 'conn');
  });

  t('sub, pub and count go over JSON-P too (pub as a GET with the data in the query)', () => {
    const c = connected();
    const revival = c.script();
    const history = [];
    c.JS.Engine.on('room', (data) => history.push(data), null, { history: 5 });
    const sub = c.live()[1];
    const sq = c.query(sub);
    assert.equal(sq.cmd, 'sub');
    assert.equal(sq.channel, 'room');
    assert.equal(sq.history, '5');
    assert.equal(sq.cs, CS);
    c.answer(sub, [frame(3, 'room', 'h1', { history: true }), sys({ type: 'subscribed', channel: 'room', history: 1 })]);
    assert.deepEqual(history, ['h1']);

    let published;
    c.JS.Engine.send('room', { text: 'hi' }, (err, report) => { published = [err, report]; });
    const pub = c.live()[1];
    const pq = c.query(pub);
    assert.equal(pq.cmd, 'pub');
    assert.equal(pq.data, '{"text":"hi"}');
    c.answer(pub, { ok: true, seq: 20, delivered: 2 });
    assert.equal(published[0], null);
    assert.equal(published[1].delivered, 2);

    let counted;
    c.JS.Engine.count('room', (err, n) => { counted = [err, n]; });
    c.answer(c.live()[1], { error: 'forbidden', message: 'Counts of room are not public.', status: 403 });
    assert.equal(counted[0].message, 'Counts of room are not public.');
    assert.equal(c.live().length, 1);
    assert.equal(c.live()[0], revival, 'the revival is still held');
  });

  t('a command with no answer in 30 s fails like a lost request and is retried', () => {
    const c = connected();
    c.JS.Engine.on('room', () => {});
    const sub = c.live()[1];
    assert.equal(c.query(sub).cmd, 'sub');
    mock.timers.tick(30001);
    assert.equal(sub.parentNode, null);
    let again;
    for (let waited = 0; !again && waited < 20000; waited += 50) { mock.timers.tick(50); again = c.live().find((s) => s !== c.live()[0] && c.query(s).cmd === 'sub'); }
    assert.ok(again, 'the sub was sent again');
  });

  t('jsonpPrefix: every callback starts with the server\'s required prefix', () => {
    const c = connected({ jsonpPrefix: '_JSONP_' });
    assert.match(c.query(c.conn).callback, /^_JSONP_c4jJsonp\.r\w+$/);
    assert.match(c.query(c.script()).callback, /^_JSONP_c4jJsonp\.r\w+$/);
    assert.equal(typeof c.window._JSONP_c4jJsonp, 'object');
  });

  t('started while the page loads, the first script waits for the load event (it would hold it for a whole poll)', () => {
    const c = page();
    c.doc.readyState = 'interactive';
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn', '', { ws: 'jsonp' });
    assert.equal(c.doc.scripts.length, 0);
    c.doc.readyState = 'complete';
    c.fire('load');
    assert.equal(c.doc.scripts.length, 0, 'just after the load event, not inside it');
    mock.timers.tick(1);
    assert.equal(c.query(c.script()).cmd, 'conn');
    c.answer(c.script(), [connFrame()]);
    assert.equal(c.query(c.script()).cmd, 'revival');
  });

  t('stop drops the connection with a beacon and removes the held script', () => {
    const c = connected();
    const r = c.script();
    c.JS.Engine.stop('bye');
    assert.equal(r.parentNode, null);
    assert.equal(c.beacons.length, 1);
    assert.match(c.beacons[0], /cmd=drop/);
    assert.doesNotMatch(c.beacons[0], /callback=/);
  });
}
