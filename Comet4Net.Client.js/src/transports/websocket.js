  /**
   * The websocket transport: the revival URL upgraded to a WebSocket. Frames arrive as NDJSON, one
   * message per write; the connector acknowledges on the socket and sends its commands over it.
   * Worked: the socket opened. Open deadline: wsOpenTimeout (a proxy that takes the upgrade and never
   * answers). After that, no frame for 1.5 heartbeats + 1 s is a network failure: open it again.
   * All transports have this shape: name, supported(), params(c), open(url, cb), send(m), close(),
   * deadline(c) and silence(c) ({ms, fall}: how long it may take to work, or stay silent once it did,
   * and whether running out means moving down the list (fall) or trying it again).
   */
  function WebSocketTransport() { this.so = null; }
  WebSocketTransport.prototype = {
    name: 'websocket',
    acks: true,
    supported: function () { return hasWs(); },
    params: function (c) { return { cmd: 'revival', cid: c.cId, cs: c.cs, ack: c.lastSeq, ep: c.epoch || undefined, ws: 'websocket' }; },
    deadline: function (c) { return { ms: c.wsOpenTimeout, fall: true }; },
    silence: function (c) { return { ms: c.heartbeat > 0 ? c.heartbeat * 1.5 + 1000 : 0, fall: false }; },
    /** cb.open(): the socket opened; cb.lines(lines): frames; cb.close({opened}): it closed (or never opened). */
    open: function (url, cb) {
      var self = this, so = this.so = new window.WebSocket(wsUrl(url)), opened = false;
      so.onopen = function () { if (self.so !== so) return; opened = true; cb.open(); };
      so.onmessage = function (e) { if (self.so === so) cb.lines(String(e.data).split('\n')); };
      so.onclose = function (e) { if (self.so !== so) return; self.so = null; cb.close({ opened: opened, code: e && e.code, status: 0 }); };
    },
    /** Sends a command on the open socket; false when there is none. */
    send: function (m) {
      var so = this.so;
      if (!so || so.readyState !== 1) return false;
      try { so.send(JSON.stringify(m)); return true; } catch (e) { return false; }
    },
    ready: function () { return !!(this.so && this.so.readyState === 1); },
    close: function () {
      var so = this.so;
      this.so = null;
      if (so) { so.onmessage = so.onclose = so.onopen = so.onerror = null; try { so.close(WS_NORMAL); } catch (e) {} }
    }
  };
