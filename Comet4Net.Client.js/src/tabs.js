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
