  /**
   * The lpool transport (long polling): each answer carries what waits, or ends at the server's
   * timeout; the connector asks again. It never falls further: no answer within the server's
   * timeout + 5 s is a network failure, asked again with backoff. JSON-P pages use it with script tags.
   */
  function LpoolTransport() { HttpTransport.call(this); }
  LpoolTransport.prototype = JS.apply(new HttpTransport(), {
    name: 'lpool',
    deadline: function (c) { return { ms: c.timeout + 5000, fall: false }; },
    silence: function (c) { return { ms: c.timeout + 5000, fall: false }; }
  });
