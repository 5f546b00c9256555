// The connector's state machine over its list of transports: open deadlines hand over to the next
// transport from the same position, a transport that worked is tried again first after a cut, one left
// is tried again later, the page's forced style is kept, and the transport event says each move.
const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { load, connFrame, msg } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  // A page on the default work style in a browser with WebSocket; the server chose websocket.
  function started(options, connExtra) {
    const c = load(file, { ws: true });
    const got = [];
    const moves = [];
    c.JS.Engine.on('news', (data) => got.push(data));
    c.JS.Engine.on('transport', (info, engine) => { assert.equal(engine, c.JS.Engine); moves.push([info.name, info.previous, info.reason]); });
    c.JS.Engine.start('/conn', '', options);
    c.next().respond(200, connFrame(Object.assign({ ws: 'websocket', epoch: 'E1', heartbeat: 1000 }, connExtra)));
    return Object.assign(c, { got, moves, conn: c.JS.Engine.getConnector() });
  }

  t('the states: connecting while the conn answer and the first transport open, connected once it works, stopped', () => {
    const c = load(file, { ws: true });
    const conn = c.JS.Engine.getConnector();
    assert.equal(conn.state, 'disconnected');
    assert.equal(c.JS.Connector.State.CONNECTED, 'connected');
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn');
    assert.equal(conn.getState(), 'connecting');
    c.next().respond(200, connFrame({ ws: 'websocket' }));
    assert.equal(conn.state, 'connecting');
    c.sockets[0].open();
    assert.equal(conn.state, 'connected');
    c.sockets[0].serverClose();
    assert.equal(conn.state, 'reconnecting');
    c.JS.Engine.stop('bye');
    assert.equal(conn.state, 'stopped');
  });

  t('a WebSocket whose upgrade is never answered hands over to streaming after its open deadline, from the same position', () => {
    const c = started();
    assert.deepEqual(c.moves, [['websocket', '', 'connect']]);
    assert.equal(c.conn.workStyle, 'websocket');
    mock.timers.tick(4900);
    assert.equal(c.pending().length, 0, 'still waiting for the socket');
    mock.timers.tick(200);
    assert.equal(c.sockets[0].closed, true, 'the pending socket is given up');
    const stream = c.next();
    assert.equal(stream.query.cmd, 'revival');
    assert.equal(stream.query.ws, 'stream');
    assert.equal(stream.query.ack, '10');
    assert.equal(stream.query.ep, 'E1');
    assert.equal(c.conn.workStyle, 'stream');
    assert.deepEqual(c.moves[1], ['stream', 'websocket', 'open-timeout']);
    stream.progress(msg(11, 'news', 1) + msg(12, 'news', 2));
    assert.deepEqual(c.got, [1, 2]);
    assert.equal(c.conn.state, 'connected');
  });

  t('the open deadline is an option', () => {
    const c = started({ wsOpenTimeout: 1500 });
    mock.timers.tick(1600);
    assert.equal(c.next().query.ws, 'stream');
  });

  t('a stream whose first byte does not come hands over to long polling, and the lpool keeps the position', () => {
    const c = started();
    mock.timers.tick(5100);
    const stream = c.next();
    mock.timers.tick(4100);
    assert.equal(stream.aborted, true);
    const poll = c.next();
    assert.equal(poll.query.ws, 'lpool');
    assert.equal(poll.query.ack, '10');
    assert.deepEqual(c.moves.map((m) => m[0] + ':' + m[2]), ['websocket:connect', 'stream:open-timeout', 'lpool:buffered']);
    assert.equal(c.conn.workStyle, 'lpool');
  });

  t('a WebSocket left because it did not open is tried again after upgradeAfter, from the position reached', () => {
    const c = started({ upgradeAfter: 10000 }, { heartbeat: 20000 });
    mock.timers.tick(5100); // deadline: stream
    const stream = c.next();
    stream.progress(msg(11, 'news', 1));
    mock.timers.tick(9000);
    assert.equal(c.sockets.length, 1);
    mock.timers.tick(1000); // 10 s after the fall: the WebSocket again
    assert.equal(stream.aborted, true);
    assert.equal(c.sockets.length, 2);
    assert.equal(c.sockets[1].query.ack, '11');
    assert.equal(c.conn.workStyle, 'websocket');
    assert.deepEqual(c.moves[c.moves.length - 1], ['websocket', 'stream', 'upgrade']);
    c.sockets[1].open();
    c.sockets[1].message(msg(11, 'news', 1) + msg(12, 'news', 2));
    assert.deepEqual(c.got, [1, 2], 'exactly once');
    // It works: it stays.
    mock.timers.tick(60000 * 10);
    assert.equal(c.conn.workStyle, 'websocket');
  });

  t('a WebSocket that fails again when tried again waits twice as long before the next try', () => {
    const c = started({ upgradeAfter: 10000 });
    c.sockets[0].serverClose(); // refused at once: stream, at once
    assert.equal(c.next().query.ws, 'stream');
    mock.timers.tick(10000);
    assert.equal(c.sockets.length, 2);
    c.sockets[1].serverClose();
    assert.equal(c.next().query.ws, 'stream');
    mock.timers.tick(19000);
    assert.equal(c.sockets.length, 2, 'not before 20 s');
    mock.timers.tick(1000);
    assert.equal(c.sockets.length, 3);
  });

  t('a socket cut after it worked is opened again first, however often; only its open deadline moves it down', () => {
    const c = started();
    for (let i = 0; i < 5; i++) {
      const so = c.sockets[c.sockets.length - 1];
      so.open();
      so.message(msg(11 + i, 'news', i));
      so.serverClose();
      mock.timers.tick(1000);
      assert.equal(c.pending().length, 0, 'no fallback request');
      assert.equal(c.conn.workStyle, 'websocket');
    }
    assert.equal(c.sockets.length, 6);
    assert.equal(c.sockets[5].query.ack, '15');
    assert.deepEqual(c.got, [0, 1, 2, 3, 4]);
    mock.timers.tick(5100); // a proxy now holds the upgrade: down the list all the same
    assert.equal(c.next().query.ws, 'stream');
    assert.deepEqual(c.moves.map((m) => m[0]), ['websocket', 'stream']);
  });

  t('a WebSocket that worked and is then refused three times goes down, and up again as soon as the network works', () => {
    const c = started();
    c.sockets[0].open();
    c.sockets[0].serverClose();
    for (let i = 1; i <= 3; i++) {
      mock.timers.tick(5000);
      assert.equal(c.sockets.length, i + 1);
      c.sockets[i].serverClose(); // an outage, or a proxy that stopped carrying WebSockets
    }
    const stream = c.next();
    assert.equal(stream.query.ws, 'stream');
    stream.progress(msg(11, 'news', 1)); // the network works: was it an outage? the WebSocket again
    assert.equal(stream.aborted, true);
    assert.equal(c.sockets.length, 5);
    assert.equal(c.sockets[4].query.ack, '11');
    c.sockets[4].open();
    assert.equal(c.conn.workStyle, 'websocket');
    assert.deepEqual(c.got, [1]);
  });

  t('after an outage longer than upgradeAfter, the WebSocket that had worked is back as soon as the network works', () => {
    const c = started({ upgradeAfter: 10000 }, { heartbeat: 20000 });
    c.sockets[0].open();
    c.sockets[0].serverClose();
    const refuse = () => { for (const so of c.sockets) if (so.readyState === 0) so.serverClose(); for (const r of c.pending()) r.fail(); };
    for (let ms = 0; ms < 40000; ms += 100) { refuse(); mock.timers.tick(100); } // 40 s: every socket and request refused
    assert.ok(c.sockets.length > 4, 'the WebSocket was tried during the outage: ' + c.sockets.length);
    refuse();
    mock.timers.tick(20000);
    const open = c.pending();
    assert.equal(open.length, 1);
    assert.equal(open[0].query.ws, 'stream');
    const before = c.sockets.length;
    open[0].progress(msg(11, 'news', 1)); // the network is back
    assert.equal(c.sockets.length, before + 1, 'the WebSocket again at once');
    c.sockets[before].open();
    assert.equal(c.conn.workStyle, 'websocket');
    assert.deepEqual(c.got, [1]);
  });

  t('a new connection (the server forgot the old one) tries the WebSocket first again', () => {
    const c = started();
    c.sockets[0].serverClose();
    const stream = c.next();
    assert.equal(c.conn.workStyle, 'stream');
    stream.respond(404, JSON.stringify({ error: 'unknown-cid' }));
    const conn = c.next();
    assert.equal(conn.query.cmd, 'conn');
    assert.equal(conn.query.wsok, '1');
    conn.respond(200, connFrame({ ws: 'websocket', cId: 'D'.repeat(22) }));
    assert.equal(c.sockets.length, 2);
    assert.equal(c.conn.workStyle, 'websocket');
    assert.deepEqual(c.moves[c.moves.length - 1], ['websocket', 'stream', 'connect']);
  });

  t('a forced style is kept: no WebSocket for a page that asked for lpool or stream, even when the server offers one', () => {
    for (const ws of ['lpool', 'stream']) {
      const c = load(file, { ws: true });
      c.JS.Engine.on('news', () => {});
      c.JS.Engine.start('/conn', '', { ws });
      const conn = c.next();
      assert.equal(conn.query.ws, ws);
      assert.equal('wsok' in conn.query, false);
      conn.respond(200, connFrame({ ws: 'websocket' }));
      assert.equal(c.sockets.length, 0);
      const r = c.next();
      assert.equal(r.query.ws, ws);
      assert.equal(c.JS.Engine.getConnector().workStyle, ws);
      r.fail();
      mock.timers.tick(60000);
      assert.equal(c.sockets.length, 0, 'never a WebSocket');
      assert.equal(c.next().query.ws, ws);
    }
  });

  t('a page that forced websocket gets it first, and the transport event names it', () => {
    const c = load(file, { ws: true });
    const moves = [];
    c.JS.Engine.on('transport', (info) => moves.push(info));
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn', '', { ws: 'websocket' });
    c.next().respond(200, connFrame({ ws: 'stream' }));
    assert.equal(c.sockets.length, 1);
    assert.equal(JSON.stringify(moves), JSON.stringify([{ name: 'websocket', previous: '', reason: 'connect' }]));
    assert.equal(c.JS.Engine.hasListener('transport'), true);
    assert.equal(c.pending().length, 0, 'transport is no channel: no sub for it');
  });

  t('a move frame (the node drains): the socket closes after what came before it, and a new one resumes from the same position after the delay hint, without backoff', () => {
    const c = started();
    c.sockets[0].open();
    c.sockets[0].message(msg(11, 'news', 1) + JSON.stringify({ channel: 'c4j', data: { type: 'move', after: 120 } }) + '\n');
    assert.deepEqual(c.got, [1]);
    assert.equal(c.sockets[0].closed, true, 'the client leaves the draining node');
    mock.timers.tick(100);
    assert.equal(c.sockets.length, 1, 'not before the delay hint');
    mock.timers.tick(30);
    assert.equal(c.sockets.length, 2, 'a new socket, wherever the balancer sends it');
    assert.match(c.sockets[1].url, /cmd=revival/);
    assert.match(c.sockets[1].url, /ack=11/);
    assert.equal(c.conn.workStyle, 'websocket', 'a move is no reason to change work style');
  });

  t('503 draining: retried within 250 ms (another node answers), not after Retry-After; a second in a row waits within the node\'s spread, and so do the failures after it, until a node answers', () => {
    const c = load(file, {});
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn', '', { ws: 'lpool' });
    c.next().respond(200, connFrame({ ws: 'lpool' }));
    const draining = JSON.stringify({ error: 'draining', message: 'go elsewhere', spread: 4000 });
    c.next().respond(503, draining, { 'Retry-After': '1' });
    mock.timers.tick(250);
    const second = c.next();
    assert.equal(second.query.cmd, 'revival', 'retried within 250 ms, not after Retry-After');
    // The second in a row: no other node answers. Back at a moment in [2 s, 4 s], not with the 0.5 s backoff.
    for (let i = 0; i < 4; i++) {
      if (i === 0) second.respond(503, draining, { 'Retry-After': '1' });
      else c.next().fail(); // the node is gone (connection refused): the same window
      mock.timers.tick(1999);
      assert.equal(c.pending().length, 0, 'not before half the spread (try ' + i + ')');
      mock.timers.tick(2001);
      assert.equal(c.pending().length, 1, 'within the spread (try ' + i + ')');
      assert.equal(c.pending()[0].query.cmd, 'revival', 'the same connection, still resuming');
    }
    // A node answers (the connection is forgotten: a new one): the next failure backs off as usual again.
    c.next().respond(404, JSON.stringify({ error: 'unknown-cid' }));
    c.next().respond(200, connFrame({ ws: 'lpool', cId: 'second' }));
    c.next().fail();
    mock.timers.tick(500);
    assert.equal(c.pending().length, 1, 'the usual backoff (full jitter, 0.5 s at first)');
  });
}
