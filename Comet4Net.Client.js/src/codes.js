  // Every state, reason and code the client uses, in one place.

  /** The system channel: conn, hb, dying, gap, kicked, reconnect and reply frames. */
  var SYS = 'c4j';

  /** The connector's states (JS.Connector.State). */
  var STATE = {
    DISCONNECTED: 'disconnected', // not started yet
    CONNECTING: 'connecting',     // cmd=conn on its way, or a transport that has not worked yet
    CONNECTED: 'connected',       // the transport in use has delivered (a socket opened, a first byte came)
    RECONNECTING: 'reconnecting', // waiting (backoff) before the next attempt
    STOPPED: 'stopped'            // stopped by the page, the server or an error; start() again to go on
  };

  /** Why the connector is on the transport it is on: the reason of the transport event. */
  var REASON = {
    CONNECT: 'connect',           // the first transport of a connection (the server's choice, or the page's)
    NOT_OPENED: 'not-opened',     // the transport above failed before it ever worked (a proxy refused it)
    OPEN_TIMEOUT: 'open-timeout', // the transport above did not open within its deadline (a proxy holds it)
    BUFFERED: 'buffered',         // a stream or EventSource whose bytes did not come: a proxy buffers it
    UPGRADE: 'upgrade',           // trying again a transport above that failed to open earlier
    TAKEOVER: 'takeover'          // shareTabs: this tab took the connection over
  };

  /** The status a command reply's error stands for, as an HTTP answer would say it. */
  var REPLY_STATUS = { refused: 403, forbidden: 403, 'bad-request': 400, 'too-large': 413, unavailable: 503 };

  /** Answers to a revival: what each HTTP status means to the connector. */
  var HTTP = {
    retryable: function (s) { return !s || s === 404 || s === 408 || s === 429 || s >= 500; }, // a command worth sending again
    forgotten: function (s) { return s === 404; },                                          // the server forgot the connection
    final: function (s) { return s === 410 || s === 403 || s === 400; }                     // the server ended it for good
  };

  /** WebSocket close code for a socket the client closes itself. */
  var WS_NORMAL = 1000;
