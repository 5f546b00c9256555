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
