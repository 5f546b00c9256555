  // The transports by name, and the ordered list a connection walks.
  var TRANSPORTS = { websocket: WebSocketTransport, stream: StreamTransport, sse: SseTransport, lpool: LpoolTransport };

  /**
   * The transports a connection may use, best first, from the one chosen (by the page's ws option, else
   * the server's conn answer): websocket, then stream, then lpool; sse, then lpool; stream, then lpool.
   * SSE is no fallback for a stream: a proxy that buffers one buffers the other.
   */
  function plan(style) {
    var start = style === 'lpool' ? 'lpool' : style === 'sse' && hasSse() ? 'sse' : style === 'websocket' && hasWs() ? 'websocket' : 'stream';
    return start === 'lpool' ? ['lpool'] : start === 'websocket' ? ['websocket', 'stream', 'lpool'] : [start, 'lpool'];
  }
