  // Deltas (docs/protocol.md, "Deltas"): a page started with { delta: true } asks for Fossil deltas
  // (delta=fossil on every request). On a channel with deltas a frame says "d": 0 (data is the whole JSON
  // as a string: kept as the channel's base) or "d": 1 (data is a Fossil delta against the frame "b").
  // Listeners get the data rebuilt and parsed. A delta whose base is not held or that does not apply (its
  // checksum) is not dispatched: the connector resumes from its position, and the server, not having that
  // position confirmed, sends the message whole (a resync, never wrong data).
  var FOSSIL = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~';

  /** Fossil's apply over byte strings (one character per byte): throws on a bad delta or a checksum that does not match. */
  function fossilApply(src, delta) {
    var at = 0;
    function int() {
      var v = 0, start = at, c;
      while (at < delta.length && (c = FOSSIL.indexOf(delta.charAt(at))) >= 0) { v = v * 64 + c; at++; if (v > 4294967295) throw new Error('delta: number out of range'); }
      if (at === start) throw new Error('delta: number expected');
      return v;
    }
    var size = int(), out = [], n = 0;
    if (delta.charAt(at++) !== '\n') throw new Error('delta: no newline after the size');
    while (at < delta.length) {
      var cnt = int(), op = delta.charAt(at++);
      if (op === '@') {
        var ofst = int();
        if (delta.charAt(at++) !== ',') throw new Error('delta: copy without ","');
        if (ofst + cnt > src.length || n + cnt > size) throw new Error('delta: copy out of range');
        out.push(src.substring(ofst, ofst + cnt)); n += cnt;
      } else if (op === ':') {
        if (at + cnt > delta.length || n + cnt > size) throw new Error('delta: insert out of range');
        out.push(delta.substring(at, at + cnt)); n += cnt; at += cnt;
      } else if (op === ';') {
        var res = out.join('');
        if (res.length !== size) throw new Error('delta: size does not match');
        if (fossilSum(res) !== cnt) throw new Error('delta: checksum does not match');
        return res;
      } else throw new Error('delta: unknown operator');
    }
    throw new Error('delta: no checksum');
  }

  /** Fossil's checksum: the sum of the big-endian 32-bit words, the last one zero-padded. */
  function fossilSum(s) {
    var sum = 0, i = 0, n = s.length; // >>> 0: arithmetic modulo 2^32
    for (; i + 4 <= n; i += 4) sum = (sum + (s.charCodeAt(i) << 24 | s.charCodeAt(i + 1) << 16 | s.charCodeAt(i + 2) << 8 | s.charCodeAt(i + 3))) >>> 0;
    for (var shift = 24; i < n; i++, shift -= 8) sum = (sum + (s.charCodeAt(i) << shift)) >>> 0;
    return sum;
  }

  // Text to UTF-8 byte strings and back (decodeURIComponent throws on bytes that are not UTF-8).
  function utf8(text) { return unescape(encodeURIComponent(text)); }
  function fromUtf8(bytes) { return decodeURIComponent(escape(bytes)); }

  /**
   * JS.Delta.apply(base, delta): the text that delta (a Fossil delta, one character per byte) makes of base.
   * JS.Delta.applyBytes(bytes, delta): the same on UTF-8 byte strings (what the connector keeps as a base).
   */
  JS.Delta = { apply: function (base, delta) { return fromUtf8(fossilApply(utf8(base), delta)); }, applyBytes: fossilApply };

  /** Whether the page asked for deltas (start's options.delta; kept across restarts when not given). */
  function wantsDelta(options, was) { return options.delta !== undefined ? !!options.delta : !!was; }
  function deltaParam(c) { return c.delta ? '&delta=fossil' : ''; }

  JS.apply(Connector.prototype, {
    /** A frame marked "d": rebuilds f.data; false (and a resync) when it cannot. */
    _undelta: function (f) {
      var bases = this._bases || (this._bases = {}), base = bases[f.channel], bytes, data;
      try {
        if (f.d === 0) bytes = utf8(f.data);
        else if (!base || base.seq !== f.b) throw new Error('delta: base ' + f.b + ' not held');
        else bytes = fossilApply(base.bytes, f.data);
        data = JSON.parse(fromUtf8(bytes));
      } catch (e) {
        delete bases[f.channel];
        this._retry(0); // resume from the position: this message comes again, whole
        return false;
      }
      bases[f.channel] = { seq: f.seq, bytes: bytes }; // kept as UTF-8 bytes: the next delta applies to them as they are
      f.data = data;
      return true;
    }
  });
