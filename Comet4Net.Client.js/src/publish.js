  // Publishing exactly once. JS.Engine.send gives every message an idempotency key (idem) and sends it
  // again, with that key, until the server answers it or refuses it (a 4xx other than 404, 408, 429)
  // or the page stops the engine: across cut answers, reconnects and new connections. The server
  // appends a key once within its window and answers a repeat {ok, seq: <the first one's>, delivered: 0, dup: true}.
  // A page's messages go one at a time, in the order sent, so they also arrive in that order.

  /** How long an attempt may wait for its answer before it counts as lost (a socket reply that never came). */
  var PUB_ANSWER_TIMEOUT = 10000;

  /** A new idempotency key: 22 characters of base64url from the browser's random numbers (Math.random without crypto). */
  function idemKey() {
    var abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', out = '', b = null;
    try { b = window.crypto.getRandomValues(new Uint8Array(22)); } catch (e) {}
    for (var i = 0; i < 22; i++) out += abc.charAt((b ? b[i] : Math.floor(Math.random() * 256)) & 63);
    return out;
  }

  /** Queues a publish on the engine; options: {event, key}; callback(err, {seq, delivered}, with dup: true for a repeat). */
  function publish(engine, channel, data, options, callback) {
    var queue = engine._pubs || (engine._pubs = []);
    queue.push({ channel: channel, event: options && options.event, key: (options && options.key) || idemKey(),
      data: JSON.stringify(data === undefined ? null : data), fn: callback, tries: 0, attempt: 0 });
    if (queue.length === 1) pubNext(engine);
  }

  /** Sends the oldest queued publish (one attempt); the next goes once it is answered or refused. */
  function pubNext(engine) {
    var queue = engine._pubs, p = queue[0], c = engine.connector;
    if (!p) return;
    var finish = function (err, report) {
      if (queue[0] === p) queue.shift();
      if (p.fn) { try { p.fn(err, report); } catch (e) { if (window.console) console.error('Comet4Net send callback failed:', e); } }
      pubNext(engine);
    };
    if (!engine.running) { finish(new Error('stopped'), null); return; }
    var attempt = ++p.attempt, settled = false;
    var timer = setTimeout(function () { answer(new Error('no answer'), { status: 0, responseText: '' }); }, PUB_ANSWER_TIMEOUT);
    var answer = function (err, x) {
      if (settled || p.attempt !== attempt) return;
      settled = true;
      clearTimeout(timer);
      var status = x ? x.status : 0;
      if (!err) { finish(null, parse(x.responseText)); return; }
      if (status && !HTTP.retryable(status)) { finish(err, null); return; } // refused: told, not sent again
      // Lost (no answer, a cut, not connected, the server away): the same key again, at once the first time.
      setTimeout(function () { pubNext(engine); }, p.tries++ === 0 ? 0 : c._backoff(Math.min(p.tries - 2, 10)));
    };
    engine._cmd({ cmd: 'pub', channel: p.channel, event: p.event, data: p.data, idem: p.key }, answer, true);
  }
