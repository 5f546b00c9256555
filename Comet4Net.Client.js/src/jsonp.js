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
