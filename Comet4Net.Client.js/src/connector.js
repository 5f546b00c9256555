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
