// The websocket work style: auto asks for it, frames arrive on a socket and are acknowledged on it,
// a closed socket revives from the last ack, and a path that does not carry WebSockets falls back to streaming.
const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { load, connFrame, msg } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  function onWebSocket() {
    const c = load(file, { ws: true });
    const got = [];
    const styles = [];
    c.JS.Engine.on('news', (data) => got.push(data));
    c.JS.Engine.on('start', (cId, channels, engine, ws) => styles.push(ws));
    c.JS.Engine.start('/conn', 'room=1');
    const conn = c.next();
    assert.equal(conn.query.wsok, '1', 'auto: the client says it can open a WebSocket');
    conn.respond(200, connFrame({ ws: 'websocket', epoch: 'E1', heartbeat: 1000 }));
    return Object.assign(c, { got, styles });
  }

  t('frames arrive on the socket, once and in order, and each message is acknowledged on it', () => {
    const c = onWebSocket();
    assert.deepEqual(c.styles, ['websocket']);
    const so = c.sockets[0];
    assert.match(so.url, /^ws:\/\/page\.test\/conn\?cmd=revival&cid=C{22}&cs=S{22}&ack=10&ep=E1&ws=websocket&room=1$/);
    so.open();
    so.message(msg(11, 'news', 1) + msg(12, 'news', 2));
    so.message(msg(12, 'news', 2) + msg(13, 'news', 3)); // a re-send after a reconnect is dropped
    assert.deepEqual(c.got, [1, 2, 3]);
    assert.deepEqual(so.sent, [{ cmd: 'ack', seq: 12 }, { cmd: 'ack', seq: 13 }]);
  });

  t('a socket that closes after it opened is opened again from the last ack, with backoff', () => {
    const c = onWebSocket();
    const so = c.sockets[0];
    so.open();
    so.message(msg(11, 'news', 1));
    so.serverClose();
    assert.equal(c.sockets.length, 1, 'not at once');
    mock.timers.tick(1000);
    assert.equal(c.sockets.length, 2);
    assert.equal(c.sockets[1].query.ack, '11');
    c.sockets[1].open();
    c.sockets[1].message(msg(12, 'news', 2));
    assert.deepEqual(c.got, [1, 2]);
  });

  t('a socket that never opens (a proxy that does not carry WebSockets) falls back to streaming, tried once more when the stream works', () => {
    const c = onWebSocket();
    c.sockets[0].serverClose();
    const revival = c.next();
    assert.equal(revival.query.ws, 'stream');
    assert.equal(revival.query.ack, '10');
    revival.progress(msg(11, 'news', 1));
    assert.deepEqual(c.got, [1]);
    // One refusal may have been a cut that lost the handshake: the WebSocket once more, from the position reached.
    assert.equal(revival.aborted, true);
    assert.equal(c.sockets.length, 2);
    assert.equal(c.sockets[1].query.ack, '11');
    c.sockets[1].serverClose(); // refused again: streaming it is
    const again = c.next();
    assert.equal(again.query.ws, 'stream');
    assert.equal(again.query.ack, '11');
    again.progress(msg(12, 'news', 2));
    assert.equal(c.sockets.length, 2, 'not again at once');
    assert.deepEqual(c.got, [1, 2]);
    assert.equal(c.JS.Engine.getConnector().workStyle, 'stream');
  });

  t('a silent socket (no frame, not even a heartbeat) is opened again', () => {
    const c = onWebSocket();
    c.sockets[0].open();
    mock.timers.tick(2600);
    assert.equal(c.sockets[0].closed, true);
    mock.timers.tick(1000);
    assert.equal(c.sockets.length, 2);
  });

  t('without WebSocket in the window, auto does not ask for it', () => {
    const c = load(file);
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn');
    assert.equal('wsok' in c.next().query, false);
  });

  t('a page that asked for websocket falls back to streaming too, and says so on its revivals', () => {
    const c = load(file, { ws: true });
    c.JS.Engine.on('news', () => {});
    c.JS.Engine.start('/conn', '', { ws: 'websocket' });
    const conn = c.next();
    assert.equal(conn.query.ws, 'websocket');
    conn.respond(200, connFrame({ ws: 'websocket' }));
    c.sockets[0].serverClose();
    assert.equal(c.next().query.ws, 'stream');
  });

  t('once a socket has worked, a failure to open the next one is the network: it tries again instead of falling back', () => {
    const c = onWebSocket();
    c.sockets[0].open();
    c.sockets[0].message(msg(11, 'news', 1));
    c.sockets[0].serverClose();
    mock.timers.tick(1000);
    c.sockets[1].serverClose(); // the network is down: the upgrade fails
    mock.timers.tick(2000);
    assert.equal(c.sockets.length, 3, 'a WebSocket again');
    assert.equal(c.pending().length, 0, 'no fallback request');
  });

  t('on a WebSocket, channel commands go over the socket and their replies answer them', () => {
    const c = onWebSocket();
    const so = c.sockets[0];
    so.open();
    const history = [];
    c.JS.Engine.on('room', (data, time, engine, frame) => history.push((frame.history ? 'h:' : '') + data), null, { history: 2 });
    assert.deepEqual(so.sent, [{ id: 1, cmd: 'sub', channel: 'room', history: 2 }]);
    so.message(msg(11, 'room', 'live')); // a live frame before the history reply waits for it
    const frames = msg(5, 'room', 'old', { history: true }) + JSON.stringify({ channel: 'c4j', data: { type: 'subscribed', channel: 'room', history: 1 } }) + '\n';
    so.message(JSON.stringify({ channel: 'c4j', data: { type: 'reply', id: 1, ok: true, frames } }) + '\n');
    assert.deepEqual(history, ['h:old', 'live']);
    let report = null;
    c.JS.Engine.send('room', { text: 'hi' }, (err, r) => { report = r; });
    const pub = so.sent[so.sent.length - 1];
    assert.match(pub.idem, /^[A-Za-z0-9_-]{22}$/, 'an idempotency key');
    assert.deepEqual(pub, { id: 2, cmd: 'pub', channel: 'room', data: '{"text":"hi"}', idem: pub.idem });
    so.message(JSON.stringify({ channel: 'c4j', data: { type: 'reply', id: 2, ok: true, seq: 12, delivered: 3 } }) + '\n');
    assert.equal(report.delivered, 3);
    let counted = null;
    c.JS.Engine.count('room', (err, r) => { counted = err ? err.message : r.connections; });
    so.message(JSON.stringify({ channel: 'c4j', data: { type: 'reply', id: 3, error: 'forbidden', message: 'Counts of room are not public.' } }) + '\n');
    assert.equal(counted, 'Counts of room are not public.');
  });
}
