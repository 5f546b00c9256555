// shareTabs: one connection per browser, held by the master tab; the other tabs hear it on a
// BroadcastChannel, ask it to send and count, and take the same connection over when it goes.
const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { load, tabs, line, connFrame, msg } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval'] }));
afterEach(() => mock.timers.reset());

const CID = 'C'.repeat(22);
const CS = 'S'.repeat(22);
const sys = (data) => line({ channel: 'c4j', data });

for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  // A tab of the browser `b` that records what its page sees, listening on `channels`.
  function tab(b, channels, loadOptions) {
    const c = load(file, Object.assign({ tabs: b }, loadOptions));
    const seen = [];
    const E = c.JS.Engine;
    E.on({
      start: (cId, ch, e, ws) => seen.push('start:' + cId.slice(0, 2) + ':' + ws),
      stop: (cause) => seen.push('stop:' + cause),
      gap: (info) => seen.push('gap:' + info.from + '-' + info.to),
      error: (info) => seen.push('error:' + info.cmd + ':' + info.channel),
      master: (is) => seen.push('master:' + is),
    });
    for (const ch of channels) E.on(ch, (data, time, engine, frame) => seen.push(ch + ':' + data + '@' + frame.seq));
    return Object.assign(c, { E, seen, start: () => E.start('/conn', 'room=1', { shareTabs: true }) });
  }

  // Three tabs of one browser, started in order; the first is master and connected (seq 10, epoch E1).
  async function three(loadOptions) {
    const b = tabs();
    const a = tab(b, ['news'], loadOptions);
    const f = tab(b, ['news', 'hello'], loadOptions);
    const g = tab(b, ['news'], loadOptions);
    for (const x of [a, f, g]) { x.start(); await b.settle(); }
    return { b, a, f, g };
  }
  async function connected() {
    const tabs3 = await three();
    const conn = tabs3.a.next();
    conn.respond(200, connFrame({ epoch: 'E1', resume: 60000 }));
    await tabs3.b.settle();
    tabs3.a.requests.find((r) => r.query.cmd === 'sub').respond(200, sys({ type: 'subscribed', channel: 'hello' })); // f's channel
    return Object.assign(tabs3, { stream: tabs3.a.next() });
  }
  const only = (seen, prefix) => seen.filter((s) => s.startsWith(prefix));

  t('one tab connects, for the union of the tabs\' channels; the others are followers with no request of their own', async () => {
    const { a, f, g } = await three();
    assert.equal(a.E.isMaster(), true);
    assert.equal(f.E.isMaster(), false);
    assert.equal(g.E.isMaster(), false);
    assert.deepEqual(a.seen, ['master:true']);
    const conn = a.next();
    assert.equal(conn.query.cmd, 'conn');
    assert.equal(conn.query.sub, 'news');
    conn.respond(200, connFrame());
    // f listens on hello too: subscribed as soon as the connection is there.
    assert.deepEqual(a.requests.filter((r) => r.query.cmd === 'sub').map((r) => r.query.channel), ['hello']);
    assert.equal(f.requests.length + g.requests.length, 0);
    assert.equal(f.E.running, true);
  });

  t('isMaster is false before start, true without shareTabs, and shareTabs without BroadcastChannel connects in every tab', () => {
    const c = load(file);
    assert.equal(c.JS.Engine.isMaster(), false);
    c.JS.Engine.start('/conn', '', { shareTabs: true }); // no BroadcastChannel in this window: plain
    assert.equal(c.JS.Engine.isMaster(), true);
    assert.equal(c.next().query.cmd, 'conn');
  });

  t('followers get start, every message once and in order, and gap, with the master\'s cId', async () => {
    const { b, a, f, g, stream } = await connected();
    stream.progress(msg(11, 'news', 1) + msg(12, 'hello', 2) + msg(13, 'news', 3));
    await b.settle();
    stream.progress(msg(12, 'hello', 2) + sys({ type: 'gap', from: 14, to: 15 }) + msg(16, 'news', 4)); // 12 again: a re-send
    await b.settle();
    assert.deepEqual(a.seen, ['master:true', 'start:CC:stream', 'news:1@11', 'news:3@13', 'gap:14-15', 'news:4@16']);
    assert.deepEqual(f.seen, ['start:CC:stream', 'news:1@11', 'hello:2@12', 'news:3@13', 'gap:14-15', 'news:4@16']);
    assert.deepEqual(g.seen, ['start:CC:stream', 'news:1@11', 'news:3@13', 'gap:14-15', 'news:4@16']);
    assert.equal(f.E.getId(), CID);
    assert.equal(f.E.getConnector().lastSeq, 16);
  });

  t('a tab that joins later starts from the master\'s position, without older messages', async () => {
    const { b, stream } = await connected();
    stream.progress(msg(11, 'news', 1));
    await b.settle();
    const late = tab(b, ['news']);
    late.start();
    await b.settle();
    stream.progress(msg(12, 'news', 2));
    await b.settle();
    assert.deepEqual(late.seen, ['start:CC:stream', 'news:2@12']);
    assert.equal(late.requests.length, 0);
  });

  t('send and count from a follower go through the master and answer the follower', async () => {
    const { b, a, g } = await connected();
    let report, counted, failed;
    g.E.send('room', { text: 'hi' }, { event: 'say' }, (err, r) => { report = r; });
    g.E.count('room', (err, n) => { counted = n; });
    g.E.count('secret', (err) => { failed = err; });
    await b.settle();
    const pub = a.requests.find((r) => r.method === 'POST');
    assert.match(pub.body, /cmd=pub&channel=room&event=say&data=%7B%22text%22%3A%22hi%22%7D&idem=[A-Za-z0-9_-]{22}&cid=C{22}&cs=S{22}&room=1/);
    pub.respond(200, JSON.stringify({ ok: true, seq: 20, delivered: 3 }));
    const counts = a.requests.filter((r) => r.query.cmd === 'count');
    counts[0].respond(200, JSON.stringify({ channel: 'room', connections: 1, users: 1 }));
    counts[1].respond(403, JSON.stringify({ error: 'forbidden', message: 'no counts here' }));
    await b.settle();
    assert.equal(report.delivered, 3);
    assert.equal(counted.connections, 1);
    assert.equal(failed.message, 'no counts here');
    assert.equal(g.requests.length, 0);
  });

  t('a follower\'s new channel is subscribed by the master; when no tab listens any more it is unsubscribed', async () => {
    const { b, a, g } = await connected();
    const fn = () => {};
    g.E.on('sport', fn);
    await b.settle();
    const sub = a.requests.filter((r) => r.query.cmd === 'sub').map((r) => r.query.channel);
    assert.deepEqual(sub, ['hello', 'sport']);
    a.requests.find((r) => r.query.channel === 'sport').respond(200, sys({ type: 'subscribed', channel: 'sport' }));
    g.E.removeListener('sport', fn);
    await b.settle();
    assert.deepEqual(a.requests.filter((r) => r.query.cmd === 'unsub').map((r) => r.query.channel), ['sport']);
  });

  t('a follower\'s history is asked through the master and dispatched in that tab alone, before live frames', async () => {
    const { b, a, f, g, stream } = await connected();
    f.E.on('room', (data, time, engine, frame) => f.seen.push('room:' + data + (frame.history ? 'h' : '')), null, { history: 2 });
    await b.settle();
    const sub = a.requests.find((r) => r.query.cmd === 'sub' && r.query.history === '2');
    assert.equal(sub.query.channel, 'room');
    stream.progress(msg(12, 'room', 3) + msg(13, 'room', 4)); // live frames overtake the history
    await b.settle();
    sub.respond(200, msg(8, 'room', 1, { history: true }) + msg(12, 'room', 3, { history: true }) + sys({ type: 'subscribed', channel: 'room', history: 2 }));
    await b.settle();
    assert.deepEqual(only(f.seen, 'room'), ['room:1h', 'room:3h', 'room:4']);
    assert.deepEqual(only(g.seen, 'room'), []);
  });

  t('the master crashes: the next tab resumes the same connection from the last seq, nobody sees a duplicate or a new start', async () => {
    const { b, a, f, g, stream } = await connected();
    stream.progress(msg(11, 'news', 1) + msg(12, 'hello', 2));
    await b.settle();
    a.close(true); // no pagehide, no drop: a crash
    await b.settle();
    assert.equal(f.E.isMaster(), true);
    assert.equal(g.E.isMaster(), false);
    const revival = f.next();
    assert.equal(revival.query.cmd, 'revival');
    assert.equal(revival.query.cid, CID);
    assert.equal(revival.query.cs, CS);
    assert.equal(revival.query.ack, '12');
    assert.equal(revival.query.ep, 'E1');
    assert.equal(f.requests.filter((r) => r.query.cmd === 'conn').length, 0);
    // What the server held after 12 (and 12 again: the old master's request may have been cut mid-write).
    revival.progress(msg(12, 'hello', 2) + msg(13, 'news', 3) + msg(14, 'hello', 4));
    await b.settle();
    assert.deepEqual(f.seen, ['start:CC:stream', 'news:1@11', 'hello:2@12', 'master:true', 'news:3@13', 'hello:4@14']);
    assert.deepEqual(g.seen, ['start:CC:stream', 'news:1@11', 'news:3@13']);
    // g follows the new master: its commands go there.
    let counted;
    g.E.count('news', (err, n) => { counted = n; });
    await b.settle();
    f.requests.find((r) => r.query.cmd === 'count').respond(200, JSON.stringify({ connections: 1, users: 0 }));
    await b.settle();
    assert.equal(counted.connections, 1);
  });

  t('a follower that heard less than another resumes from its own position; the other drops what it already had', async () => {
    const { b, a, f, g, stream } = await connected();
    stream.progress(msg(11, 'news', 1));
    await b.settle();
    // The master dispatches 12 and dies; f takes over before it heard 12, g heard it.
    stream.progress(msg(12, 'news', 2));
    b.lose(f.tab);
    a.close(true);
    await b.settle();
    const revival = f.next();
    assert.equal(revival.query.ack, '11');
    revival.progress(msg(12, 'news', 2) + msg(13, 'news', 3));
    await b.settle();
    assert.deepEqual(only(f.seen, 'news'), ['news:1@11', 'news:2@12', 'news:3@13']);
    assert.deepEqual(only(g.seen, 'news'), ['news:1@11', 'news:2@12', 'news:3@13']);
  });

  t('a master that closes (pagehide) does not drop the connection while other tabs remain; the last tab does', async () => {
    const { b, a, f, g } = await connected();
    a.close();
    await b.settle();
    assert.equal(a.beacons.length, 0);
    assert.equal(f.E.isMaster(), true);
    f.next().progress(msg(11, 'news', 1));
    await b.settle();
    assert.deepEqual(only(g.seen, 'news'), ['news:1@11']);
    // A follower stopping: its page sees stop; the master keeps going.
    g.E.stop('bye');
    await b.settle();
    assert.deepEqual(g.seen.slice(-1), ['stop:bye']);
    assert.equal(g.E.running, false);
    assert.equal(g.E.isMaster(), false);
    // hello was f's alone... and news f's too now: the last tab's stop drops the connection.
    f.E.stop('done');
    assert.equal(f.beacons.length, 1);
    assert.match(f.beacons[0], /cmd=drop&cid=C{22}&cs=S{22}/);
    assert.deepEqual(f.seen.slice(-2), ['stop:done', 'master:false']);
  });

  t('stop on the master hands the connection to another tab without dropping it', async () => {
    const { b, a, f, g } = await connected();
    a.E.stop('leaving');
    await b.settle();
    assert.equal(a.beacons.length, 0);
    assert.deepEqual(a.seen.slice(-2), ['stop:leaving', 'master:false']);
    assert.equal(f.E.isMaster(), true);
    assert.equal(f.next().query.cid, CID);
    assert.equal(only(f.seen, 'stop').length + only(g.seen, 'stop').length, 0);
  });

  t('a follower that leaves: the master unsubscribes the channels no tab listens to any more', async () => {
    const { b, a, f } = await connected();
    f.close();
    await b.settle();
    assert.deepEqual(a.requests.filter((r) => r.query.cmd === 'unsub').map((r) => r.query.channel), ['hello']);
  });

  t('kicked: every tab sees stop with the reason, and nobody reconnects', async () => {
    const { b, a, f, g, stream } = await connected();
    stream.progress(sys({ type: 'kicked', reason: 'spam' }));
    await b.settle();
    for (const x of [a, f, g]) {
      assert.deepEqual(only(x.seen, 'stop'), ['stop:spam']);
      assert.equal(x.E.running, false);
    }
    a.close();
    await b.settle();
    mock.timers.tick(60000);
    assert.equal(f.pending().length + g.pending().length, 0);
  });

  t('the server forgot the connection: every tab sees stop, gap and the new start', async () => {
    const { b, a, f, stream } = await connected();
    stream.respond(404, JSON.stringify({ error: 'unknown-cid', message: 'gone', channel: 'c4j', data: { type: 'reconnect' } }));
    const conn = a.next();
    conn.respond(200, connFrame({ cId: 'D'.repeat(22), seq: 50 }));
    await b.settle();
    a.next().progress(msg(51, 'news', 9));
    await b.settle();
    assert.deepEqual(f.seen, ['start:CC:stream', 'stop:reconnect', 'gap:11-null', 'start:DD:stream', 'news:9@51']);
    assert.equal(f.E.getId(), 'D'.repeat(22));
  });

  t('without Web Locks: a heartbeat elects the oldest live tab, and another takes over when it stops beating', async () => {
    const { b, a, f, g } = await (async () => {
      const br = tabs();
      const x = tab(br, ['news'], { locks: false });
      x.start();
      await br.settle();
      mock.timers.tick(1000);
      await br.settle();
      const y = tab(br, ['news'], { locks: false });
      y.start();
      await br.settle();
      const z = tab(br, ['news'], { locks: false });
      z.start();
      await br.settle();
      return { b: br, a: x, f: y, g: z };
    })();
    assert.equal(a.E.isMaster(), true);
    a.next().respond(200, connFrame({ epoch: 'E1' }));
    await b.settle();
    for (let i = 0; i < 3; i++) { mock.timers.tick(1000); await b.settle(); }
    assert.equal(f.E.isMaster() || g.E.isMaster(), false);
    a.next().progress(msg(11, 'news', 1));
    await b.settle();
    a.close(true);
    for (let i = 0; i < 4; i++) { mock.timers.tick(1000); await b.settle(); }
    const masters = [f, g].filter((x) => x.E.isMaster());
    assert.equal(masters.length, 1);
    const revival = masters[0].next();
    assert.equal(revival.query.cid, CID);
    assert.equal(revival.query.ack, '11');
    revival.progress(msg(12, 'news', 2));
    await b.settle();
    for (const x of [f, g]) assert.deepEqual(only(x.seen, 'news'), ['news:1@11', 'news:2@12']);
  });
}
