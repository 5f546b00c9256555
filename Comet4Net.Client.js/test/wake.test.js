// Pages that wake up: no retries while the browser says offline, and at once on online; a frozen,
// hidden or cached page whose connection is not live resumes by position as soon as it is back.
const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { load, tabs, connFrame, msg } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval'] }));
afterEach(() => mock.timers.reset());

// A document that the test drives: its events (resume, freeze, visibilitychange) and visibilityState.
function fakeDocument() {
  const listeners = {};
  return {
    visibilityState: 'visible',
    addEventListener(name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
    removeEventListener() {},
    fire(name, e) { (listeners[name] || []).forEach((f) => f(e || {})); },
  };
}

for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  // A page streaming on the connection CCC… (seq 10, epoch E1), with messages 11 and 12 received.
  function streaming() {
    const doc = fakeDocument();
    const c = load(file, { document: doc });
    // The page's clock, moved by the test (a frozen page's timers do not run, its clock does).
    const clock = { now: 1700000000000 };
    c.context.Date = class extends Date { constructor(...a) { super(...(a.length ? a : [clock.now])); } };
    const got = [];
    const wakes = [];
    const E = c.JS.Engine;
    E.on('news', (data) => got.push(data));
    E.getConnector().on('wake', (reason) => wakes.push(reason));
    E.start('/conn', '', { ws: 'stream' });
    c.next().respond(200, connFrame({ epoch: 'E1', resume: 60000 }));
    const stream = c.next();
    stream.progress(msg(11, 'news', 11) + msg(12, 'news', 12));
    const net = (on) => { c.context.navigator.onLine = on; c.fire(on ? 'online' : 'offline'); };
    return Object.assign(c, { clock, doc, got, wakes, E, conn: E.getConnector(), stream, net });
  }
  const revivalAt = (r, seq) => {
    assert.equal(r.query.cmd, 'revival');
    assert.equal(r.query.cid, 'C'.repeat(22));
    assert.equal(r.query.ack, String(seq));
    assert.equal(r.query.ep, 'E1');
  };

  t('offline: no retry and no backoff growth however long it lasts; online: resumes by position at once', () => {
    const c = streaming();
    c.net(false);
    c.stream.fail(); // the network went: the stream is cut
    assert.equal(c.conn.state, 'reconnecting');
    mock.timers.tick(10 * 60000);
    assert.equal(c.pending().length, 0, 'no request while offline');
    c.net(true);
    mock.timers.tick(0);
    const r = c.next();
    revivalAt(r, 12);
    assert.deepEqual(c.wakes, ['online']);
    r.progress(msg(13, 'news', 13));
    assert.deepEqual(c.got, [11, 12, 13]);
    assert.equal(c.conn.state, 'connected');
    r.fail(); // cut again: the next retry is the first of a backoff (within retryBase, 500 ms), which did not grow
    mock.timers.tick(500);
    revivalAt(c.next(), 13);
  });

  t('online while waiting out a backoff: the retry goes at once, not when the backoff ends', () => {
    const c = streaming();
    for (let i = 0; i < 6; i++) { // cut again and again: the backoff grows
      c.next().fail();
      while (c.pending().length === 0) mock.timers.tick(50);
    }
    c.next().fail();
    assert.equal(c.pending().length, 0, 'waiting out a backoff');
    c.net(true);
    mock.timers.tick(0);
    const r = c.next();
    revivalAt(r, 12);
    r.fail(); // the network is back: the backoff starts again from the bottom (retryBase, 500 ms)
    mock.timers.tick(500);
    revivalAt(c.next(), 12);
  });

  t('the offline event cancels a retry that was due; a connection that works is left alone', () => {
    const c = streaming();
    c.net(false);
    assert.equal(c.stream.aborted, false, 'a stream that still works is not closed for the event');
    c.stream.progress(msg(13, 'news', 13));
    assert.deepEqual(c.got, [11, 12, 13]);
    c.net(true);
    mock.timers.tick(0);
    assert.deepEqual(c.wakes, [], 'live: nothing to do');
    assert.equal(c.pending().length, 1);
    c.stream.fail();
    c.net(false); // after the cut: the retry it was waiting for is cancelled
    mock.timers.tick(60000);
    assert.equal(c.pending().length, 0);
    c.net(true);
    mock.timers.tick(0);
    revivalAt(c.next(), 13);
  });

  t('resume after a freeze: a stream not heard from within its silence limit is opened again at once from the position', () => {
    const c = streaming();
    c.doc.fire('freeze');
    c.doc.fire('resume');
    assert.deepEqual(c.wakes, [], 'heard from just now: left alone');
    c.clock.now += 30000; // frozen for 30 s: no heartbeat for 1.5 heartbeats (the timer has not run yet)
    c.doc.fire('resume');
    assert.deepEqual(c.wakes, ['resume']);
    assert.equal(c.stream.aborted, true);
    mock.timers.tick(0);
    revivalAt(c.next(), 12);
  });

  t('visible again while waiting out a backoff: resumes at once; hidden: nothing', () => {
    const c = streaming();
    c.stream.fail();
    while (c.pending().length === 0) mock.timers.tick(50);
    c.next().fail();
    assert.equal(c.pending().length, 0);
    c.doc.visibilityState = 'hidden';
    c.doc.fire('visibilitychange');
    mock.timers.tick(0);
    assert.equal(c.pending().length, 0);
    c.doc.visibilityState = 'visible';
    c.doc.fire('visibilitychange');
    mock.timers.tick(0);
    revivalAt(c.next(), 12);
    assert.deepEqual(c.wakes, ['visible']);
  });

  t('back-forward cache: pagehide (persisted) lets the request go without a drop; pageshow resumes by position', () => {
    const c = streaming();
    c.fire('pagehide'); // a plain pagehide: the page is leaving for good
    assert.equal(c.beacons.length, 1);
    const d = streaming();
    d.fire('pagehide', { persisted: true });
    assert.equal(d.beacons.length, 0, 'no drop: the session stays for the return');
    assert.equal(d.stream.aborted, true);
    mock.timers.tick(60000);
    assert.equal(d.pending().length, 0, 'nothing while in the cache');
    d.fire('pageshow', { persisted: false });
    assert.equal(d.pending().length, 0, 'a first show is not a return');
    d.fire('pageshow', { persisted: true });
    mock.timers.tick(0);
    revivalAt(d.next(), 12);
    assert.deepEqual(d.wakes, ['pageshow']);
  });

  t('started offline: the failed conn waits for online, then connects at once', () => {
    const c = load(file, { document: fakeDocument() });
    c.context.navigator.onLine = false;
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn', '', { ws: 'stream' });
    c.next().fail();
    mock.timers.tick(120000);
    assert.equal(c.pending().length, 0);
    c.context.navigator.onLine = true;
    c.fire('online');
    mock.timers.tick(0);
    assert.equal(c.next().query.cmd, 'conn');
  });

  t('a stopped page does nothing when it wakes', () => {
    const c = streaming();
    c.E.stop('bye');
    c.net(true);
    c.doc.fire('resume');
    mock.timers.tick(60000);
    assert.equal(c.pending().length, 0);
    assert.deepEqual(c.wakes, []);
  });

  t('shareTabs: only the master tab resumes; a follower makes no request of its own when it wakes', async () => {
    const b = tabs();
    const a = load(file, { tabs: b, document: fakeDocument() });
    const f = load(file, { tabs: b, document: fakeDocument() });
    const seen = [];
    for (const x of [a, f]) {
      x.JS.Engine.on('news', (data) => seen.push(data));
      x.JS.Engine.start('/conn', '', { shareTabs: true, ws: 'stream' });
      await b.settle();
    }
    a.next().respond(200, connFrame({ epoch: 'E1', resume: 60000 }));
    await b.settle();
    const stream = a.next();
    stream.progress(msg(11, 'news', 11));
    await b.settle();
    assert.deepEqual(seen, [11, 11]);
    stream.fail();
    for (const x of [f, a]) { x.context.navigator.onLine = true; x.fire('online'); }
    mock.timers.tick(0);
    assert.equal(f.pending().length, 0, 'the follower sends nothing');
    revivalAt(a.next(), 11);
  });
}
