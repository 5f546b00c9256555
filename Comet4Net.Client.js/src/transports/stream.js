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
