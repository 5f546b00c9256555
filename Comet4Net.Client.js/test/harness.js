// Loads the client into a fresh context with a fake window, XMLHttpRequest and navigator that the
// test drives by hand: each request waits until the test answers it.
const fs = require('fs');
const path = require('path');
const vm = require('vm');

// options: { es: true } gives the window an EventSource (FakeEventSource); { beacon: false } takes
// navigator.sendBeacon away ('fail': it refuses); { fetch: true } gives the window a fetch;
// { tabs: tabs() } makes this load one tab of a browser: a BroadcastChannel and navigator.locks shared
// with the other loads given the same tabs() ({ locks: false }: no navigator.locks).
function load(file, options) {
  options = options || {};
  const requests = [];
  const xhrs = []; // every XMLHttpRequest made, synchronous ones too
  const beacons = [];
  const fetches = [];
  const sources = [];
  const listeners = {};
  class FakeXHR {
    constructor() { this.readyState = 0; this.status = 0; this.responseText = ''; this.headers = {}; this.aborted = false; xhrs.push(this); }
    open(method, url, async) { this.method = method; this.url = url; this.async = async; this.readyState = 1; }
    setRequestHeader(name, value) { this.headers[name] = value; }
    send(body) { this.body = body; if (this.async !== false) requests.push(this); else this.sync = true; }
    abort() { this.aborted = true; }
    getResponseHeader(name) { return (this.responseHeaders || {})[name] || null; }
    // Test side:
    progress(text) { this.status = 200; this.readyState = 3; this.responseText += text; this.onreadystatechange && this.onreadystatechange(); }
    respond(status, text, responseHeaders) {
      this.status = status; this.responseHeaders = responseHeaders; this.responseText += text || '';
      this.readyState = 4; this.onreadystatechange && this.onreadystatechange();
    }
    fail() { this.status = 0; this.readyState = 4; this.onreadystatechange && this.onreadystatechange(); }
    get query() { return Object.fromEntries(new URL(this.url, 'http://x').searchParams); }
  }
  // An EventSource the test drives: emit(data) delivers an unnamed message, error() reports a failure.
  // It never reconnects by itself (the client must not rely on that: it closes it on error).
  class FakeEventSource {
    constructor(url) { this.url = url; this.readyState = 0; this.closed = false; this.onmessage = null; this.onerror = null; sources.push(this); }
    close() { this.closed = true; this.readyState = 2; }
    // Test side:
    open() { this.readyState = 1; this.onopen && this.onopen({}); }
    emit(data) {
      if (this.closed) throw new Error('emit on a closed EventSource');
      this.readyState = 1;
      this.onmessage && this.onmessage({ data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: '' });
    }
    error(closed) { this.readyState = closed ? 2 : 0; this.onerror && this.onerror({}); }
    get query() { return Object.fromEntries(new URL(this.url, 'http://x').searchParams); }
  }
  const window = {
    addEventListener(name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
    removeEventListener() {},
    console: { error() {} , log() {} },
  };
  if (options.es) window.EventSource = FakeEventSource;
  // options.ws: the window has a WebSocket (FakeWebSocket); the page is at http://page.test.
  const sockets = [];
  class FakeWebSocket {
    constructor(url) { this.url = url; this.readyState = 0; this.sent = []; this.closed = false; sockets.push(this); }
    send(data) { this.sent.push(JSON.parse(data)); }
    close() { this.closed = true; this.readyState = 3; }
    // Test side:
    open() { this.readyState = 1; this.onopen && this.onopen({}); }
    message(text) { this.onmessage && this.onmessage({ data: text }); }
    serverClose() { this.readyState = 3; this.onclose && this.onclose({ code: 1006 }); }
    get query() { return Object.fromEntries(new URL(this.url).searchParams); }
  }
  if (options.document) window.document = options.document; // options.document: a fake DOM document (JSON-P script tags)
  if (options.ws) { window.WebSocket = FakeWebSocket; window.location = { protocol: 'http:', host: 'page.test' }; }
  const fetch = (url, init) => { fetches.push({ url, init }); return { then() { return this; }, catch() { return this; } }; };
  if (options.fetch) window.fetch = fetch;
  const navigator = {};
  const tab = { closed: false };
  if (options.tabs) {
    window.BroadcastChannel = options.tabs.channelClass(tab);
    if (options.locks !== false) navigator.locks = options.tabs.locksFor(tab);
  }
  if (options.beacon !== false) navigator.sendBeacon = (url) => { beacons.push(url); return options.beacon !== 'fail'; };
  const context = {
    window, XMLHttpRequest: FakeXHR, setTimeout, clearTimeout, setInterval, clearInterval, console: window.console, JSON, Math, Object, String, Error,
    navigator, encodeURIComponent, decodeURIComponent, parseInt,
  };
  if (options.es) context.EventSource = FakeEventSource;
  if (options.fetch) context.fetch = fetch;
  window.window = window;
  vm.createContext(context);
  vm.runInContext(fs.readFileSync(path.join(__dirname, '..', file), 'utf8'), context);
  const next = () => {
    const r = requests.find((x) => x.readyState < 4 && !x.aborted);
    if (!r) throw new Error('no pending request; made: ' + requests.map((x) => x.url).join(' | '));
    return r;
  };
  const source = () => {
    const open = sources.filter((s) => !s.closed);
    if (open.length !== 1) throw new Error(open.length + ' open EventSources; made: ' + sources.map((s) => s.url).join(' | '));
    return open[0];
  };
  const pending = () => requests.filter((x) => x.readyState < 4 && !x.aborted);
  // close(): the tab goes away (pagehide first unless crash), its channels close and its locks are released.
  const close = (crash) => {
    if (!crash) (listeners.pagehide || []).forEach((f) => f({}));
    if (options.tabs) options.tabs.close(tab);
  };
  return { JS: window.JS, window, context, close, tab, requests, xhrs, beacons, fetches, sources, sockets, source, next, pending, fire: (name, e) => (listeners[name] || []).forEach((f) => f(e || {})) };
}

// The browser the tabs share: BroadcastChannel messages and lock grants are queued, delivered by settle().
function tabs() {
  const channels = [];
  const queue = [];
  const locks = {}; // name -> { holder, waiting: [{ tab, cb }] }
  const grant = (name) => {
    const l = locks[name];
    if (l.holder || !l.waiting.length) return;
    const w = l.waiting.shift();
    l.holder = w.tab;
    queue.push(() => {
      if (w.tab.closed) { release(name, w.tab); return; }
      Promise.resolve(w.cb({ name, mode: 'exclusive' })).then(() => release(name, w.tab), () => release(name, w.tab));
    });
  };
  const release = (name, tab) => { const l = locks[name]; if (l.holder === tab) { l.holder = null; grant(name); } };
  return {
    posted: [],
    channelClass(tab) {
      const bus = this;
      return class FakeBroadcastChannel {
        constructor(name) { this.name = name; this.tab = tab; this.closed = false; this.onmessage = null; channels.push(this); }
        postMessage(data) {
          if (this.closed) throw new Error('InvalidStateError: the channel is closed');
          const copy = structuredClone(data);
          bus.posted.push(copy);
          for (const other of channels) {
            if (other === this || other.name !== this.name || other.closed) continue;
            const deliver = () => { if (!other.closed && other.onmessage) other.onmessage({ data: copy }); };
            deliver.to = other.tab;
            queue.push(deliver);
          }
        }
        close() { this.closed = true; }
      };
    },
    locksFor(tab) {
      return {
        request(name, options, cb) {
          const l = locks[name] || (locks[name] = { holder: null, waiting: [] });
          l.waiting.push({ tab, cb });
          grant(name);
          return new Promise(() => {});
        },
      };
    },
    // Forgets the messages on their way to a tab (as if it took over before hearing them).
    lose(tab) { for (let i = queue.length - 1; i >= 0; i--) if (queue[i].to === tab) queue.splice(i, 1); },
    holder(name) { return locks[name] && locks[name].holder; },
    close(tab) {
      tab.closed = true;
      for (const c of channels) if (c.tab === tab) c.closed = true;
      for (const name in locks) {
        locks[name].waiting = locks[name].waiting.filter((w) => w.tab !== tab);
        release(name, tab);
      }
    },
    // Delivers every queued message and grant (and what they cause) until nothing is left.
    async settle() {
      for (let round = 0; round < 1000; round++) {
        for (let i = 0; i < 10; i++) await null;
        if (!queue.length) return;
        while (queue.length) queue.shift()();
      }
      throw new Error('the tabs never settle');
    },
  };
}

const line = (o) => JSON.stringify(o) + '\n';
const connData = (extra) => Object.assign({ type: 'conn', cId: 'C'.repeat(22), cs: 'S'.repeat(22), channels: ['news', 'hello'], ws: 'stream', timeout: 60000, heartbeat: 15000, seq: 10, v: 2 }, extra);
const connFrame = (extra) => line({ channel: 'c4j', data: connData(extra), time: 1 });
// The start of a cmd=conn&ws=sse answer: the retry field, then the conn event (the stream stays open).
const sseConn = (extra) => 'retry: 1000\n\nevent: c4j\ndata: ' + JSON.stringify(connData(Object.assign({ ws: 'sse' }, extra))) + '\n\n';
const msg = (seq, channel, data, extra) => line(Object.assign({ seq, channel, data, time: 1700000000000 + seq }, extra));

module.exports = { load, tabs, line, connFrame, sseConn, msg };
