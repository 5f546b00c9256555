// The v2 additions: epoch/resume, Server-Sent Events, buffered-proxy detection, subscriptions across
// a reset, retried sub/unsub with an error event, and leaving without synchronous XHR.
const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { load, line, connFrame, sseConn, msg } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

const CID = 'C'.repeat(22);
const CS = 'S'.repeat(22);
const sys = (data) => ({ channel: 'c4j', data });
const frame = (seq, channel, data, extra) => Object.assign({ seq, channel, data, time: 1700000000000 + seq }, extra);

for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  // A page listening on news and hello, started with param room=1; the conn answered with connData.
  function connected(options, connData, loadOptions) {
    const c = load(file, loadOptions);
    const got = [];
    c.JS.Engine.on('news', (data) => got.push(data));
    c.JS.Engine.on('hello', (data) => got.push('hello:' + data));
    c.JS.Engine.start('/conn', 'room=1', options);
    c.next().respond(200, connFrame(connData));
    return Object.assign(c, { got });
  }

  // Fails every request as it comes and returns the delays (to 50 ms) before each next one.
  function failAll(c, n) {
    const delays = [];
    for (let i = 0; i < n; i++) {
      c.next().fail();
      let waited = 0;
      while (c.pending().length === 0) { mock.timers.tick(50); waited += 50; }
      delays.push(waited);
    }
    return delays;
  }

  // 1. epoch and resume window

  t('revivals carry the epoch of the conn frame with the ack', () => {
    const c = connected(null, { epoch: 'E1', resume: 60000 });
    const r = c.next();
    assert.equal(r.query.cmd, 'revival');
    assert.equal(r.query.ack, '10');
    assert.equal(r.query.ep, 'E1');
    r.progress(msg(11, 'news', 1));
    r.respond(200, '');
    const again = c.next();
    assert.equal(again.query.ack, '11');
    assert.equal(again.query.ep, 'E1');
  });

  t('a gap moves the position past the lost numbers: the next revival does not hear of it again', () => {
    const c = connected(null, { epoch: 'E1', resume: 60000 });
    const gaps = [];
    c.JS.Engine.on('gap', (info) => gaps.push(info.from + '..' + info.to));
    const r = c.next();
    r.progress(line(sys({ type: 'gap', from: 11, to: 14 })));
    r.respond(200, '');
    assert.deepEqual(gaps, ['11..14']);
    const again = c.next();
    assert.equal(again.query.ack, '14');
    again.progress(msg(15, 'news', 'after'));
    again.respond(200, '');
    assert.deepEqual(c.got, ['after']);
    assert.equal(c.next().query.ack, '15');
  });

  t('without an epoch in the conn frame no ep is sent', () => {
    const c = connected();
    assert.equal('ep' in c.next().query, false);
  });

  t('reconnect delays never pass a quarter of the resume window (at least 1 s)', () => {
    const c = connected(null, { epoch: 'E1', resume: 8000 });
    const delays = failAll(c, 20);
    assert.ok(Math.max(...delays) <= 2050, 'capped at 2 s: ' + delays);
    assert.equal(c.next().query.ep, 'E1');
    const d = connected(null, { resume: 2000 });
    const short = failAll(d, 20);
    assert.ok(Math.max(...short) <= 1050, 'capped at 1 s: ' + short);
    assert.equal(d.JS.Engine.running, true);
  });

  // 3. buffering proxies

  t('a stream whose bytes stop for 1.5 heartbeats while still open switches to long polling for good', () => {
    const c = connected(null, { heartbeat: 10000, epoch: 'E1' });
    const r = c.next();
    r.progress(line(sys({ type: 'hb' })) + msg(11, 'news', 1));
    mock.timers.tick(9000);
    r.progress(line(sys({ type: 'hb' }))); // a heartbeat in time keeps the stream
    mock.timers.tick(14900);
    assert.equal(c.pending().length, 1);
    assert.equal(c.pending()[0], r);
    mock.timers.tick(200); // 15.1 s of silence
    assert.equal(r.aborted, true);
    const poll = c.next();
    assert.equal(poll.query.ws, 'lpool');
    assert.equal(poll.query.ack, '11');
    assert.equal(poll.query.ep, 'E1');
    poll.respond(200, msg(12, 'news', 2));
    const poll2 = c.next();
    assert.equal(poll2.query.ws, 'lpool');
    assert.equal(poll2.query.ack, '12');
    assert.deepEqual(c.got, [1, 2]);
    // A reconnect after a failure keeps polling too.
    poll2.fail();
    mock.timers.tick(20000);
    assert.equal(c.next().query.ws, 'lpool');
  });

  t('the no-byte-at-all probe still switches a silent stream to long polling', () => {
    const c = connected(null, { heartbeat: 10000 });
    c.next();
    mock.timers.tick(4100);
    assert.equal(c.next().query.ws, 'lpool');
  });

  // 2 and 7. Server-Sent Events

  // A page on EventSource: the conn answered as text/event-stream, the EventSource open.
  function onSse(connExtra, loadOptions) {
    const c = load(file, Object.assign({ es: true }, loadOptions));
    const got = [];
    const styles = [];
    c.JS.Engine.on('news', (data) => got.push(data));
    c.JS.Engine.on('start', (cId, channels, engine, ws) => styles.push('start:' + ws));
    c.JS.Engine.getConnector().on('connect', (cId, channels, ws) => styles.push('connect:' + ws));
    c.JS.Engine.start('/conn', 'room=1', { ws: 'sse' });
    const conn = c.next();
    conn.progress(sseConn(Object.assign({ epoch: 'E1' }, connExtra)));
    return Object.assign(c, { got, styles, conn });
  }

  t('ws sse: conn asks for sse, takes the conn event from the open answer, then listens on an EventSource', () => {
    const c = load(file, { es: true });
    const styles = [];
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.on('start', (cId, channels, engine, ws) => styles.push(['start', cId, ws]));
    c.JS.Engine.getConnector().on('connect', (cId, channels, ws) => styles.push(['connect', cId, ws]));
    c.JS.Engine.start('/conn', 'room=1', { ws: 'sse' });
    const conn = c.next();
    assert.equal(conn.query.cmd, 'conn');
    assert.equal(conn.query.ws, 'sse');
    assert.equal(conn.query.sub, 'news');
    const text = sseConn({ epoch: 'E1' });
    conn.progress(text.slice(0, 40));
    conn.progress(text.slice(40, -1)); // the blank line that ends the event is still missing
    assert.equal(c.sources.length, 0);
    assert.deepEqual(styles, []);
    conn.progress('\n');
    assert.equal(conn.aborted, true);
    assert.deepEqual(styles.sort(), [['connect', CID, 'sse'], ['start', CID, 'sse']]);
    assert.equal(c.JS.Engine.getConnector().workStyle, 'sse');
    const es = c.source();
    assert.match(es.url, new RegExp('^/conn\\?cmd=revival&cid=C{22}&cs=S{22}&ws=sse&ack=10&ep=E1&names=0&room=1$'));
    assert.equal(c.pending().length, 0);
  });

  t('sse: messages are dispatched once and in order; dying reopens from the last ack; superseded does nothing', () => {
    const c = onSse();
    const es = c.source();
    es.emit(frame(11, 'news', 1));
    es.emit(frame(12, 'news', 2));
    es.emit(frame(12, 'news', 2)); // a re-send
    es.emit(sys({ type: 'superseded' }));
    assert.equal(c.source(), es);
    es.emit(sys({ type: 'dying' }));
    assert.equal(es.closed, true);
    const next = c.source();
    assert.equal(next.query.cmd, 'revival');
    assert.equal(next.query.ack, '12');
    assert.equal(next.query.ep, 'E1');
    assert.equal(next.query.names, '0');
    next.emit(frame(12, 'news', 2));
    next.emit(frame(15, 'news', 3));
    assert.deepEqual(c.got, [1, 2, 3]);
    assert.equal(c.pending().length, 0);
  });

  t('sse: an error closes the EventSource (no reconnect to its stale URL) and revives with backoff from the last ack', () => {
    const c = onSse({ resume: 8000 });
    let stops = 0;
    c.JS.Engine.on('stop', () => stops++);
    let es = c.source();
    es.emit(frame(11, 'news', 1));
    for (let i = 0; i < 6; i++) {
      es.error();
      assert.equal(es.closed, true);
      assert.equal(c.sources.filter((s) => !s.closed).length, 0);
      mock.timers.tick(2000); // resume 8000: the delay is at most 2 s
      const again = c.source();
      assert.notEqual(again, es);
      assert.equal(again.query.ack, '11');
      assert.equal(again.query.ep, 'E1');
      es = again;
    }
    es.emit(frame(13, 'news', 2));
    assert.deepEqual(c.got, [1, 2]);
    assert.equal(stops, 0);
    assert.equal(c.JS.Engine.running, true);
    assert.equal(c.pending().length, 0);
  });

  t('sse: a reconnect frame (server forgot the cid) connects again with the subscriptions', () => {
    const c = onSse();
    const events = [];
    c.JS.Engine.on('stop', (cause) => events.push('stop:' + cause));
    c.JS.Engine.on('gap', (info) => events.push('gap:' + info.reason));
    c.JS.Engine.on('start', (cId, ch, e, ws) => events.push('start:' + ws));
    const es = c.source();
    es.emit(sys({ type: 'reconnect' }));
    assert.equal(es.closed, true);
    const conn = c.next();
    assert.equal(conn.query.cmd, 'conn');
    assert.equal(conn.query.ws, 'sse');
    assert.equal(conn.query.sub, 'news');
    conn.progress(sseConn({ cId: 'D'.repeat(22), seq: 3, epoch: 'E2' }));
    assert.deepEqual(events, ['stop:reconnect', 'gap:reset', 'start:sse']);
    const next = c.source();
    assert.equal(next.query.cid, 'D'.repeat(22));
    assert.equal(next.query.ack, '3');
    assert.equal(next.query.ep, 'E2');
  });

  t('sse: kicked stops with the reason and nothing reconnects', () => {
    const c = onSse();
    let cause;
    c.JS.Engine.on('stop', (why) => { cause = why; });
    const es = c.source();
    es.emit(sys({ type: 'kicked', reason: 'spam' }));
    assert.equal(cause, 'spam');
    assert.equal(es.closed, true);
    assert.equal(c.JS.Engine.running, false);
    mock.timers.tick(120000);
    assert.equal(c.sources.length, 1);
    assert.equal(c.pending().length, 0);
  });

  t('sse: stop closes the EventSource and sends the drop', () => {
    const c = onSse();
    const es = c.source();
    c.JS.Engine.stop('bye');
    assert.equal(es.closed, true);
    assert.match(c.beacons[0], /cmd=drop&cid=C{22}&cs=S{22}&room=1$/);
  });

  t('the server choosing sse in the conn frame opens an EventSource too', () => {
    const c = load(file, { es: true });
    let style;
    c.JS.Engine.on('start', (cId, ch, e, ws) => { style = ws; });
    c.JS.Engine.start('/conn');
    const conn = c.next();
    assert.equal('ws' in conn.query, false);
    conn.respond(200, connFrame({ ws: 'sse', epoch: 'E1' }));
    assert.equal(style, 'sse');
    assert.equal(c.source().query.ws, 'sse');
    assert.equal(c.source().query.ep, 'E1');
    assert.equal(c.pending().length, 0);
  });

  t('without EventSource, sse falls back to stream (asked by the page or chosen by the server)', () => {
    const c = load(file);
    let style;
    c.JS.Engine.on('start', (cId, ch, e, ws) => { style = ws; });
    c.JS.Engine.start('/conn', '', { ws: 'sse' });
    const conn = c.next();
    assert.equal(conn.query.ws, 'stream');
    conn.respond(200, connFrame());
    assert.equal(style, 'stream');
    assert.equal(c.next().query.ws, 'stream');
    const d = load(file);
    d.JS.Engine.on('start', (cId, ch, e, ws) => { style = ws; });
    d.JS.Engine.start('/conn');
    d.next().respond(200, connFrame({ ws: 'sse' }));
    assert.equal(style, 'stream');
    const r = d.next();
    assert.equal(r.query.ws, 'stream');
    r.progress(msg(11, 'news', 1));
  });

  // 4. subscriptions across a reset

  t('after the server forgot the connection, the new conn subscribes to every channel listened to, later ones too', () => {
    const c = connected();
    const stream = c.next();
    const room = [];
    c.JS.Engine.on('room', (d) => room.push(d));
    const sub = c.requests.find((r) => r.query.cmd === 'sub');
    assert.equal(sub.query.channel, 'room');
    sub.respond(200, line(sys({ type: 'subscribed', channel: 'room', history: 0 })));
    stream.respond(404, JSON.stringify({ error: 'unknown-cid', channel: 'c4j', data: { type: 'reconnect' } }));
    const conn = c.next();
    assert.equal(conn.query.cmd, 'conn');
    assert.deepEqual(conn.query.sub.split(',').sort(), ['hello', 'news', 'room']);
    conn.respond(200, connFrame({ cId: 'D'.repeat(22), seq: 3 }));
    assert.equal(c.requests.filter((r) => r.query.cmd === 'sub').length, 1); // the conn carried them
    const r = c.next();
    assert.equal(r.query.cid, 'D'.repeat(22));
    r.progress(msg(4, 'room', 'r') + msg(5, 'news', 'n'));
    assert.deepEqual(room, ['r']);
    assert.deepEqual(c.got, ['n']);
  });

  // 5. failed sub / unsub

  const cmds = (c, cmd) => c.requests.filter((r) => r.query.cmd === cmd);
  const open = (c, cmd) => cmds(c, cmd).filter((r) => r.readyState < 4 && !r.aborted);

  t('a failed sub is retried with backoff; when it gets through the page sees no error', () => {
    const c = connected();
    c.next();
    const errors = [];
    c.JS.Engine.on('error', (e) => errors.push(e));
    c.JS.Engine.on('room', () => {});
    for (let i = 0; i < 3; i++) {
      const [sub] = open(c, 'sub');
      sub.respond(i === 1 ? 0 : 503, JSON.stringify({ error: 'busy', message: 'busy' }));
      assert.equal(open(c, 'sub').length, 0); // not at once: after a delay
      mock.timers.tick(5000);
    }
    const [last] = open(c, 'sub');
    assert.equal(last.query.channel, 'room');
    assert.equal(last.query.cid, CID);
    last.respond(200, line(sys({ type: 'subscribed', channel: 'room', history: 0 })));
    mock.timers.tick(60000);
    assert.equal(cmds(c, 'sub').length, 4);
    assert.deepEqual(errors, []);
  });

  t('a sub that fails 5 times fires error on JS.Engine and is not retried further; an unsub too', () => {
    const c = connected();
    c.next();
    const errors = [];
    c.JS.Engine.on('error', (e, engine) => errors.push([e.cmd, e.channel, e.message, engine === c.JS.Engine]));
    const fn = () => {};
    c.JS.Engine.on('room', fn);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(errors, []);
      open(c, 'sub')[0].fail();
      mock.timers.tick(10000);
    }
    assert.deepEqual(errors, [['sub', 'room', 'HTTP 0', true]]);
    assert.equal(cmds(c, 'sub').length, 5);
    mock.timers.tick(60000);
    assert.equal(cmds(c, 'sub').length, 5);
    assert.equal(c.JS.Engine.running, true);
    // 'error' is an engine event, not a channel: nothing subscribed it.
    assert.ok(!cmds(c, 'sub').some((r) => r.query.channel === 'error'));

    c.JS.Engine.on('hello', () => {}); // already subscribed at conn: no command
    const bye = () => {};
    c.JS.Engine.on('extra', bye);
    open(c, 'sub')[0].respond(200, '');
    c.JS.Engine.removeListener('extra', bye);
    for (let i = 0; i < 5; i++) {
      open(c, 'unsub')[0].respond(500, JSON.stringify({ error: 'oops', message: 'server error' }));
      mock.timers.tick(10000);
    }
    assert.deepEqual(errors[1], ['unsub', 'extra', 'server error', true]);
    assert.equal(cmds(c, 'unsub').length, 5);
  });

  t('a refused sub (403) fires error at once, is not retried and is forgotten', () => {
    const c = connected();
    const stream = c.next();
    const errors = [];
    c.JS.Engine.on('error', (e) => errors.push([e.cmd, e.channel, e.message]));
    c.JS.Engine.on('secret', () => {});
    open(c, 'sub')[0].respond(403, JSON.stringify({ error: 'refused', message: 'not for you' }));
    assert.deepEqual(errors, [['sub', 'secret', 'not for you']]);
    mock.timers.tick(3000); // longer than any first retry delay (and shorter than the stream probe)
    assert.equal(cmds(c, 'sub').length, 1);
    // Forgotten: a new connection does not ask for it again.
    stream.respond(404, JSON.stringify({ error: 'unknown-cid', channel: 'c4j', data: { type: 'reconnect' } }));
    const conn = c.next();
    assert.deepEqual(conn.query.sub.split(',').sort(), ['hello', 'news']);
  });

  t('retries of a sub end when the engine stops, with no error', () => {
    const c = connected();
    c.next();
    const errors = [];
    c.JS.Engine.on('error', (e) => errors.push(e));
    c.JS.Engine.on('room', () => {});
    open(c, 'sub')[0].fail();
    c.JS.Engine.stop('bye');
    mock.timers.tick(60000);
    assert.equal(cmds(c, 'sub').length, 1);
    assert.deepEqual(errors, []);
  });

  // 6. leaving without a synchronous request

  t('without sendBeacon, stop and page close drop with a keepalive fetch, never a synchronous XHR', () => {
    for (const opts of [{ beacon: false, fetch: true }, { beacon: 'fail', fetch: true }]) {
      const c = connected(null, null, opts);
      c.JS.Engine.stop('bye');
      assert.equal(c.fetches.length, 1);
      assert.match(c.fetches[0].url, /cmd=drop&cid=C{22}&cs=S{22}&room=1$/);
      assert.equal(c.fetches[0].init.keepalive, true);
      const d = connected(null, null, opts);
      d.fire('pagehide');
      assert.equal(d.fetches.length, 1);
      assert.match(d.fetches[0].url, /cmd=drop/);
      assert.equal(d.fetches[0].init.keepalive, true);
      for (const x of [...c.xhrs, ...d.xhrs]) assert.notEqual(x.async, false, 'a synchronous XHR: ' + x.url);
    }
  });

  t('with neither sendBeacon nor fetch the drop is an asynchronous request', () => {
    const c = connected(null, null, { beacon: false });
    c.fire('pagehide');
    const drop = c.xhrs.find((x) => /cmd=drop/.test(x.url));
    assert.ok(drop);
    assert.equal(drop.async, true);
    assert.ok(c.xhrs.every((x) => x.async !== false));
  });

  // Channels the server refused at connect, and an EventSource that a proxy buffers.

  t('channels refused at connect are reported once as errors and not asked for again', () => {
    const c = load(file);
    const errors = [];
    c.JS.Engine.on('secret', () => {});
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.on('error', (e) => errors.push(e.cmd + ':' + e.channel + ':' + e.message));
    c.JS.Engine.start('/conn');
    const conn = c.next();
    assert.equal(conn.query.sub, 'secret,news');
    conn.respond(200, connFrame({ refused: ['secret'] }));
    assert.deepEqual(errors, ['sub:secret:refused']);
    c.next().respond(404, JSON.stringify({ error: 'unknown-cid' })); // the server forgot it: a new conn
    assert.equal(c.next().query.sub, 'news');
  });

  t('sse: an EventSource whose frames stop, heartbeats included, is buffered: the page falls back to long polling', () => {
    const c = onSse({ heartbeat: 1000 });
    const es = c.sources[0];
    es.emit(frame(11, 'news', 1));
    mock.timers.tick(1000);
    es.emit(sys({ type: 'hb' })); // a heartbeat keeps it alive
    mock.timers.tick(2000);
    assert.equal(es.closed, false);
    mock.timers.tick(1000); // nothing for 1.5 heartbeats (+1 s)
    assert.equal(es.closed, true);
    const poll = c.next();
    assert.equal(poll.query.ws, 'lpool');
    assert.equal(poll.query.ack, '11');
    assert.deepEqual(c.got, [1]);
  });
}
