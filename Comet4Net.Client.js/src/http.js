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
