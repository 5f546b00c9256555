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
