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

