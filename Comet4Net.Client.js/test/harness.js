// Loads the client into a fresh context with a fake window, XMLHttpRequest and navigator that the
// test drives by hand: each request waits until the test answers it.
const fs = require('fs');
const path = require('path');
const vm = require('vm');

function load(file) {
  const requests = [];
  const beacons = [];
  const listeners = {};
  class FakeXHR {
    constructor() { this.readyState = 0; this.status = 0; this.responseText = ''; this.headers = {}; this.aborted = false; }
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
  const window = {
    addEventListener(name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
    removeEventListener() {},
    console: { error() {} , log() {} },
  };
  const context = {
    window, XMLHttpRequest: FakeXHR, setTimeout, clearTimeout, console: window.console, JSON, Math, Object, String, Error,
    navigator: { sendBeacon(url) { beacons.push(url); return true; } },
    encodeURIComponent, decodeURIComponent, parseInt,
  };
  window.window = window;
  vm.createContext(context);
  vm.runInContext(fs.readFileSync(path.join(__dirname, '..', file), 'utf8'), context);
  const next = () => {
    const r = requests.find((x) => x.readyState < 4 && !x.aborted);
    if (!r) throw new Error('no pending request; made: ' + requests.map((x) => x.url).join(' | '));
    return r;
  };
  return { JS: window.JS, requests, beacons, next, fire: (name) => (listeners[name] || []).forEach((f) => f({})) };
}

const line = (o) => JSON.stringify(o) + '\n';
const connFrame = (extra) => line({ channel: 'c4j', data: Object.assign({ type: 'conn', cId: 'C'.repeat(22), cs: 'S'.repeat(22), channels: ['news', 'hello'], ws: 'stream', timeout: 60000, heartbeat: 15000, seq: 10, v: 2 }, extra), time: 1 });
const msg = (seq, channel, data, extra) => line(Object.assign({ seq, channel, data, time: 1700000000000 + seq }, extra));

module.exports = { load, line, connFrame, msg };
