/* Comet4Net client 2.0.0 src-sha256:d08650293c69d603 */
/*
 * Comet4Net browser client: the JS.Engine API of Comet4J's comet4j.js, on the v2 dialect (docs/protocol.md):
 * acknowledged, gap-free delivery across reconnects over WebSocket, streaming, Server-Sent Events or long
 * polling (moving down that list when one does not open, and back), channel subscriptions, history,
 * presence counts, client publishing, JSON-P and one connection shared by a browser's tabs.
 * Built from src/ by build.js: edit the sources, then npm run build.
 */
(function (window) {
  'use strict';
  // The namespace, type checks, DOM events and the observable every part of the client is built on.
  var JS = window.JS = window.JS || {};
  JS.version = '2.0.0';

  function isString(v) { return typeof v === 'string'; }
  function isFunction(v) { return typeof v === 'function'; }
  function isObject(v) { return !!v && Object.prototype.toString.call(v) === '[object Object]'; }
  JS.isString = isString; JS.isFunction = isFunction; JS.isObject = isObject;
  JS.isArray = function (v) { return Object.prototype.toString.call(v) === '[object Array]'; };
  JS.apply = function (o, c) { for (var k in c) if (Object.prototype.hasOwnProperty.call(c, k)) o[k] = c[k]; return o; };

  /** JS.on(element, event, fn, scope) / JS.un: DOM events, as Comet4J pages use them. */
  JS.on = function (el, name, fn, scope) {
    var h = function (e) { return fn.call(scope || el, e); };
    (fn._c4j || (fn._c4j = [])).push([el, name, h]);
    el.addEventListener(name, h, false);
  };
  JS.un = function (el, name, fn) {
    var list = fn._c4j || [];
    for (var i = list.length - 1; i >= 0; i--) {
      if (list[i][0] === el && list[i][1] === name) { el.removeEventListener(name, list[i][2], false); list.splice(i, 1); }
    }
  };

  /** An observable: on/addListener, un/removeListener, fireEvent; event names are case-insensitive. */
  function Observable() { this.events = {}; }
  Observable.prototype = {
    on: function (name, fn, scope, o) {
      if (isObject(name)) { for (var k in name) if (isFunction(name[k])) this.addListener(k, name[k], fn, scope); return; }
      this.addListener(name, fn, scope, o);
    },
    addListener: function (name, fn, scope, o) {
      var key = String(name).toLowerCase(), list = this.events[key] || (this.events[key] = []);
      for (var i = 0; i < list.length; i++) if (list[i].fn === fn) return false;
      list.push({ fn: fn, scope: scope, o: o });
      return true;
    },
    removeListener: function (name, fn) {
      var key = String(name).toLowerCase(), list = this.events[key] || [];
      for (var i = 0; i < list.length; i++) if (list[i].fn === fn) { list.splice(i, 1); return true; }
      return false;
    },
    hasListener: function (name) { var l = this.events[String(name).toLowerCase()]; return !!(l && l.length); },
    clearListeners: function () { this.events = {}; },
    /** Calls every listener; a listener returning false makes the result false; one that throws does not stop the others. */
    fireEvent: function (name) {
      var list = (this.events[String(name).toLowerCase()] || []).slice(), args = [].slice.call(arguments, 1), ok = true;
      for (var i = 0; i < list.length; i++) {
        try { if (list[i].fn.apply(list[i].scope || this, args) === false) ok = false; }
        catch (e) { if (window.console) console.error('Comet4Net listener for "' + name + '" failed:', e); }
      }
      return ok;
    }
  };
  Observable.prototype.un = Observable.prototype.removeListener;
  JS.Observable = Observable;

  // Every state, reason and code the client uses, in one place.

  /** The system channel: conn, hb, dying, gap, kicked, reconnect and reply frames. */
  var SYS = 'c4j';

  /** The connector's states (JS.Connector.State). */
  var STATE = {
    DISCONNECTED: 'disconnected', // not started yet
    CONNECTING: 'connecting',     // cmd=conn on its way, or a transport that has not worked yet
    CONNECTED: 'connected',       // the transport in use has delivered (a socket opened, a first byte came)
    RECONNECTING: 'reconnecting', // waiting (backoff) before the next attempt
    STOPPED: 'stopped'            // stopped by the page, the server or an error; start() again to go on
  };

  /** Why the connector is on the transport it is on: the reason of the transport event. */
  var REASON = {
    CONNECT: 'connect',           // the first transport of a connection (the server's choice, or the page's)
    NOT_OPENED: 'not-opened',     // the transport above failed before it ever worked (a proxy refused it)
    OPEN_TIMEOUT: 'open-timeout', // the transport above did not open within its deadline (a proxy holds it)
    BUFFERED: 'buffered',         // a stream or EventSource whose bytes did not come: a proxy buffers it
    UPGRADE: 'upgrade',           // trying again a transport above that failed to open earlier
    TAKEOVER: 'takeover'          // shareTabs: this tab took the connection over
  };

  /** The status a command reply's error stands for, as an HTTP answer would say it. */
  var REPLY_STATUS = { refused: 403, forbidden: 403, 'bad-request': 400, 'too-large': 413, unavailable: 503 };

  /** Answers to a revival: what each HTTP status means to the connector. */
  var HTTP = {
    retryable: function (s) { return !s || s === 404 || s === 408 || s === 429 || s >= 500; }, // a command worth sending again
    forgotten: function (s) { return s === 404; },                                          // the server forgot the connection
    final: function (s) { return s === 410 || s === 403 || s === 400; }                     // the server ended it for good
  };

  /** WebSocket close code for a socket the client closes itself. */
  var WS_NORMAL = 1000;

  // Query strings, JSON, URLs, the conn frame, and requests (XMLHttpRequest and JS.AJAX).

  function query(params) {
    var out = [];
    for (var k in params) if (params[k] !== undefined && params[k] !== null) out.push(encodeURIComponent(k) + '=' + encodeURIComponent(params[k]));
    return out.join('&');
  }
  function extra(param) { return param ? (param.charAt(0) === '&' ? param : '&' + param) : ''; }
  function parse(text) { try { return JSON.parse(text); } catch (e) { return null; } }
  function hasSse() { return typeof window.EventSource === 'function'; }
  function hasWs() { return typeof window.WebSocket === 'function'; }
  /** The ws:// or wss:// form of a URL that may be relative to the page. */
  function wsUrl(url) {
    if (/^https?:/i.test(url)) return url.replace(/^http/i, 'ws');
    var loc = window.location || {};
    return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + (url.charAt(0) === '/' ? '' : '/') + url;
  }

  /**
   * The data of the conn system frame in a conn answer, once complete: the first line of NDJSON, or
   * the first event of a text/event-stream (its data lines, ended by a blank line). Else null.
   */
  function connData(text) {
    var lines = text.split(/\r\n|\r|\n/), data = null, f = null;
    lines.pop(); // an unfinished line
    for (var i = 0; i < lines.length && !f; i++) {
      var l = lines[i];
      if (data === null && l.charAt(0) === '{') f = parse(l) || {};
      else if (l.slice(0, 5) === 'data:') { l = l.slice(l.charAt(5) === ' ' ? 6 : 5); data = data === null ? l : data + '\n' + l; }
      else if (!l && data !== null) f = parse(data) || {};
    }
    f = f && (f.type ? f : f.data); // an SSE event carries the system frame's data, NDJSON the whole frame
    return f && f.type === 'conn' ? f : null;
  }

  /** JS.AJAX.post(url, params, callback, scope) and get(...): the callback receives the XMLHttpRequest. */
  function ajax(method, url, params, callback, scope, async) {
    var xhr = new XMLHttpRequest(), sync = async === false;
    xhr.open(method, url + (method === 'GET' && params ? (url.indexOf('?') < 0 ? '?' : '&') + params : ''), !sync);
    if (method === 'POST') xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded;charset=UTF-8');
    if (!sync) xhr.onreadystatechange = function () { if (xhr.readyState === 4 && callback) callback.call(scope || window, xhr); };
    xhr.send(method === 'POST' ? (params || null) : null);
    if (sync && callback) callback.call(scope || window, xhr);
    return xhr;
  }
  JS.AJAX = {
    post: function (url, params, callback, scope, async) { return ajax('POST', url, params, callback, scope, async); },
    get: function (url, params, callback, scope, async) { return ajax('GET', url, params, callback, scope, async); }
  };

  /**
   * A GET read as it arrives: onText(chunk) for each new part of a 2xx answer, onDone(xhr, text) once
   * at its end. jsonp: {prefix} loads it with a script tag (JsonpRequest). abort() forgets it: neither
   * callback is called after it.
   */
  function Request(url, jsonp, onText, onDone) {
    var self = this, x = this.x = jsonp ? new JsonpRequest(jsonp.prefix) : new XMLHttpRequest(), seen = 0;
    this.live = true;
    x.open('GET', url, true);
    x.onreadystatechange = function () {
      if (!self.live || (x.readyState !== 3 && x.readyState !== 4)) return;
      var text = '';
      try { text = x.responseText || ''; } catch (e) {}
      if (text.length > seen && x.status >= 200 && x.status < 300 && onText) {
        var chunk = text.substring(seen);
        seen = text.length;
        onText(chunk);
        if (!self.live) return; // the handler moved on (stopped, switched, reconnected)
      }
      if (x.readyState === 4) { self.live = false; onDone(x, text); }
    };
    x.send(null);
  }
  Request.prototype.abort = function () {
    var x = this.x;
    if (!this.live) return;
    this.live = false;
    x.onreadystatechange = null;
    try { x.abort(); } catch (e) {}
  };

  // JSON-P requests: an XMLHttpRequest look-alike on script tags.

  /**
   * JSON-P, for pages that cannot use CORS (the server's Comet:AllowJsonp; never chosen by itself): an
   * XMLHttpRequest look-alike that loads its URL with a script tag calling a name of its own,
   * window[prefix + 'c4jJsonp'].r<n>. The call carries the answer, rebuilt as an XHR would see it: an array
   * is the NDJSON frames, an object with a numeric status an error (a script tag cannot read statuses).
   * A script that fails to load, or no call within timeout ms (if given), ends it with status 0.
   */
  var jsonpSeq = 0;
  function JsonpRequest(prefix, timeout) {
    this.readyState = 0; this.status = 0; this.responseText = ''; this.prefix = prefix || ''; this.timeout = timeout || 0; this._headers = {};
  }
  JsonpRequest.prototype = {
    open: function (method, url) { this.url = url; this.readyState = 1; },
    setRequestHeader: function () {},
    getResponseHeader: function (name) { return this._headers[name] || null; },
    send: function () {
      var self = this, doc = window.document, later;
      if (doc.readyState && doc.readyState !== 'complete') {
        // A script added before the page's load event holds that event (and the browser's spinner) until
        // it is answered, and a long poll answers late: wait for the load event.
        later = function () {
          window.removeEventListener('load', later, false);
          setTimeout(function () { if (!self._aborted) self.send(); }, 0);
        };
        window.addEventListener('load', later, false);
        return;
      }
      var ns = this.prefix + 'c4jJsonp', space = window[ns] || (window[ns] = {});
      var id = 'r' + (++jsonpSeq) + Math.random().toString(36).slice(2, 8), s = this._script = doc.createElement('script');
      this._space = space; this._id = id;
      space[id] = function (v) { delete space[id]; self._answer(v); };
      s.async = true;
      s.onerror = function () { self._finish(0, ''); };
      s.src = this.url + (this.url.indexOf('?') < 0 ? '?' : '&') + 'callback=' + ns + '.' + id;
      if (this.timeout > 0) this._timer = setTimeout(function () { self._finish(0, ''); }, this.timeout);
      (doc.head || doc.getElementsByTagName('head')[0] || doc.documentElement).appendChild(s);
    },
    abort: function () { this._aborted = true; this.onreadystatechange = null; this._clean(); },
    _answer: function (v) {
      var text = '', status = 200;
      if (JS.isArray(v)) { for (var i = 0; i < v.length; i++) text += JSON.stringify(v[i]) + '\n'; }
      else if (isObject(v) && typeof v.status === 'number') {
        status = v.status; text = JSON.stringify(v);
        if (v.retryAfter) this._headers['Retry-After'] = String(v.retryAfter);
      } else text = JSON.stringify(v);
      this._finish(status, text);
    },
    _finish: function (status, text) {
      if (this.readyState === 4) return;
      this._clean();
      this.status = status; this.responseText = text; this.readyState = 4;
      if (this.onreadystatechange) this.onreadystatechange();
    },
    /** Removes the script; a call still on its way finds a no-op that removes itself. */
    _clean: function () {
      var s = this._script, space = this._space, id = this._id;
      clearTimeout(this._timer);
      this._script = null;
      if (s) { s.onerror = null; if (s.parentNode) s.parentNode.removeChild(s); }
      if (space && space[id]) space[id] = function () { delete space[id]; };
    }
  };
  JS.JsonpRequest = JsonpRequest;

  /**
   * The websocket transport: the revival URL upgraded to a WebSocket. Frames arrive as NDJSON, one
   * message per write; the connector acknowledges on the socket and sends its commands over it.
   * Worked: the socket opened. Open deadline: wsOpenTimeout (a proxy that takes the upgrade and never
   * answers). After that, no frame for 1.5 heartbeats + 1 s is a network failure: open it again.
   * All transports have this shape: name, supported(), params(c), open(url, cb), send(m), close(),
   * deadline(c) and silence(c) ({ms, fall}: how long it may take to work, or stay silent once it did,
   * and whether running out means moving down the list (fall) or trying it again).
   */
  function WebSocketTransport() { this.so = null; }
  WebSocketTransport.prototype = {
    name: 'websocket',
    acks: true,
    supported: function () { return hasWs(); },
    params: function (c) { return { cmd: 'revival', cid: c.cId, cs: c.cs, ack: c.lastSeq, ep: c.epoch || undefined, ws: 'websocket' }; },
    deadline: function (c) { return { ms: c.wsOpenTimeout, fall: true }; },
    silence: function (c) { return { ms: c.heartbeat > 0 ? c.heartbeat * 1.5 + 1000 : 0, fall: false }; },
    /** cb.open(): the socket opened; cb.lines(lines): frames; cb.close({opened}): it closed (or never opened). */
    open: function (url, cb) {
      var self = this, so = this.so = new window.WebSocket(wsUrl(url)), opened = false;
      so.onopen = function () { if (self.so !== so) return; opened = true; cb.open(); };
      so.onmessage = function (e) { if (self.so === so) cb.lines(String(e.data).split('\n')); };
      so.onclose = function (e) { if (self.so !== so) return; self.so = null; cb.close({ opened: opened, code: e && e.code, status: 0 }); };
    },
    /** Sends a command on the open socket; false when there is none. */
    send: function (m) {
      var so = this.so;
      if (!so || so.readyState !== 1) return false;
      try { so.send(JSON.stringify(m)); return true; } catch (e) { return false; }
    },
    ready: function () { return !!(this.so && this.so.readyState === 1); },
    close: function () {
      var so = this.so;
      this.so = null;
      if (so) { so.onmessage = so.onclose = so.onopen = so.onerror = null; try { so.close(WS_NORMAL); } catch (e) {} }
    }
  };

  /**
   * An NDJSON answer read with XMLHttpRequest (or JSON-P script tags) as it arrives: the stream and
   * lpool transports. cb.open() at the first byte, cb.lines(lines) for each whole frame, cb.close({opened,
   * status, text, x}) when the answer ends or fails (status 0).
   */
  function HttpTransport() { this.req = null; }
  HttpTransport.prototype = {
    acks: false,
    supported: function () { return true; },
    params: function (c) { return { cmd: 'revival', cid: c.cId, cs: c.cs, ack: c.lastSeq, ws: this.name, ep: c.epoch || undefined }; },
    open: function (url, cb, c) {
      var self = this, pending = '', opened = false, req;
      req = this.req = new Request(url, c.jsonp ? { prefix: c.jsonpPrefix } : null, function (chunk) {
        if (!opened) { opened = true; cb.open(); if (self.req !== req) return; }
        pending += chunk;
        var lines = pending.split('\n');
        pending = lines.pop(); // an unfinished frame waits for the rest of it
        cb.lines(lines);
      }, function (x, text) {
        if (self.req !== req) return;
        self.req = null;
        cb.close({ opened: opened, status: x.status, text: text, x: x });
      });
    },
    send: function () { return false; },
    ready: function () { return false; },
    close: function () { var r = this.req; this.req = null; if (r) r.abort(); }
  };

  /**
   * The stream transport: one answer that stays open, frames flushed as they come. Worked: the first
   * byte (the server writes a heartbeat at once). Open deadline: streamProbeTimeout; no byte by then is a
   * buffering proxy: move down (long polling). Once it worked, no byte for 1.5 heartbeats is the same.
   * Without heartbeats, no byte for the server's timeout + 5 s is a network failure: open it again.
   */
  function StreamTransport() { HttpTransport.call(this); }
  StreamTransport.prototype = JS.apply(new HttpTransport(), {
    name: 'stream',
    idle: function (c) { return (c.heartbeat > 0 ? c.heartbeat * 2 : c.timeout) + 5000; },
    deadline: function (c) { return c.streamProbeTimeout > 0 ? { ms: c.streamProbeTimeout, fall: true } : { ms: this.idle(c), fall: false }; },
    silence: function (c) { return c.heartbeat > 0 ? { ms: c.heartbeat * 1.5, fall: true } : { ms: this.idle(c), fall: false }; }
  });

  /**
   * The lpool transport (long polling): each answer carries what waits, or ends at the server's
   * timeout; the connector asks again. It never falls further: no answer within the server's
   * timeout + 5 s is a network failure, asked again with backoff. JSON-P pages use it with script tags.
   */
  function LpoolTransport() { HttpTransport.call(this); }
  LpoolTransport.prototype = JS.apply(new HttpTransport(), {
    name: 'lpool',
    deadline: function (c) { return { ms: c.timeout + 5000, fall: false }; },
    silence: function (c) { return { ms: c.timeout + 5000, fall: false }; }
  });

  /**
   * The sse transport: an EventSource on the revival URL. names=0: the server sends every frame as an
   * unnamed event whose data is the v2 frame. Worked: its first event. No event, heartbeats included,
   * for 1.5 heartbeats + 1 s (before or after it worked) is a buffering proxy: move down (long polling).
   * An error closes it (an EventSource would reconnect to its first URL, with a stale ack): the
   * connector opens it again, with backoff.
   */
  function SseTransport() { this.es = null; }
  SseTransport.prototype = {
    name: 'sse',
    acks: false,
    supported: function () { return hasSse(); },
    params: function (c) { return { cmd: 'revival', cid: c.cId, cs: c.cs, ws: 'sse', ack: c.lastSeq, ep: c.epoch || undefined, names: 0 }; },
    deadline: function (c) { return this.silence(c); },
    silence: function (c) { return { ms: c.heartbeat > 0 ? c.heartbeat * 1.5 + 1000 : 0, fall: true }; },
    open: function (url, cb) {
      var self = this, es = this.es = new window.EventSource(url), opened = false;
      es.onmessage = function (e) {
        if (self.es !== es) return;
        if (!opened) { opened = true; cb.open(); if (self.es !== es) return; }
        cb.lines([e.data]);
      };
      es.onerror = function () { if (self.es !== es) return; self.close(); cb.close({ opened: opened, status: 0 }); };
    },
    send: function () { return false; },
    ready: function () { return false; },
    close: function () {
      var es = this.es;
      this.es = null;
      if (es) { es.onmessage = es.onerror = null; try { es.close(); } catch (e) {} }
    }
  };

  // The transports by name, and the ordered list a connection walks.
  var TRANSPORTS = { websocket: WebSocketTransport, stream: StreamTransport, sse: SseTransport, lpool: LpoolTransport };

  /**
   * The transports a connection may use, best first, from the one chosen (by the page's ws option, else
   * the server's conn answer): websocket, then stream, then lpool; sse, then lpool; stream, then lpool.
   * SSE is no fallback for a stream: a proxy that buffers one buffers the other.
   */
  function plan(style) {
    var start = style === 'lpool' ? 'lpool' : style === 'sse' && hasSse() ? 'sse' : style === 'websocket' && hasWs() ? 'websocket' : 'stream';
    return start === 'lpool' ? ['lpool'] : start === 'websocket' ? ['websocket', 'stream', 'lpool'] : [start, 'lpool'];
  }

  // The connector: an explicit state machine over an ordered list of transports.
  /**
   * The connector: opens the connection and keeps it, acknowledging what it dispatched so that a
   * revival re-sends exactly the rest. Events: beforeConnect(url, conn), connect(cId, channels,
   * workStyle, timeout, conn), transport({name, previous, reason}, conn), beforeStop(cause, cId, url, conn),
   * stop(cause, cId, url, conn), message(channel, data, time, conn, frame), revival(url, cId, conn).
   *
   * Moving between transports: one that fails before it ever worked (a socket that never opened), or
   * does not work within its deadline, hands over to the next one in the list, from the same position.
   * One that worked and then fails (a cut, an error) is the network's failure: the same one again, with
   * backoff. A WebSocket refused before it opened (once if it never worked, wsMisses times in a row if it
   * did) is left, and tried once more as soon as the next transport works (a refusal may be a cut or an
   * outage); one refused on that try too, or left after its open deadline, is tried again after upgradeAfter ms
   * (doubling each time it fails again, at most upgradeMax), and on every new connection. Falling from stream or sse to lpool (a buffering proxy) holds for the
   * connection's life.
   */
  function Connector() {
    Observable.call(this);
    this.cId = ''; this.cs = ''; this.channels = []; this.workStyle = ''; this.running = false; this.state = STATE.DISCONNECTED;
    this.url = ''; this.param = ''; this.lastSeq = 0; this.timeout = 60000; this.heartbeat = 15000;
    this.epoch = ''; this.resume = 0; this.refused = []; this._replies = {}; // from the conn frame: the server's epoch, and how long (ms) it keeps a position for resume
    this.retryBase = 500; this.retryMax = 15000;
    this.wsOpenTimeout = 5000; this.streamProbeTimeout = 4000; this.upgradeAfter = 10000; this.upgradeMax = 300000; this.wsMisses = 3;
    this.forceStyle = ''; this.jsonp = false; this.jsonpPrefix = ''; this.subs = null; this._retries = 0;
    this._list = []; this._at = 0; this._t = null; this._req = null; this._timer = null; this._up = null;
    this._ts = {}; this._worked = {}; this._misses = 0; this._ups = 0; this._recheck = this._rechecking = false;
    wake(this); // the page's lifecycle: leaving, offline and online, frozen, shown again (wake.js)
  }
  Connector.State = STATE; Connector.Reason = REASON;
  Connector.prototype = new Observable();
  JS.apply(Connector.prototype, {
    constructor: Connector,
    LLOOPSTYLE: 'lpool', STREAMSTYLE: 'stream', SYSCHANNEL: SYS, CMDTAG: 'cmd',

    start: function (url, param, options) {
      if (this.running) return;
      this.url = url || this.url;
      if (!this.url) throw new Error('Comet4Net: start needs the URL of the /conn endpoint');
      if (this.fireEvent('beforeConnect', this.url, this) === false) return;
      this.param = param || this.param || '';
      options = options || {}; this.delta = wantsDelta(options, this.delta); // Fossil deltas asked for (src/delta.js)
      var keys = ['wsOpenTimeout', 'streamProbeTimeout', 'upgradeAfter', 'upgradeMax', 'retryBase', 'retryMax'];
      for (var i = 0; i < keys.length; i++) if (typeof options[keys[i]] === 'number') this[keys[i]] = options[keys[i]];
      this.forceStyle = options.ws || this.forceStyle || '';
      // JSON-P: long polling with script tags, every command too (options.jsonpPrefix: the server's Comet:JsonpCallbackPrefix).
      if (options.ws) this.jsonp = options.ws === 'jsonp';
      if (options.jsonpPrefix !== undefined) this.jsonpPrefix = options.jsonpPrefix;
      if (this.jsonp) this.forceStyle = 'lpool';
      if (this.forceStyle === 'sse' && !hasSse()) this.forceStyle = 'stream';
      this.running = true;
      this._connect();
    },

    stop: function (cause, keepDrop) {
      if (!this.running) return;
      if (this.fireEvent('beforeStop', cause, this.cId, this.url, this) === false) return;
      if (!keepDrop) this._drop();
      this.running = false;
      this._abort();
      clearTimeout(this._up);
      this.state = STATE.STOPPED;
      var cId = this.cId;
      this.cId = ''; this.cs = ''; this.channels = []; this.workStyle = '';
      this.fireEvent('stop', cause, cId, this.url, this);
    },

    getId: function () { return this.cId; },
    getState: function () { return this.state; },

    _url: function (params) { return this.url + (this.url.indexOf('?') < 0 ? '?' : '&') + query(params) + extra(this.param) + deltaParam(this); },

    /** Ends what is in flight: the conn request, the transport, the timer. */
    _abort: function () {
      clearTimeout(this._timer);
      var r = this._req, t = this._t;
      this._req = this._t = null;
      if (r) r.abort();
      if (t) { t.close(); if (t.acks) this._failReplies(); }
    },

    _retry: function (delay) {
      var self = this;
      this._abort();
      if (!this.running) return;
      this.state = STATE.RECONNECTING;
      if (this._offline()) return; // no retry (and no backoff growth) until the browser says online (wake.js)
      if (delay === undefined) delay = this._backoff(this._retries++);
      this._timer = setTimeout(function () { if (self.running) { if (self.cId) self._revive(); else self._connect(); } }, delay);
    },

    _connect: function () {
      var self = this, seen = '', params = { cmd: 'conn', cv: JS.version, ws: this.forceStyle || undefined };
      this._abort();
      this.state = STATE.CONNECTING;
      if (!this.forceStyle && hasWs()) params.wsok = 1; // auto: the server may choose a WebSocket
      if (this.subs) params.sub = this.subs().join(',');
      var req = this._req = new Request(this._url(params), this.jsonp ? { prefix: this.jsonpPrefix } : null, function (chunk) {
        // An SSE answer stays open after its conn event: take the event, leave the rest to the EventSource.
        var d = connData(seen += chunk);
        if (d) { self._abort(); self._opened(d); }
      }, function (x, text) {
        if (self._req !== req) return;
        self._req = null;
        clearTimeout(self._timer);
        if (!self.running) return;
        var d = x.status === 200 ? connData(text + '\n\n') : null;
        if (d) self._opened(d);
        else if (x.status === 429) {
          self._retry(1000 * (parseInt(x.getResponseHeader('Retry-After'), 10) || 1) * (1 + Math.random()));
        } else if (x.status >= 400 && x.status < 500) {
          var body = parse(text);
          self.stop((body && body.message) || ('HTTP ' + x.status), true);
        } else {
          self._retry(self._elsewhere(x.status, text));
        }
      });
      if (this._req === req) this._timer = setTimeout(function () { if (self._req === req) self._retry(); }, 30000);
    },

    _opened: function (d) {
      this._retries = 0; this._spread = 0; this._drained = false;
      this.cId = d.cId; this.cs = d.cs; this.channels = d.channels || []; this.timeout = d.timeout; this.heartbeat = d.heartbeat;
      this.lastSeq = d.seq; this.epoch = d.epoch || ''; this.resume = d.resume > 0 ? d.resume : 0;
      this.refused = d.refused || []; // channels named at connect that the server's subscribe listeners refused
      // A new connection starts at the top of its list: a transport left on the last one is tried again.
      var previous = this.workStyle;
      clearTimeout(this._up);
      this._ups = 0; this._recheck = this._rechecking = false;
      this._list = plan(this.forceStyle || d.ws); this._at = 0;
      this.workStyle = this._list[0];
      this.fireEvent('connect', d.cId, this.channels, this.workStyle, d.timeout, this);
      this.fireEvent('transport', { name: this.workStyle, previous: previous, reason: REASON.CONNECT }, this);
      this._revive();
    },

    /** Moves to transport i of the list (and says so when it changes). */
    _use: function (i, reason) {
      var previous = this.workStyle;
      this._at = i;
      this.workStyle = this._list[i];
      if (this.workStyle !== previous) this.fireEvent('transport', { name: this.workStyle, previous: previous, reason: reason }, this);
    },

    /** Revives on the current transport (a tab taking over brings its workStyle: the list starts there). */
    _revive: function () {
      if (!this.running) return;
      if (this._list[this._at] !== this.workStyle) { this._list = plan(this.workStyle); this._at = 0; this.workStyle = this._list[0]; }
      this._attempt();
    },

    /** One attempt on the current transport, with its open deadline and, once it worked, its silence watch. */
    _attempt: function () {
      var self = this, name = this._list[this._at], t = this._ts[name] || (this._ts[name] = new TRANSPORTS[name]());
      this._abort();
      this.state = STATE.CONNECTING;
      this._t = t;
      var now = function () { return self._t === t && self.running; };
      var arm = function (limit, late) {
        clearTimeout(self._timer);
        if (limit.ms > 0) self._timer = setTimeout(function () { if (now()) { if (limit.fall) self._fall(late); else self._retry(); } }, limit.ms);
      };
      arm(t.deadline(this), name === 'websocket' ? REASON.OPEN_TIMEOUT : REASON.BUFFERED);
      t.open(this._url(t.params(this)), {
        open: function () {
          if (!now()) return;
          self.state = STATE.CONNECTED;
          self._worked[name] = true;
          if (name === 'websocket') { self._misses = 0; self._ups = 0; self._rechecking = false; clearTimeout(self._up); }
          arm(t.silence(self), REASON.BUFFERED);
        },
        lines: function (lines) {
          if (!now()) return;
          self._heard = +new Date(); // the last sign of life, which a wake-up checks (wake.js)
          arm(t.silence(self), REASON.BUFFERED);
          var before = self.lastSeq;
          for (var i = 0; i < lines.length && now(); i++) {
            // dying on an EventSource: the server ends this answer; reopen with the current ack.
            if (lines[i] && self._frame(lines[i]) === 'dying' && name === 'sse' && now()) return self._revive();
          }
          if (t.acks && now() && self.lastSeq > before) t.send({ cmd: 'ack', seq: self.lastSeq });
          // Left after refusals that an outage would cause too: now that the network works, try it again.
          if (self._recheck && self._at > 0 && now()) { self._recheck = false; self._upgrade(true); }
        },
        close: function (info) { if (self._t === t) self._closed(t, info); }
      }, this);
      this.fireEvent('revival', this.url, this.cId, this);
    },

    /** The transport's answer ended, or it failed. */
    _closed: function (t, info) {
      this._t = null;
      clearTimeout(this._timer);
      if (t.acks) this._failReplies();
      if (!this.running) return;
      if (t.name === 'websocket') {
        if (info.opened) return this._retry(); // a cut: the network's failure, the same transport again
        // Never opened: refused on the way (a proxy), or the network is down.
        this._misses++;
        var limit = this._worked.websocket ? this.wsMisses : 1;
        if (this._misses >= limit) {
          // Once more as soon as the next transport works (a refusal may be a cut that lost the handshake, or an
          // outage), unless this was that try: refused while the network works, it waits for upgradeAfter.
          this._recheck = !this._rechecking;
          return this._fall(REASON.NOT_OPENED);
        }
        return this._retry();
      }
      if (t.name === 'sse') return this._retry();
      var s = info.status;
      if (s === 200 || s === 204) {
        if (info.opened || s === 204) this._retries = 0;
        // A stream that ended without a byte may be a proxy buffering it: count it as a failure.
        if (!info.opened && s === 200) this._retry(); else this._revive();
      } else if (HTTP.forgotten(s)) {
        this._reset();
      } else if (HTTP.final(s)) {
        var body = parse(info.text);
        this.stop((body && (body.data && body.data.reason || body.message)) || ('HTTP ' + s), s !== 403);
      } else {
        this._retry(this._elsewhere(s, info.text));
      }
    },

    /** Hands over to the next transport of the list, from the same position (the last one: again, with backoff). */
    _fall: function (reason) {
      var self = this, from = this._list[this._at];
      if (this._at + 1 >= this._list.length) return this._retry();
      this._abort();
      if (reason !== REASON.NOT_OPENED) this._recheck = false;
      if (from === 'websocket') {
        // Tried again later: a proxy may carry it then.
        clearTimeout(this._up);
        var wait = Math.min(this.upgradeMax, this.upgradeAfter * Math.pow(2, this._ups++));
        this._up = setTimeout(function () { self._upgrade(); }, wait);
      }
      this._use(this._at + 1, reason);
      this._attempt();
    },

    /** Tries the top of the list again (a transport left because it did not open). */
    _upgrade: function (recheck) {
      if (!this.running || !this.cId || this._at === 0) return;
      this._rechecking = !!recheck;
      this._abort();
      this._use(0, REASON.UPGRADE);
      this._attempt();
    }
  });
  JS.Connector = Connector;

  // What the connector does with a frame, the commands it sends for its connection, its reset and drop.
  JS.apply(Connector.prototype, {
    /**
     * Exponential backoff with full jitter, never longer than a quarter of the server's resume window. After a
     * second 503 draining in a row (no other node took the request) the window is at least the node's drain
     * spread and the wait at least half of it, until a node answers: the node's clients come back to it (or to
     * its replacement) spread over that time, not together.
     */
    _backoff: function (n) {
      var cap = this.retryMax;
      if (this.resume > 0) cap = Math.min(cap, Math.max(1000, this.resume / 4));
      var w = Math.min(cap, Math.max(this._spread || 0, this.retryBase * Math.pow(2, n)));
      return this._spread ? w * (0.5 + 0.5 * Math.random()) : Math.random() * w;
    },

    /** A 503 draining (the node stops): the first one, retry at once (another node answers); more in a row, with the node's spread. */
    _elsewhere: function (status, text) {
      var body = status === 503 && parse(text);
      if (!body || body.error !== 'draining') return undefined;
      if (this._drained) { this._spread = +body.spread > 0 ? +body.spread : 5000; return undefined; }
      this._drained = true;
      return Math.random() * 250;
    },

    /** The server forgot the connection (expired, restarted): connect again and say so. */
    _reset: function () {
      this._abort();
      clearTimeout(this._up);
      var from = this.lastSeq + 1, cId = this.cId;
      this.fireEvent('stop', 'reconnect', cId, this.url, this);
      this.cId = ''; this.cs = '';
      this.fireEvent('gap', { from: from, to: null, reason: 'reset' }, this);
      this._connect();
    },

    _drop: function () {
      if (!this.running || !this.cId) return;
      // Never a synchronous request (browsers refuse them on unload): a beacon, else a keepalive fetch.
      var url = this._url({ cmd: 'drop', cid: this.cId, cs: this.cs });
      try {
        if (typeof navigator !== 'undefined' && navigator.sendBeacon && navigator.sendBeacon(url)) return;
      } catch (e) {}
      try {
        if (window.fetch) { var p = window.fetch(url, { keepalive: true }); if (p && p.catch) p.catch(function () {}); return; }
      } catch (e) {}
      try { ajax('GET', url); } catch (e) {}
    },

    _frame: function (line) {
      var f = parse(line);
      if (!f) return;
      this._retries = 0; this._drained = false; this._spread = 0;
      if (f.channel === SYS) {
        var d = f.data || {};
        if (d.type === 'gap') { // lost for good: the position moves past them, so no later answer tells of them again
          if (+d.to > this.lastSeq) this.lastSeq = +d.to;
          this.fireEvent('gap', { from: d.from, to: d.to }, this);
        }
        else if (d.type === 'move') this._retry(Math.max(0, +d.after || 0)); // the node drains: resume (same position) wherever the next request lands
        else if (d.type === 'kicked') this.stop(d.reason || 'kicked', true);
        else if (d.type === 'reconnect') this._reset();
        else if (d.type === 'reply') this._reply(d);
        else if (d.type === 'token-expired') this._refresh(true); // token.js: a new token, then a revival from the same position
        return d.type; // conn, hb, dying, superseded, move (done above): nothing to do here (a finished answer is followed by a revival)
      }
      if (f.seq !== undefined && !f.history) {
        if (f.seq <= this.lastSeq) return; // already dispatched: a re-send after a cut
        if (f.d !== undefined && !this._undelta(f)) return 'resync'; // a delta frame (src/delta.js)
        this.lastSeq = f.seq;
      }
      this.fireEvent('message', f.channel, f.data, f.time, this, f);
    },

    _reply: function (d) {
      var cb = this._replies[d.id];
      if (!cb) return;
      delete this._replies[d.id];
      if (d.error) cb(new Error(d.message || d.error), { status: REPLY_STATUS[d.error] || 400, responseText: JSON.stringify({ error: d.error, message: d.message }) });
      else cb(null, { status: 200, responseText: d.frames !== undefined ? d.frames : JSON.stringify(d) });
    },

    /** The socket closed with commands unanswered: they fail like a lost request (and are retried). */
    _failReplies: function () {
      var replies = this._replies;
      this._replies = {};
      for (var id in replies) replies[id](new Error('connection lost'), { status: 0, responseText: '' });
    },

    /** Sends a v2 command for this connection (sub, unsub, pub, count); callback(err, xhr). */
    command: function (params, callback, post) {
      if (!this.cId) { if (callback) callback(new Error('not connected')); return; }
      var t = this._t;
      if (t && t.ready()) {
        // On a WebSocket the command goes over it; its reply frame answers it (an XHR-like {status, responseText}).
        var id = this._cmdId = (this._cmdId || 0) + 1, m = { id: id };
        for (var k in params) if (params[k] !== undefined && params[k] !== null) m[k] = k === 'history' ? +params[k] : params[k];
        this._replies[id] = callback || function () {};
        if (!t.send(m)) this._failReplies();
        return;
      }
      params.cid = this.cId; params.cs = this.cs;
      var body = query(params) + extra(this.param);
      var done = function (x) {
        if (callback) callback(x.status === 200 ? null : new Error((parse(x.responseText) || {}).message || ('HTTP ' + x.status)), x);
      };
      if (this.jsonp) {
        // A script tag is a GET: pub's data travels in the query. No call within 30 s fails like a lost request.
        var j = new JsonpRequest(this.jsonpPrefix, 30000);
        j.open('GET', this.url + (this.url.indexOf('?') < 0 ? '?' : '&') + body);
        j.onreadystatechange = function () { done(j); };
        j.send();
        return;
      }
      ajax(post ? 'POST' : 'GET', this.url, body, done);
    }
  });

  // Deltas (docs/protocol.md, "Deltas"): a page started with { delta: true } asks for Fossil deltas
  // (delta=fossil on every request). On a channel with deltas a frame says "d": 0 (data is the whole JSON
  // as a string: kept as the channel's base) or "d": 1 (data is a Fossil delta against the frame "b").
  // Listeners get the data rebuilt and parsed. A delta whose base is not held or that does not apply (its
  // checksum) is not dispatched: the connector resumes from its position, and the server, not having that
  // position confirmed, sends the message whole (a resync, never wrong data).
  var FOSSIL = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~';

  /** Fossil's apply over byte strings (one character per byte): throws on a bad delta or a checksum that does not match. */
  function fossilApply(src, delta) {
    var at = 0;
    function int() {
      var v = 0, start = at, c;
      while (at < delta.length && (c = FOSSIL.indexOf(delta.charAt(at))) >= 0) { v = v * 64 + c; at++; if (v > 4294967295) throw new Error('delta: number out of range'); }
      if (at === start) throw new Error('delta: number expected');
      return v;
    }
    var size = int(), out = [], n = 0;
    if (delta.charAt(at++) !== '\n') throw new Error('delta: no newline after the size');
    while (at < delta.length) {
      var cnt = int(), op = delta.charAt(at++);
      if (op === '@') {
        var ofst = int();
        if (delta.charAt(at++) !== ',') throw new Error('delta: copy without ","');
        if (ofst + cnt > src.length || n + cnt > size) throw new Error('delta: copy out of range');
        out.push(src.substring(ofst, ofst + cnt)); n += cnt;
      } else if (op === ':') {
        if (at + cnt > delta.length || n + cnt > size) throw new Error('delta: insert out of range');
        out.push(delta.substring(at, at + cnt)); n += cnt; at += cnt;
      } else if (op === ';') {
        var res = out.join('');
        if (res.length !== size) throw new Error('delta: size does not match');
        if (fossilSum(res) !== cnt) throw new Error('delta: checksum does not match');
        return res;
      } else throw new Error('delta: unknown operator');
    }
    throw new Error('delta: no checksum');
  }

  /** Fossil's checksum: the sum of the big-endian 32-bit words, the last one zero-padded. */
  function fossilSum(s) {
    var sum = 0, i = 0, n = s.length; // >>> 0: arithmetic modulo 2^32
    for (; i + 4 <= n; i += 4) sum = (sum + (s.charCodeAt(i) << 24 | s.charCodeAt(i + 1) << 16 | s.charCodeAt(i + 2) << 8 | s.charCodeAt(i + 3))) >>> 0;
    for (var shift = 24; i < n; i++, shift -= 8) sum = (sum + (s.charCodeAt(i) << shift)) >>> 0;
    return sum;
  }

  // Text to UTF-8 byte strings and back (decodeURIComponent throws on bytes that are not UTF-8).
  function utf8(text) { return unescape(encodeURIComponent(text)); }
  function fromUtf8(bytes) { return decodeURIComponent(escape(bytes)); }

  /**
   * JS.Delta.apply(base, delta): the text that delta (a Fossil delta, one character per byte) makes of base.
   * JS.Delta.applyBytes(bytes, delta): the same on UTF-8 byte strings (what the connector keeps as a base).
   */
  JS.Delta = { apply: function (base, delta) { return fromUtf8(fossilApply(utf8(base), delta)); }, applyBytes: fossilApply };

  /** Whether the page asked for deltas (start's options.delta; kept across restarts when not given). */
  function wantsDelta(options, was) { return options.delta !== undefined ? !!options.delta : !!was; }
  function deltaParam(c) { return c.delta ? '&delta=fossil' : ''; }

  JS.apply(Connector.prototype, {
    /** A frame marked "d": rebuilds f.data; false (and a resync) when it cannot. */
    _undelta: function (f) {
      var bases = this._bases || (this._bases = {}), base = bases[f.channel], bytes, data;
      try {
        if (f.d === 0) bytes = utf8(f.data);
        else if (!base || base.seq !== f.b) throw new Error('delta: base ' + f.b + ' not held');
        else bytes = fossilApply(base.bytes, f.data);
        data = JSON.parse(fromUtf8(bytes));
      } catch (e) {
        delete bases[f.channel];
        this._retry(0); // resume from the position: this message comes again, whole
        return false;
      }
      bases[f.channel] = { seq: f.seq, bytes: bytes }; // kept as UTF-8 bytes: the next delta applies to them as they are
      f.data = data;
      return true;
    }
  });

  // Pages that wake up: the page's lifecycle for the connector (leaving, offline and online, frozen and
  // resumed, hidden and shown, kept in and back from the back-forward cache).
  /**
   * wake(connector), from its constructor. While the browser says it is offline (navigator.onLine false)
   * the connector makes no retry and its backoff does not grow: a retry due then waits for `online`.
   * On `online`, a `resume` (Page Lifecycle: the tab was frozen), `visibilitychange` to visible and a
   * `pageshow` from the back-forward cache it checks its connection: one that is not live (waiting out a
   * backoff, no transport, or a transport not heard from within its silence limit) resumes by position at
   * once, and the connector fires wake(reason, conn). A resume after the server's resume window gets
   * the server's answer for it: a gap frame, or a reset (gap, then a new connection); never silence.
   * Leaving: `pagehide` drops the connection (as `stop` does), unless the page goes into the
   * back-forward cache (`persisted`): then it lets its request go and keeps its session for the return.
   * Only a running connector acts: with shareTabs, the master tab's; a follower's connector never runs.
   */
  function wake(c) {
    var doc = window.document;
    var on = function (target, name, fn) { if (target && isFunction(target.addEventListener)) JS.on(target, name, fn); };
    c.on('revival', function () { c._heard = +new Date(); }); // an attempt begins: its own deadline runs from now
    on(window, 'pagehide', function (e) { if (e && e.persisted) c._sleep(); else c._drop(); });
    on(window, 'offline', function () { if (c.state === STATE.RECONNECTING && c._offline()) clearTimeout(c._timer); });
    on(window, 'online', function () { c._retries = 0; c._wake('online'); });
    on(window, 'pageshow', function (e) { if (e && e.persisted) c._wake('pageshow'); });
    on(doc, 'resume', function () { c._wake('resume'); });
    on(doc, 'visibilitychange', function () { if (doc.visibilityState === 'visible') c._wake('visible'); });
  }

  JS.apply(Connector.prototype, {
    /** Whether the browser says there is no network (then retries wait for its online event). */
    _offline: function () { return typeof navigator !== 'undefined' && navigator.onLine === false; },

    /**
     * Whether the connection works now: a conn request on its way (it has its own deadline), or a
     * transport opening within its open deadline, or open and heard from within its silence limit.
     */
    _live: function (reason) {
      if (this._req) return reason !== 'online'; // a conn request sent before the network came back may be lost
      var t = this._t;
      if (!t || this.state === STATE.RECONNECTING) return false;
      var limit = (this.state === STATE.CONNECTED ? t.silence(this) : t.deadline(this)).ms;
      return !(limit > 0) || +new Date() - (this._heard || 0) <= limit;
    },

    /** The page woke up (reason: online, resume, visible, pageshow): a connection that is not live resumes now. */
    _wake: function (reason) {
      if (!this.running || this._offline() || this._live(reason)) return;
      this.fireEvent('wake', reason, this);
      this._retry(0); // by position (cid, cs, ack, epoch) when it has a connection, else a new conn
    },

    /** The page goes into the back-forward cache: its request goes, its session stays for pageshow. */
    _sleep: function () {
      if (!this.running) return;
      this._abort();
      this.state = STATE.RECONNECTING;
    }
  });

  // Token refresh: a connection made with a signed token keeps going past the token's life.
  /**
   * The conn frame of a connection made with a signed token says how long it has left (ttl, ms). When three
   * quarters of that are gone the page's token callback (start option `token`) is asked for a new token, which
   * is sent as cmd=refresh on the connection (over its socket, else HTTP or JSON-P); the server checks it like
   * the first and the expiry moves. Past the expiry the server ends the answer with token-expired: the client
   * refreshes then revives from its position, losing nothing. A refresh the server refuses (a bad token, one for
   * another user) or a callback that fails or gives nothing stops the connector: stop(cause) with the reason.
   *
   * options.token: function (done) returning the token, a promise of it, or undefined and calling done(token).
   */
  var REFRESH_AT = 0.75;

  /** param with token= set to the new token (added if it had none): what a later cmd=conn sends. */
  function withToken(param, token) {
    var v = 'token=' + encodeURIComponent(token), p = param || '';
    return /(^|&)token=[^&]*/.test(p) ? p.replace(/(^|&)token=[^&]*/, '$1' + v) : p + (p ? '&' : '') + v;
  }

  var base = { start: Connector.prototype.start, stop: Connector.prototype.stop, _opened: Connector.prototype._opened };
  JS.apply(Connector.prototype, {
    start: function (url, param, options) {
      if (!this.running && options && options.token !== undefined) this.tokenFn = isFunction(options.token) ? options.token : null;
      return base.start.apply(this, arguments);
    },

    stop: function () {
      var running = this.running;
      base.stop.apply(this, arguments);
      if (running && !this.running) { clearTimeout(this._tokenT); this._refreshing = null; }
    },

    _opened: function (d) {
      this._tokenTtl(d.ttl);
      return base._opened.apply(this, arguments);
    },

    /** The server said the token's life left (ms): the next one is asked for before it ends. */
    _tokenTtl: function (ttl) {
      var self = this;
      clearTimeout(this._tokenT);
      if (!(ttl > 0) || !this.tokenFn) return;
      this._tokenT = setTimeout(function () { self._refresh(false); }, Math.max(1000, ttl * REFRESH_AT));
    },

    /** Asks the page for a token and sends it. expired: the server said token-expired; what was in flight ends, and the client revives once refreshed. */
    _refresh: function (expired) {
      var self = this, cId = this.cId, tries = 0;
      if (!this.running || !cId) return;
      if (expired) { this._abort(); this.state = STATE.RECONNECTING; }
      if (this._refreshing) { if (expired) this._refreshing.expired = true; return; }
      if (!this.tokenFn) return this.stop('token-expired');
      var job = this._refreshing = { expired: expired }, settled = false;
      var current = function () { return self.running && self.cId === cId && self._refreshing === job; };
      var fail = function (why) { if (current()) self.stop(why); };
      var send = function (token) {
        self.param = withToken(self.param, token); // the page's param carries the token: the refresh's own and every later request's
        self.command({ cmd: 'refresh', token: token }, function (err, x) {
          if (!current()) return;
          var status = x ? x.status : 0, body = x && parse(x.responseText) || {};
          if (err && (!status || status === 408 || status === 429 || status >= 500)) { setTimeout(function () { if (current()) send(token); }, self._backoff(tries++)); return; }
          self._refreshing = null;
          if (status === 404) return self._reset(); // the server forgot the connection: a new one, with this token
          if (err) return self.stop((body.error || 'token-refused') + ': ' + (body.message || err.message));
          self._tokenTtl(body.ttl);
          if (job.expired) self._revive();
        }, true);
      };
      var done = function (token) {
        if (settled) return;
        settled = true;
        if (!current()) return;
        if (!token || !isString(token)) return fail('token-callback: the token callback gave no token');
        send(token);
      };
      try {
        var r = this.tokenFn(done);
        if (r && isFunction(r.then)) r.then(done, function (e) { if (!settled) { settled = true; fail('token-callback: ' + ((e && e.message) || e)); } });
        else if (r !== undefined) done(r);
      } catch (e) {
        settled = true;
        fail('token-callback: ' + e.message);
      }
    }
  });

  // JS.Engine: the page's API, channels and their subscriptions over the connector.

  var RESERVED = { start: 1, stop: 1, gap: 1, error: 1, master: 1, transport: 1 };
  /** shareTabs: what a follower tab keeps of the master's connector, to take the connection over. */
  var SHARED = ['cId', 'cs', 'epoch', 'lastSeq', 'resume', 'channels', 'workStyle', 'timeout', 'heartbeat'];

  /**
   * JS.Engine: one per page. start(url, param, options), stop(cause), on(name, fn, scope, options),
   * removeListener, getId(), getConnector(), running, send(channel, data, callback), count(channel, fn).
   * Events: start(cId, channels, engine, workStyle), stop(cause, cId, url, engine), gap(info, engine),
   * error({cmd, channel, message}, engine) (a sub or unsub that failed for good), master(isMaster, engine)
   * (shareTabs), transport({name, previous, reason}, engine) (the transport in use changed: the first one of a
   * connection, or a move down or back up the list), and one event per channel (data, time, engine, frame); 'channel.event' for events within a channel.
   */
  function Engine() {
    Observable.call(this);
    var self = this, c = this.connector = new Connector();
    this.running = false;
    this._subscribed = {};
    this._holding = {};
    this._names = {};
    this._refused = {};
    this._peers = {}; // shareTabs: the other tabs' channels, by tab id
    c.subs = function () { return self._asked = self._channels(); };
    // shareTabs: a master tab leaving while other tabs remain keeps the session for the one that takes over.
    c._drop = function () { for (var k in self._peers) if (self._bc) return; Connector.prototype._drop.call(c); };
    JS.on(window, 'pagehide', function () { if (self._bc) self._post({ t: 'bye' }); });
    c.on({
      connect: function (cId, channels, workStyle) {
        self._subscribed = {};
        var subs = self._asked || [];
        for (var i = 0; i < subs.length; i++) self._subscribed[subs[i]] = 1;
        for (var j = 0; j < c.refused.length; j++) {
          delete self._subscribed[c.refused[j]];
          self._refused[c.refused[j]] = 1;
        }
        self.fireEvent('start', cId, channels, self, workStyle);
        self._state();
        for (var k = 0; k < c.refused.length; k++) self._error({ cmd: 'sub', channel: c.refused[k], message: 'refused' });
        for (var name in self._history) self._loadHistory(name, self._history[name]);
        if (self._bc) self._sync(); // what tabs began to listen to while this connected
      },
      stop: function (cause, cId, url) {
        if (!c.running) self.running = false;
        self.fireEvent('stop', cause, cId, url, self);
        self._out({ t: 'ev', n: 'stop', a: [cause, cId, url], end: !c.running });
        if (!c.running) self._unshare();
      },
      gap: function (info) { self.fireEvent('gap', info, self); self._out({ t: 'ev', n: 'gap', a: [info] }); },
      transport: function (info) { self.fireEvent('transport', info, self); self._out({ t: 'ev', n: 'transport', a: [info] }); },
      message: function (channel, data, time, conn, frame) {
        self._take(frame);
        self._out({ t: 'f', f: frame });
      }
    });
    this._history = {};
  }
  Engine.prototype = new Observable();
  JS.apply(Engine.prototype, {
    constructor: Engine,
    _dispatch: function (f) {
      var name = f.event ? f.channel + '.' + f.event : f.channel;
      this.fireEvent(name, f.data, f.time, this, f);
    },
    _take: function (f) {
      var hold = this._holding[f.channel];
      if (hold && !f.history) hold.push(f); else this._dispatch(f);
    },
    _error: function (info) { this.fireEvent('error', info, this); this._out({ t: 'ev', n: 'error', a: [info] }); },
    /** The channels to subscribe: every listened name, and for 'a.b' also 'a'; with shareTabs, the other tabs' too (unless own). */
    _channels: function (own) {
      var out = [], seen = {};
      for (var key in this.events) {
        if (RESERVED[key] || !this.events[key].length) continue;
        var name = this._channelOf(key), names = [name], dot = name.lastIndexOf('.');
        if (dot > 0) names.push(name.substring(0, dot));
        for (var i = 0; i < names.length; i++) if (!seen[names[i]] && !this._refused[names[i]]) { seen[names[i]] = 1; out.push(names[i]); }
      }
      for (var id in own ? {} : this._peers) {
        for (var j = 0, p = this._peers[id]; j < p.length; j++) if (!seen[p[j]] && !this._refused[p[j]]) { seen[p[j]] = 1; out.push(p[j]); }
      }
      return out;
    },
    /** The channel name as the server spells it (event names are case-insensitive, channels are not). */
    _channelOf: function (key) {
      var channels = this.connector.channels || [];
      for (var i = 0; i < channels.length; i++) if (String(channels[i]).toLowerCase() === key) return channels[i];
      return this._names[key] || key;
    },
    addListener: function (name, fn, scope, o) {
      var key = String(name).toLowerCase();
      var added = Observable.prototype.addListener.call(this, name, fn, scope, o);
      if (RESERVED[key]) return added;
      this._names[key] = this._names[key] || String(name);
      var channel = this._channelOf(key);
      delete this._refused[channel]; // a new listener asks again
      if (this._bc) this._hi();
      if (o && o.history > 0) {
        this._history[channel] = o.history;
        if (this.connector.cId) this._loadHistory(channel, o.history);
      }
      if (this.connector.cId) {
        var list = [channel], dot = channel.lastIndexOf('.');
        if (dot > 0) list.push(channel.substring(0, dot));
        for (var i = 0; i < list.length; i++) {
          if (this._subscribed[list[i]] || this._holding[list[i]]) continue;
          delete this._refused[list[i]];
          this._subscribed[list[i]] = 1;
          this._command('sub', list[i]);
        }
      }
      return added;
    },
    removeListener: function (name, fn) {
      var key = String(name).toLowerCase();
      var removed = Observable.prototype.removeListener.call(this, name, fn);
      var channel = this._channelOf(key);
      if (removed && this._bc) this._hi();
      if (removed && !RESERVED[key] && !this.hasListener(key) && this._subscribed[channel] && this.connector.cId) {
        var still = this._channels();
        for (var i = 0; i < still.length; i++) if (still[i] === channel) return removed;
        delete this._subscribed[channel];
        this._command('unsub', channel);
      }
      return removed;
    },
    /**
     * sub / unsub for this connection, retried with backoff (5 tries at most, while the same connection
     * runs: a new one subscribes afresh). A refused sub (403) is not retried and the subscription is
     * forgotten. What fails for good fires error({cmd, channel, message}). fn(err, xhr).
     */
    _command: function (cmd, channel, history, fn) {
      // A follower tab: the master subscribes the union of the tabs' channels; only a history is asked through it.
      if (this._bc && !this._master) { if (history) this._ask({ cmd: cmd, channel: channel, history: history }, fn); return; }
      var self = this, c = this.connector, cId = c.cId, tries = 0;
      var go = function () {
        if (!c.running || c.cId !== cId) { if (fn) fn(new Error('reconnected')); return; }
        c.command({ cmd: cmd, channel: channel, history: history }, function (err, x) {
          var status = x ? x.status : 0, same = c.running && c.cId === cId;
          if (err && same && (!status || status === 404 || status === 408 || status === 429 || status >= 500) && ++tries < 5) {
            setTimeout(go, c._backoff(tries - 1));
            return;
          }
          if (err && same) {
            if (cmd === 'sub') {
              delete self._subscribed[channel];
              if (status === 403) { self._refused[channel] = 1; delete self._history[channel]; }
            }
            self._error({ cmd: cmd, channel: channel, message: err.message });
          }
          if (fn) fn(err, x);
        });
      };
      go();
    },
    /** Asks for a channel's history; live frames of the channel wait until it has been dispatched. */
    _loadHistory: function (channel, n) {
      var self = this, held = this._holding[channel] = [];
      this._subscribed[channel] = 1;
      this._command('sub', channel, n, function (err, x) {
        var now = self._holding[channel];
        if (now && now !== held) { now.unshift.apply(now, held); return; } // asked again since (a new connection): that answer releases them
        delete self._holding[channel];
        var last = 0;
        if (!err) {
          var lines = x.responseText.split('\n');
          for (var i = 0; i < lines.length; i++) {
            var f = lines[i] && parse(lines[i]);
            if (f && f.channel !== SYS) { self._dispatch(f); last = f.seq; }
          }
        }
        for (var j = 0; j < held.length; j++) if (held[j].seq > last) self._dispatch(held[j]);
      });
    },
    start: function (url, param, options) {
      if (this.connector.running || this._bc) return;
      this.running = true;
      if (options && options.shareTabs && isFunction(window.BroadcastChannel)) return this._share(url || this.connector.url, param || this.connector.param || '', options);
      this.connector.start(url, param, options);
      if (!this.connector.running) this.running = false;
    },
    stop: function (cause) {
      if (!this.running) return;
      var c = this.connector;
      if (this._bc) {
        // This tab leaves: a master hands the connection (not dropped while other tabs remain) to the next one.
        this._leaving = true;
        if (this._master) c.stop(cause, this._others());
        else { this.running = false; this.fireEvent('stop', cause, c.cId, c.url, this); }
        if (c.running) { this._leaving = false; return; } // a beforeStop listener said no
        this._unshare();
      } else c.stop(cause);
      this.running = c.running;
    },
    /** Whether this tab holds the connection: with shareTabs, the master tab; otherwise whenever the engine runs. */
    isMaster: function () { return !!(this._bc ? this._master : this.running); },
    getConnector: function () { return this.connector; },
    getId: function () { return this.connector.cId; },
    /**
     * Publishes on a channel the server opened to clients, exactly once (publish.js: an idempotency key, sent
     * again until answered or refused); callback(err, {seq, delivered}, with dup: true for a repeat). options: {event, key}.
     */
    send: function (channel, data, options, callback) {
      if (isFunction(options)) { callback = options; options = null; }
      publish(this, channel, data, options, callback);
    },
    /** How many connections and users listen on a channel (if the server allows it); fn(err, {connections, users}). */
    count: function (channel, fn) {
      this._cmd({ cmd: 'count', channel: channel }, function (err, x) { fn(err, err ? null : parse(x.responseText)); });
    },
    /** A command for the connection: sent by the master, asked of it by a follower tab. */
    _cmd: function (params, fn, post) {
      if (this._bc && !this._master) this._ask(params, fn, post); else this.connector.command(params, fn, post);
    }
  });

  // shareTabs: one connection per browser, shared by the tabs over a BroadcastChannel.
  JS.apply(Engine.prototype, {
    /*
     * shareTabs: one connection per browser for url+param, held by the master tab, the others hearing it on a
     * BroadcastChannel. The master is whoever holds a Web Lock (released by the browser when its tab closes or
     * crashes), else the oldest live tab of a heartbeat. Each tab keeps the position it has seen (cId, cs,
     * epoch, lastSeq): the next master resumes that session from there, so nothing is lost or seen twice.
     * Messages: hi (a tab's channels), bye, st (the connection's state), f (a frame), ev (start/stop/gap/error),
     * cmd and re (a follower's command and its answer).
     */
    _share: function (url, param, options) {
      var self = this, c = this.connector, key = 'comet4net ' + url + ' ' + param, locks = typeof navigator !== 'undefined' && navigator.locks;
      var bc = this._bc = new window.BroadcastChannel(key), seen = {}, tick = 0;
      this._tid = (+new Date()).toString(36) + Math.random().toString(36).slice(2, 8);
      this._peers = {}; this._calls = {}; this._lead = '';
      var lead = function () {
        if (self._bc !== bc || self._master) return;
        self._master = true;
        delete self._peers[self._lead];
        self._lead = self._tid;
        self._fail();
        if (c.cId) {
          // Take over: the same connection from this tab's position; the server sends whatever came after.
          c.url = url; c.param = param; c.forceStyle = options.ws || ''; c.running = true;
          self._subscribed = {};
          for (var i = 0, subs = self._channels(); i < subs.length; i++) self._subscribed[subs[i]] = 1;
          c._revive();
          if (isFunction(options.token)) { c.tokenFn = options.token; c._refresh(false); } // token.js: this tab keeps the token fresh from now on
          c.fireEvent('transport', { name: c.workStyle, previous: '', reason: REASON.TAKEOVER }, c);
          self._state();
        } else c.start(url, param, options);
        self.fireEvent('master', true, self);
      };
      var check = function () { // no Web Locks: the oldest live tab leads when no master is heard
        if (self._master || self._lead) return;
        for (var p in seen) if (p < self._tid) return;
        lead();
      };
      bc.onmessage = function (e) {
        var m = e.data || {}, from = m.i, s = m.s, f = m.f, k;
        if (self._bc !== bc) return;
        seen[from] = tick;
        if (m.t === 'hi') {
          self._peers[from] = m.ch || [];
          if (m.m && !locks && self._master && from < self._tid) { self._master = false; c.running = false; c._abort(); self.fireEvent('master', false, self); }
          if (m.m && !self._master) self._lead = from;
          if (self._master) { self._sync(); if (m.q) self._state(); }
        } else if (m.t === 'bye') {
          delete self._peers[from]; delete seen[from];
          if (from === self._lead) self._lead = '';
          if (self._master) self._sync(); else if (!locks) check();
        } else if (m.t === 'st' && !self._master) {
          if (self._lead !== from) { self._fail(self._lead); self._lead = from; }
          var fresh = s.cId !== c.cId, seq = c.lastSeq;
          for (k = 0; k < SHARED.length; k++) c[SHARED[k]] = s[SHARED[k]];
          if (!fresh) c.lastSeq = seq; // this tab's own position
          else {
            self.fireEvent('start', s.cId, s.channels, self, s.workStyle);
            for (k in self._history) self._loadHistory(k, self._history[k]);
          }
        } else if (m.t === 'f') {
          if (c.cId && f.seq > c.lastSeq) { c.lastSeq = f.seq; self._take(f); } // the master's frames, and a late one of the master before it
        } else if (m.t === 'ev' && !self._master) {
          if (m.end) { self.running = false; self._leaving = true; c.cId = ''; }
          self.fireEvent.apply(self, [m.n].concat(m.a, [self]));
          if (m.end) self._unshare();
        } else if (m.t === 'cmd' && self._master && (!m.to || m.to === self._tid)) {
          if (m.p.cmd === 'sub') self._subscribed[m.p.channel] = 1;
          c.command(m.p, function (err, x) {
            if (self._bc === bc) self._post({ t: 're', to: from, k: m.k, e: err ? err.message : '', s: x ? x.status : 0, r: x ? x.responseText : '' });
          }, m.post);
        } else if (m.t === 're' && m.to === self._tid && (k = self._calls[m.k])) {
          delete self._calls[m.k];
          k.fn(m.e ? new Error(m.e) : null, { status: m.s, responseText: m.r });
        }
      };
      this._hi(1);
      if (locks) {
        locks.request(key, { mode: 'exclusive' }, function () {
          if (self._bc !== bc) return;
          lead();
          return new Promise(function (r) { self._free = r; }); // held for the tab's life, or until stop
        });
      } else {
        this._beat = setInterval(function () {
          tick++;
          self._hi();
          for (var p in seen) {
            if (tick - seen[p] < 3) continue;
            delete seen[p];
            if (p === self._lead) self._lead = '';
            if (self._peers[p]) { delete self._peers[p]; if (self._master) self._sync(); }
          }
          check();
        }, 1000);
      }
    },
    _post: function (m) { m.i = this._tid; try { this._bc.postMessage(m); } catch (e) {} },
    /** Posts to the other tabs if this tab is the master. */
    _out: function (m) { if (this._master && this._bc && !this._leaving) this._post(m); },
    _hi: function (q) { this._post({ t: 'hi', ch: this._channels(true), m: this._master, q: q }); },
    _others: function () { for (var k in this._peers) return true; return false; },
    _state: function () {
      for (var i = 0, s = {}; i < SHARED.length; i++) s[SHARED[i]] = this.connector[SHARED[i]];
      this._out({ t: 'st', s: s });
    },
    /** The master: subscribes what some tab listens to, unsubscribes what none does. */
    _sync: function () {
      if (!this.connector.cId) return;
      var want = this._channels(), keep = {}, i, ch;
      for (i = 0; i < want.length; i++) {
        ch = want[i]; keep[ch] = 1;
        if (!this._subscribed[ch] && !this._holding[ch]) { this._subscribed[ch] = 1; this._command('sub', ch); }
      }
      for (ch in this._subscribed) if (!keep[ch]) { delete this._subscribed[ch]; this._command('unsub', ch); }
    },
    /** A follower's command, answered by the master it is addressed to. */
    _ask: function (p, fn, post) {
      var k = this._k = (this._k || 0) + 1;
      this._calls[k] = { fn: fn || function () {}, to: this._lead };
      this._post({ t: 'cmd', k: k, p: p, post: post, to: this._lead });
    },
    /** Fails the commands asked of a master that went (of any master without one). */
    _fail: function (who) {
      for (var k in this._calls) {
        var call = this._calls[k];
        if (who === undefined || call.to === who) { delete this._calls[k]; call.fn(new Error('master changed'), { status: 0, responseText: '' }); }
      }
    },
    _unshare: function () {
      var bc = this._bc, was = this._master;
      if (!bc) return;
      this._post({ t: 'bye' });
      this._bc = null; this._master = this._leaving = false; this._peers = {};
      clearInterval(this._beat);
      if (this._free) this._free();
      try { bc.onmessage = null; bc.close(); } catch (e) {}
      this._fail();
      if (was) this.fireEvent('master', false, this);
    }
  });
  Engine.prototype.un = Engine.prototype.removeListener;
  JS.Engine = new Engine();

  // Publishing exactly once. JS.Engine.send gives every message an idempotency key (idem) and sends it
  // again, with that key, until the server answers it or refuses it (a 4xx other than 404, 408, 429)
  // or the page stops the engine: across cut answers, reconnects and new connections. The server
  // appends a key once within its window and answers a repeat {ok, seq: <the first one's>, delivered: 0, dup: true}.
  // A page's messages go one at a time, in the order sent, so they also arrive in that order.

  /** How long an attempt may wait for its answer before it counts as lost (a socket reply that never came). */
  var PUB_ANSWER_TIMEOUT = 10000;

  /** A new idempotency key: 22 characters of base64url from the browser's random numbers (Math.random without crypto). */
  function idemKey() {
    var abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', out = '', b = null;
    try { b = window.crypto.getRandomValues(new Uint8Array(22)); } catch (e) {}
    for (var i = 0; i < 22; i++) out += abc.charAt((b ? b[i] : Math.floor(Math.random() * 256)) & 63);
    return out;
  }

  /** Queues a publish on the engine; options: {event, key}; callback(err, {seq, delivered}, with dup: true for a repeat). */
  function publish(engine, channel, data, options, callback) {
    var queue = engine._pubs || (engine._pubs = []);
    queue.push({ channel: channel, event: options && options.event, key: (options && options.key) || idemKey(),
      data: JSON.stringify(data === undefined ? null : data), fn: callback, tries: 0, attempt: 0 });
    if (queue.length === 1) pubNext(engine);
  }

  /** Sends the oldest queued publish (one attempt); the next goes once it is answered or refused. */
  function pubNext(engine) {
    var queue = engine._pubs, p = queue[0], c = engine.connector;
    if (!p) return;
    var finish = function (err, report) {
      if (queue[0] === p) queue.shift();
      if (p.fn) { try { p.fn(err, report); } catch (e) { if (window.console) console.error('Comet4Net send callback failed:', e); } }
      pubNext(engine);
    };
    if (!engine.running) { finish(new Error('stopped'), null); return; }
    var attempt = ++p.attempt, settled = false;
    var timer = setTimeout(function () { answer(new Error('no answer'), { status: 0, responseText: '' }); }, PUB_ANSWER_TIMEOUT);
    var answer = function (err, x) {
      if (settled || p.attempt !== attempt) return;
      settled = true;
      clearTimeout(timer);
      var status = x ? x.status : 0;
      if (!err) { finish(null, parse(x.responseText)); return; }
      if (status && !HTTP.retryable(status)) { finish(err, null); return; } // refused: told, not sent again
      // Lost (no answer, a cut, not connected, the server away): the same key again, at once the first time.
      setTimeout(function () { pubNext(engine); }, p.tries++ === 0 ? 0 : c._backoff(Math.min(p.tries - 2, 10)));
    };
    engine._cmd({ cmd: 'pub', channel: p.channel, event: p.event, data: p.data, idem: p.key }, answer, true);
  }
})(typeof window !== 'undefined' ? window : this);
