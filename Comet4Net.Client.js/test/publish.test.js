// Publishing exactly once (src/publish.js): every send carries an idempotency key, is sent again with
// that key until answered or refused, one at a time in the order sent, across a new connection.
const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { load, connFrame } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  function connected() {
    const c = load(file);
    c.JS.Engine.on('room', () => {});
    c.JS.Engine.start('/conn', '');
    c.next().respond(200, connFrame());
    return c;
  }

  const pubs = (c) => c.requests.filter((r) => r.method === 'POST').map((r) => ({ r, p: Object.fromEntries(new URLSearchParams(r.body)) }));
  const open = (c) => pubs(c).filter((x) => x.r.readyState < 4);

  t('an answer that is lost is asked again with the same key; a dup answer reports the first number', () => {
    const c = connected();
    const reports = [];
    c.JS.Engine.send('room', 1, (err, r) => reports.push([err, r]));
    const [first] = open(c);
    assert.match(first.p.idem, /^[A-Za-z0-9_-]{22}$/);
    first.r.fail(); // the proxy cut the answer
    mock.timers.tick(0);
    const [second] = open(c);
    assert.notEqual(second.r, first.r);
    assert.equal(second.p.idem, first.p.idem, 'the same key');
    second.r.respond(503, JSON.stringify({ error: 'unavailable' }));
    mock.timers.tick(2000);
    const [third] = open(c);
    assert.equal(third.p.idem, first.p.idem);
    third.r.respond(200, JSON.stringify({ ok: true, seq: 7, dup: true }));
    assert.equal(reports.length, 1);
    assert.equal(reports[0][0], null);
    assert.deepEqual(reports[0][1], { ok: true, seq: 7, dup: true });
  });

  t('messages go one at a time in the order sent, each with its own key, and a refusal is reported, not retried', () => {
    const c = connected();
    const reports = [];
    c.JS.Engine.send('room', 'a', (err, r) => reports.push(err ? 'error:' + err.message : r.seq));
    c.JS.Engine.send('room', 'b', { key: 'my-key-1' }, (err, r) => reports.push(err ? 'error:' + err.message : r.seq));
    c.JS.Engine.send('room', 'c', (err, r) => reports.push(err ? 'error:' + err.message : r.seq));
    assert.equal(open(c).length, 1, 'one in flight');
    const a = open(c)[0];
    assert.equal(a.p.data, '"a"');
    a.r.respond(403, JSON.stringify({ error: 'refused', message: 'no' }));
    const b = open(c)[0];
    assert.equal(b.p.data, '"b"');
    assert.equal(b.p.idem, 'my-key-1', 'the page may give its own key');
    b.r.respond(200, JSON.stringify({ ok: true, seq: 11, delivered: 1 }));
    const cc = open(c)[0];
    assert.notEqual(cc.p.idem, b.p.idem);
    cc.r.respond(200, JSON.stringify({ ok: true, seq: 12, delivered: 1 }));
    mock.timers.tick(60000);
    assert.deepEqual(reports, ['error:no', 11, 12]);
    assert.equal(open(c).length, 0, 'nothing sent again');
  });

  t('a publish outlives a lost connection: sent again with its key once the page has connected anew', () => {
    const c = connected();
    let report;
    c.JS.Engine.send('room', 1, (err, r) => { report = r; });
    const [first] = open(c);
    const revival = c.requests.find((r) => r.query.cmd === 'revival' && r.readyState < 4);
    revival.respond(404, JSON.stringify({ error: 'unknown-cid', channel: 'c4j', data: { type: 'reconnect' } }));
    first.r.respond(404, JSON.stringify({ error: 'unknown-cid' }));
    mock.timers.tick(0);
    const conn = c.requests.find((r) => r.query.cmd === 'conn' && r.readyState < 4);
    assert.ok(conn, 'connects anew');
    mock.timers.tick(1000);
    conn.respond(200, connFrame({ cId: 'D'.repeat(22) }));
    mock.timers.tick(2000);
    const again = open(c)[0];
    assert.equal(again.p.idem, first.p.idem);
    assert.equal(again.p.cid, 'D'.repeat(22));
    again.r.respond(200, JSON.stringify({ ok: true, seq: 9, delivered: 2 }));
    assert.equal(report.seq, 9);
  });

  t('stopping the engine fails what is still queued', () => {
    const c = connected();
    const errors = [];
    c.JS.Engine.send('room', 1, (err) => errors.push(err && err.message));
    c.JS.Engine.send('room', 2, (err) => errors.push(err && err.message));
    open(c)[0].r.fail();
    c.JS.Engine.stop('bye');
    mock.timers.tick(0);
    assert.deepEqual(errors, ['stopped', 'stopped']);
  });
}
