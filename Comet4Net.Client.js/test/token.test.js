// Token refresh (src/token.js): the token callback asked before the expiry and after token-expired, cmd=refresh
// sent on the same connection, the page's param carrying the new token, and refusals that stop the page.
const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { load, line, connFrame, msg } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

const form = (r) => Object.fromEntries(new URLSearchParams(r.body || ''));

for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  // A page started with token=t0 and a token callback giving t1, t2, … (or what give() says); the conn frame says ttl.
  function started(ttl, give) {
    const c = load(file);
    const stops = [];
    let asked = 0;
    c.JS.Engine.on('stop', (cause) => stops.push(cause));
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn', 'token=t0&room=1', { token: () => (give ? give(++asked) : 't' + ++asked) });
    c.next().respond(200, connFrame({ ttl, expires: 1700000000000 }));
    return Object.assign(c, { stops, asked: () => asked });
  }

  t('at three quarters of the ttl the callback is asked and its token sent as cmd=refresh, the stream left alone', () => {
    const c = started(20000);
    const revival = c.next();
    revival.progress(line({ channel: 'c4j', data: { type: 'hb' } })); // the stream works (its first byte)
    mock.timers.tick(14900);
    assert.equal(c.asked(), 0);
    mock.timers.tick(100);
    assert.equal(c.asked(), 1);
    const refresh = c.pending().find((r) => r.method === 'POST');
    assert.deepEqual([form(refresh).cmd, form(refresh).token, form(refresh).cid], ['refresh', 't1', 'C'.repeat(22)]);
    refresh.respond(200, JSON.stringify({ ok: true, expires: 1700000020000, ttl: 20000 }));
    assert.equal(revival.aborted, false, 'the connection goes on');
    revival.progress(msg(11, 'news', 1));
    revival.respond(200, '');
    assert.equal(c.next().query.token, 't1', 'later requests carry the new token');
    mock.timers.tick(15000);
    assert.equal(c.asked(), 2, 'the next refresh is scheduled from the answer');
    assert.deepEqual(c.stops, []);
  });

  t('token-expired ends the answer: a refresh, then a revival from the same ack', () => {
    const c = started(20000);
    const revival = c.next();
    revival.progress(msg(11, 'news', 1) + line({ channel: 'c4j', data: { type: 'token-expired', message: 'expired' } }));
    assert.equal(revival.aborted, true);
    const refresh = c.next();
    assert.equal(form(refresh).cmd, 'refresh');
    refresh.respond(200, JSON.stringify({ ok: true, ttl: 20000 }));
    const again = c.next();
    assert.equal(again.query.cmd, 'revival');
    assert.equal(again.query.ack, '11');
    assert.deepEqual(c.stops, []);
  });

  t('a refresh the server refuses stops the page with its reason', () => {
    const c = started(20000);
    mock.timers.tick(15000);
    c.pending().find((r) => r.method === 'POST').respond(403, JSON.stringify({ error: 'forbidden', message: 'The token is for another user.' }));
    assert.deepEqual(c.stops, ['forbidden: The token is for another user.']);
    assert.equal(c.JS.Engine.running, false);
  });

  t('a callback that gives nothing, or throws, stops the page; without a callback token-expired stops it', () => {
    let c = started(20000, () => '');
    mock.timers.tick(15000);
    assert.equal(c.stops.length, 1);
    assert.match(c.stops[0], /^token-callback: /);
    c = started(20000, () => { throw new Error('no session'); });
    mock.timers.tick(15000);
    assert.deepEqual(c.stops, ['token-callback: no session']);
    c = load(file);
    const stops = [];
    c.JS.Engine.on('stop', (cause) => stops.push(cause));
    c.JS.Engine.start('/conn', 'token=t0');
    c.next().respond(200, connFrame({ ttl: 20000 }));
    c.next().progress(line({ channel: 'c4j', data: { type: 'token-expired' } }));
    assert.deepEqual(stops, ['token-expired']);
  });

  t('a transient failure of the refresh is sent again with backoff', () => {
    const c = started(20000);
    mock.timers.tick(15000);
    c.pending().find((r) => r.method === 'POST').respond(503, '');
    for (let i = 0; i < 40 && !c.pending().some((r) => r.method === 'POST'); i++) mock.timers.tick(50);
    const again = c.pending().find((r) => r.method === 'POST');
    assert.equal(form(again).token, 't1', 'the same token, not a new one asked');
    again.respond(200, JSON.stringify({ ok: true, ttl: 20000 }));
    assert.deepEqual(c.stops, []);
  });
}
