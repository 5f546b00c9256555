// Fossil deltas: the C# vectors applied here, delta=fossil asked for, frames marked "d" rebuilt for the
// listeners, and a delta that cannot be applied resynced (resumed from the position, never dispatched).
const { test, mock, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { load, connFrame, msg } = require('./harness');

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, 'fossil-vectors.json'), 'utf8'));
const state = (tick) => JSON.stringify({ tick, rows: Array.from({ length: 20 }, (_, i) => ({ name: 'row ' + i, value: i * 3 })) });

for (const file of ['dist/comet4j.js', 'dist/comet4j.min.js']) {
  const t = (name, fn) => test(`${file}: ${name}`, fn);

  function connected(options) {
    const c = load(file);
    const got = [];
    c.JS.Engine.on('board', (data) => got.push(data));
    c.JS.Engine.start('/conn', '', options);
    const conn = c.next();
    conn.respond(200, connFrame());
    return Object.assign(c, { got, conn });
  }

  t('every delta made by the C# server applies to its target', () => {
    const { JS } = load(file);
    assert.ok(vectors.length >= 30);
    for (const v of vectors) assert.equal(JS.Delta.apply(v.source, v.delta), v.target);
  });

  t('a wrong base or a damaged delta throws', () => {
    const { JS } = load(file);
    const v = vectors[1];
    assert.throws(() => JS.Delta.apply(v.source.replace('Sensor number 3', 'Sensor number X'), v.delta), /checksum/);
    assert.throws(() => JS.Delta.apply(v.source, v.delta.slice(0, -1)));
    assert.throws(() => JS.Delta.apply(v.source, 'A\n4@zzzz,0;'), /out of range/);
  });

  t('a page started with delta asks on conn and every revival; others do not', () => {
    const c = connected({ delta: true });
    assert.equal(c.conn.query.delta, 'fossil');
    assert.equal(c.next().query.delta, 'fossil');
    const plain = connected();
    assert.equal('delta' in plain.conn.query, false);
    assert.equal('delta' in plain.next().query, false);
  });

  t('whole then delta frames reach listeners as the data, rebuilt', () => {
    const c = connected({ delta: true });
    const v = vectors[2]; // State(2) -> State(15), made by the C# server
    const r = c.next();
    r.progress(msg(11, 'board', v.source, { d: 0 }) + msg(12, 'board', v.delta, { d: 1, b: 11 }) + msg(13, 'board', 'plain', {}));
    assert.equal(c.got.length, 3);
    assert.deepEqual(c.got[0], JSON.parse(v.source));
    assert.deepEqual(c.got[1], JSON.parse(v.target));
    assert.equal(c.got[2], 'plain'); // a frame without "d" is as before
    r.respond(200, '');
    assert.equal(c.next().query.ack, '13');
  });

  t('a delta whose base is not held is not dispatched: the client resumes from its position and gets it whole', () => {
    const c = connected({ delta: true });
    const r = c.next();
    r.progress(msg(11, 'board', state(1), { d: 0 }) + msg(13, 'board', 'x', { d: 1, b: 12 }) + msg(14, 'news', 'after'));
    assert.equal(c.got.length, 1);
    mock.timers.tick(1);
    const again = c.next();
    assert.equal(again.query.ack, '11'); // 13 and what followed it come again
    again.progress(msg(13, 'board', state(3), { d: 0 }));
    assert.deepEqual(c.got.map((d) => d.tick), [1, 3]);
  });

  t('a delta that does not match its base (checksum) is resynced, never dispatched wrong', () => {
    const c = connected({ delta: true });
    const v = vectors[2];
    const r = c.next();
    r.progress(msg(11, 'board', v.source.replace('Sensor number 3', 'Sensor number X'), { d: 0 }) + msg(12, 'board', v.delta, { d: 1, b: 11 }));
    assert.equal(c.got.length, 1);
    mock.timers.tick(1);
    const again = c.next();
    assert.equal(again.query.ack, '11');
    again.progress(msg(12, 'board', v.target, { d: 0 }));
    assert.deepEqual(c.got[1], JSON.parse(v.target));
  });
}
