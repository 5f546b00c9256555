// A test double of comet4j-0.1.7.js's connector, written from its documented behaviour (not its
// code), so that a real browser's XHR checks the server's legacy framing:
//  - conn after a 1 s delay; the body is one frame '<' + encodeURIComponent(json) + '>';
//  - one XHR object reused for every revival (open() on it aborts the previous request);
//  - stream: on each readyState 3 it takes the text after the previous responseText, splits it on
//    '>' and decodes every piece as a whole frame: a frame split across reads breaks it; any c4j
//    frame makes it revive after 100 ms;
//  - lpool: on readyState 4 the whole body must be one frame; it revives 100 ms later;
//  - an empty or bad answer is retried 3 times a second apart, then it stops;
//  - drop is a synchronous GET on beforeunload.
var LegacyClient = (function () {
  function decode(text) {
    if (!text) return null;
    if (text.charAt(0) === '<') text = text.substring(1);
    if (text.charAt(text.length - 1) === '>') text = text.substring(0, text.length - 1);
    return JSON.parse(decodeURIComponent(text)); // the real client uses eval; valid JSON is the contract
  }
  function Client(url, param, onMessage, onStop) {
    var self = this;
    this.url = url; this.param = param ? '&' + param : '';
    this.cId = ''; this.workStyle = ''; this.running = false; this.retries = 0; this.errors = [];
    var xhr = new XMLHttpRequest(), last = '', timer = null;
    function fail(cause) {
      self.retries++;
      if (self.retries > 3) { self.stop(cause); return; }
      setTimeout(revive, 1000);
    }
    function dispatch(frame) {
      self.retries = 0;
      onMessage(frame.channel, frame.data, frame.time);
    }
    function armTimeout() {
      clearTimeout(timer);
      timer = setTimeout(function () { if (xhr.readyState !== 4) fail('timeout'); }, self.timeout + 1000);
    }
    xhr.onreadystatechange = function () {
      if (!self.running) return;
      armTimeout();
      if (xhr.readyState === 3 && xhr.status >= 200 && xhr.status < 300 && self.workStyle === 'stream') {
        var text = xhr.responseText, fresh = text;
        if (last && text) { var parts = text.split(last); fresh = parts[parts.length - 1]; }
        last = text;
        var pieces = fresh.split('>');
        for (var i = 0; i < pieces.length; i++) {
          if (!pieces[i] && i !== 0) return;
          var frame;
          try { frame = decode(pieces[i] + '>'); } catch (e) { self.errors.push('split or bad frame: ' + pieces[i]); self.stop('JSON error'); return; }
          if (!frame) { fail('empty'); return; }
          dispatch(frame);
          if (frame.channel === 'c4j') setTimeout(revive, 100);
        }
      } else if (xhr.readyState === 4) {
        clearTimeout(timer);
        if (xhr.status === 0) { fail('network'); return; }
        if (self.workStyle !== 'lpool') return;
        var f;
        try { f = decode(xhr.responseText); } catch (e) { self.errors.push('bad long-poll body: ' + xhr.responseText); self.stop('JSON error'); return; }
        if (!f) { fail('empty'); return; }
        dispatch(f);
        setTimeout(revive, 100);
      }
    };
    function revive() {
      if (!self.running) return;
      xhr.open('GET', self.url + '?cmd=revival&cid=' + self.cId + self.param + '&ram=' + Math.random(), true);
      xhr.send(null);
    }
    this.start = function () {
      self.running = true;
      setTimeout(function () {
        var c = new XMLHttpRequest();
        c.onload = function () {
          var f = decode(c.responseText);
          if (!f) { self.stop('connect failed'); return; }
          self.cId = f.data.cId; self.workStyle = f.data.ws; self.timeout = f.data.timeout; self.channels = f.data.channels;
          onMessage('start', f.data, f.time);
          revive();
        };
        c.onerror = function () { self.stop('connect error'); };
        c.open('GET', self.url + '?cmd=conn&cv=0.1.7' + self.param + '&ram=' + Math.random(), true);
        c.send(null);
      }, 1000);
    };
    this.stop = function (cause) {
      if (!self.running) return;
      drop();
      self.running = false;
      try { xhr.abort(); } catch (e) {}
      onStop(cause);
    };
    function drop() {
      if (!self.running || !self.cId) return;
      try {
        var d = new XMLHttpRequest();
        d.open('GET', self.url + '?cmd=drop&cid=' + self.cId + self.param + '&ram=' + Math.random(), false);
        d.send(null);
      } catch (e) {}
    }
    window.addEventListener('beforeunload', drop);
  }
  return Client;
})();
