  // Pages that wake up: the page's lifecycle for the connector (leaving, offline and online, frozen and
  // resumed, hidden and shown, kept in and back from the back-forward cache).
  /**
   * wake(connector), from its constructor. While the browser says it is offline (navigator.onLine false)
   * the connector makes no retry and its backoff does not grow: a retry due then waits for `online`.
   * On `online`, a `resume` (Page Lifecycle: the tab was frozen), `visibilitychange` to visible and a
   * `pageshow` from the back-forward cache it checks its connection: one that is not live (waiting out a
   * backoff, no transport, or a transport not heard from within its silence limit) resumes by position at
   * once, and the connector fires wake(reason, conn). A resume after the server's resume window gets
   * the server's answer for it: a gap frame, or a reset (gap, then a new connection); never silence.
   * Leaving: `pagehide` drops the connection (as `stop` does), unless the page goes into the
   * back-forward cache (`persisted`): then it lets its request go and keeps its session for the return.
   * Only a running connector acts: with shareTabs, the master tab's; a follower's connector never runs.
   */
  function wake(c) {
    var doc = window.document;
    var on = function (target, name, fn) { if (target && isFunction(target.addEventListener)) JS.on(target, name, fn); };
    c.on('revival', function () { c._heard = +new Date(); }); // an attempt begins: its own deadline runs from now
    on(window, 'pagehide', function (e) { if (e && e.persisted) c._sleep(); else c._drop(); });
    on(window, 'offline', function () { if (c.state === STATE.RECONNECTING && c._offline()) clearTimeout(c._timer); });
    on(window, 'online', function () { c._retries = 0; c._wake('online'); });
    on(window, 'pageshow', function (e) { if (e && e.persisted) c._wake('pageshow'); });
    on(doc, 'resume', function () { c._wake('resume'); });
    on(doc, 'visibilitychange', function () { if (doc.visibilityState === 'visible') c._wake('visible'); });
  }

  JS.apply(Connector.prototype, {
    /** Whether the browser says there is no network (then retries wait for its online event). */
    _offline: function () { return typeof navigator !== 'undefined' && navigator.onLine === false; },

    /**
     * Whether the connection works now: a conn request on its way (it has its own deadline), or a
     * transport opening within its open deadline, or open and heard from within its silence limit.
     */
    _live: function (reason) {
      if (this._req) return reason !== 'online'; // a conn request sent before the network came back may be lost
      var t = this._t;
      if (!t || this.state === STATE.RECONNECTING) return false;
      var limit = (this.state === STATE.CONNECTED ? t.silence(this) : t.deadline(this)).ms;
      return !(limit > 0) || +new Date() - (this._heard || 0) <= limit;
    },

    /** The page woke up (reason: online, resume, visible, pageshow): a connection that is not live resumes now. */
    _wake: function (reason) {
      if (!this.running || this._offline() || this._live(reason)) return;
      this.fireEvent('wake', reason, this);
      this._retry(0); // by position (cid, cs, ack, epoch) when it has a connection, else a new conn
    },

    /** The page goes into the back-forward cache: its request goes, its session stays for pageshow. */
    _sleep: function () {
      if (!this.running) return;
      this._abort();
      this.state = STATE.RECONNECTING;
    }
  });
