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
