// Type definitions for comet4net-client 2.0.0: the JS namespace of dist/comet4j.js (Comet4J's API on
// the v2 dialect, docs/protocol.md). Typed both ways it is used:
//   import JS, { Engine } from 'comet4net-client';            // a bundler, the ES module build
//   <script src="/comet4j.min.js"> + the global `JS`           // /// <reference types="comet4net-client" />
/// <reference lib="dom" />

/** How the connection carries frames: a held stream, long polls, Server-Sent Events or a WebSocket. */
export type WorkStyle = 'stream' | 'lpool' | 'sse' | 'websocket';

/** The third argument of `JS.Engine.start`. */
export interface StartOptions {
  /** Forces a style (default: the server decides). `'sse'` without `window.EventSource` streams; `'websocket'` on a path that does not carry WebSockets streams (then long polls). */
  ws?: WorkStyle | 'jsonp';
  /** How long (ms, 5000) a WebSocket may take to open before the client moves to streaming. */
  wsOpenTimeout?: number;
  /** How long (ms, 4000) a new stream may bring no byte before the client long polls instead. 0: never. */
  streamProbeTimeout?: number;
  /** How long (ms, 10000) after leaving a WebSocket that did not open the client tries it again; doubles after each failed try. */
  upgradeAfter?: number;
  /** The longest wait (ms, 300000) before trying a left WebSocket again. */
  upgradeMax?: number;
  /** The first retry delay (ms, 500). */
  retryBase?: number;
  /** The longest retry delay (ms, 15000). */
  retryMax?: number;
  /** Tabs of the same origin share one connection: one tab (the master, `JS.Engine.isMaster()`) holds it and hands frames to the others. */
  shareTabs?: boolean;
  /**
   * Asked for a new signed token before the connection's token expires (and when the server says `token-expired`):
   * return it, a promise of it, or call `done(token)`. Sent as `cmd=refresh`; the connection goes on without reconnecting.
   * A refresh the server refuses, or a callback that fails or gives nothing, stops the engine with the reason.
   */
  token?: (done: (token: string) => void) => string | PromiseLike<string> | void;
  /** Ask for Fossil deltas (`delta=fossil`) on channels the server registered with `Delta = true`: listeners still get the whole data. */
  delta?: boolean;
}

/** The fourth argument of `on`/`addListener` for a channel. */
export interface ListenerOptions {
  /** Asks for the channel's last N kept messages (at most 1000), dispatched before any live one. */
  history?: number;
}

/** A v2 message frame as the server sent it (the fourth argument of a channel listener). */
export interface Frame<T = any> {
  /** The sequence number (absent on system frames). */
  seq?: number;
  channel: string;
  /** The event within the channel (`SendToAll("room", "typing", …)` fires `room.typing`). */
  event?: string;
  data: T;
  /** Milliseconds since 1970 (UTC), when the server sent it. */
  time: number;
  /** True on a message that came as channel history (`options.history`). */
  history?: boolean;
}

/** `gap`: the sequence numbers from..to meant for this connection are lost. */
export interface GapInfo {
  from: number;
  /** null when the server had forgotten the connection (reason `'reset'`): everything after `from - 1` may be lost. */
  to: number | null;
  reason?: 'reset';
}

/** `error`: a subscribe or unsubscribe that failed for good. */
export interface CommandErrorInfo {
  cmd: 'sub' | 'unsub';
  channel: string;
  /** `'refused'` when the server's subscribe listeners said no, else the failure's message. */
  message: string;
}

/**
 * What `send` reports: the message's sequence number and how many connections receive its channel; for a
 * message the server had already appended (its answer was lost and the client sent it again with the same
 * key) `dup: true`, the first one's number and `delivered: 0` (nothing was sent this time).
 */
export interface SendReport {
  ok: boolean;
  seq: number;
  delivered: number;
  dup?: boolean;
}

/** What `count` reports for a channel that allows it. */
export interface CountReport {
  channel: string;
  connections: number;
  users: number;
}

export interface SendOptions {
  /** Publishes as an event within the channel (listeners of `channel.event` receive it). */
  event?: string;
  /**
   * The idempotency key (1 to 64 characters of A-Z a-z 0-9 - _ . :); default: a new random one. The client sends
   * the message again with it until the server answers or refuses; the server appends it once within its window.
   */
  key?: string;
}

/** An XMLHttpRequest-like answer to a command: the request itself, or on a WebSocket the reply frame. */
export interface CommandAnswer {
  status: number;
  responseText: string;
}

/** What a listener returns: only `false` counts (from `beforeConnect`/`beforeStop` it cancels; fireEvent then returns false). */
export type ListenerResult = unknown;

/** A channel name: any string but a reserved event's (start, stop, gap, error), which have listeners of their own. */
export type ChannelName<N extends string> = N & (Lowercase<N> extends keyof EngineEvents ? never : unknown);

export type ChannelListener<T = any> = (data: T, time: number, engine: Engine, frame: Frame<T>) => ListenerResult;

/** The connector's states: `connecting` until the conn answer came and the transport in use worked. */
export type ConnectorState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'stopped';

/**
 * Why the connection is on a transport: `connect` (the first of a connection), `not-opened` (the one
 * above was refused before it opened), `open-timeout` (the one above did not open in time),
 * `buffered` (a stream or EventSource whose bytes did not come: long polling), `upgrade` (trying a
 * WebSocket left earlier again), `takeover` (shareTabs).
 */
export type TransportReason = 'connect' | 'not-opened' | 'open-timeout' | 'buffered' | 'upgrade' | 'takeover';

/** The argument of the transport event. */
export interface TransportInfo {
  /** The transport now in use (`getConnector().workStyle`). */
  name: WorkStyle;
  /** The one before ('' for a page's first). */
  previous: WorkStyle | '';
  reason: TransportReason;
}

/** The engine's reserved events and their arguments. */
export interface EngineEvents {
  /** Connected (again, after the server forgot the connection). `channels`: what it listens to. */
  start: (cId: string, channels: string[], engine: Engine, workStyle: WorkStyle) => ListenerResult;
  /** Stopped: `cause` is what `stop(cause)` was given, the server's reason (kicked, 4xx), or `'reconnect'` before a new connection. */
  stop: (cause: string | undefined, cId: string, url: string, engine: Engine) => ListenerResult;
  gap: (info: GapInfo, engine: Engine) => ListenerResult;
  error: (info: CommandErrorInfo, engine: Engine) => ListenerResult;
  /** The transport in use changed: the first of a connection, or a move down the list or back up. */
  transport: (info: TransportInfo, engine: Engine) => ListenerResult;
}

/** The object form of `on`: reserved events and channel names. */
export type EngineListeners = { [K in keyof EngineEvents]?: EngineEvents[K] } & { [channel: string]: ((...args: any[]) => ListenerResult) | undefined };

/** The connector's events. */
export interface ConnectorEvents {
  /** Return false to cancel the start. */
  beforeConnect: (url: string, conn: Connector) => ListenerResult;
  connect: (cId: string, channels: string[], workStyle: WorkStyle, timeout: number, conn: Connector) => ListenerResult;
  /** Return false to cancel the stop. */
  beforeStop: (cause: string | undefined, cId: string, url: string, conn: Connector) => ListenerResult;
  stop: (cause: string | undefined, cId: string, url: string, conn: Connector) => ListenerResult;
  message: (channel: string, data: any, time: number, conn: Connector, frame: Frame) => ListenerResult;
  revival: (url: string, cId: string, conn: Connector) => ListenerResult;
  gap: (info: GapInfo, conn: Connector) => ListenerResult;
  transport: (info: TransportInfo, conn: Connector) => ListenerResult;
  /** The page woke up (the network came back, a frozen or hidden tab resumed, a return from the back-forward cache) and the connection, not live, resumes at once. */
  wake: (reason: 'online' | 'resume' | 'visible' | 'pageshow', conn: Connector) => ListenerResult;
}

export type ConnectorListeners = { [K in keyof ConnectorEvents]?: ConnectorEvents[K] };

/** Listeners by name; names are case-insensitive. A listener that throws is reported on the console and does not stop the others. */
export interface Observable {
  /** name → listeners (lower-case names). */
  events: { [name: string]: Array<{ fn: (...args: any[]) => ListenerResult; scope?: unknown; o?: unknown }> };
  on(name: string, fn: (...args: any[]) => ListenerResult, scope?: unknown, options?: unknown): void;
  on(listeners: { [name: string]: ((...args: any[]) => ListenerResult) | undefined }, scope?: unknown): void;
  /** False when fn already listens to name. */
  addListener(name: string, fn: (...args: any[]) => ListenerResult, scope?: unknown, options?: unknown): boolean;
  /** False when fn did not listen to name. */
  removeListener(name: string, fn: (...args: any[]) => ListenerResult): boolean;
  un(name: string, fn: (...args: any[]) => ListenerResult): boolean;
  hasListener(name: string): boolean;
  clearListeners(): void;
  /** Calls every listener of name; false when one of them returned false. */
  fireEvent(name: string, ...args: any[]): boolean;
}

/** The connection itself (`JS.Engine.getConnector()`): opens it and keeps it. */
export interface Connector extends Observable {
  on<K extends keyof ConnectorEvents>(name: K, fn: ConnectorEvents[K], scope?: unknown): void;
  on(listeners: ConnectorListeners, scope?: unknown): void;
  addListener<K extends keyof ConnectorEvents>(name: K, fn: ConnectorEvents[K], scope?: unknown): boolean;
  removeListener<K extends keyof ConnectorEvents>(name: K, fn: ConnectorEvents[K]): boolean;
  un<K extends keyof ConnectorEvents>(name: K, fn: ConnectorEvents[K]): boolean;

  /** The connection id ('' while not connected). */
  cId: string;
  /** The connection's secret, sent with every request for it. */
  cs: string;
  /** The channels the server knows. */
  channels: string[];
  /** The transport in use, or being opened ('' while not connected). */
  workStyle: WorkStyle | '';
  running: boolean;
  /** Where the connection is (also `getState()`). */
  state: ConnectorState;
  /** The /conn endpoint. */
  url: string;
  /** Extra parameters (`'a=1&b=2'`) on every request. */
  param: string;
  /** The last sequence number dispatched (acknowledged on the next revival). */
  lastSeq: number;
  /** The server's request timeout (ms). */
  timeout: number;
  /** The server's heartbeat interval (ms; 0: none). */
  heartbeat: number;
  /** The identity of the server's log, sent back as `ep=`. */
  epoch: string;
  /** How long (ms) the server keeps the connection's position while it is away. */
  resume: number;
  /** Channels named at connect that the server refused. */
  refused: string[];
  /** The first retry delay (ms, 500); doubles up to retryMax. */
  retryBase: number;
  /** The longest retry delay (ms, 15000). */
  retryMax: number;
  /** How long (ms, 4000) a new stream may bring no byte before the client long polls instead. 0: never. */
  streamProbeTimeout: number;
  /** How long (ms, 5000) a WebSocket may take to open before the client moves to streaming. */
  wsOpenTimeout: number;
  /** How long (ms, 10000) after leaving a WebSocket that did not open the client tries it again; doubles after each failed try. */
  upgradeAfter: number;
  /** The longest wait (ms, 300000) before trying a left WebSocket again. */
  upgradeMax: number;
  /** Refusals in a row (3) after which a WebSocket that had worked is left. */
  wsMisses: number;
  /** The style `start` forced ('' when the server decides). */
  forceStyle: WorkStyle | '';
  /** The channels to subscribe at connect (the engine sets it). */
  subs: (() => string[]) | null;
  readonly LLOOPSTYLE: 'lpool';
  readonly STREAMSTYLE: 'stream';
  readonly SYSCHANNEL: 'c4j';
  readonly CMDTAG: 'cmd';

  start(url?: string, param?: string, options?: StartOptions): void;
  /** keepDrop: do not tell the server. */
  stop(cause?: string, keepDrop?: boolean): void;
  getId(): string;
  getState(): ConnectorState;
  /** Sends a v2 command (`sub`, `unsub`, `pub`, `count`) for this connection; post: as a POST form. */
  command(params: { [name: string]: string | number | undefined | null }, callback?: (err: Error | null, answer?: CommandAnswer) => void, post?: boolean): void;
}

/** `JS.Engine`: one per page. */
export interface Engine extends Observable {
  /** True from `start` until `stop` (or a stop the server caused). */
  running: boolean;
  /** The connector (also `getConnector()`). */
  connector: Connector;

  /** Connects. `param` (`'a=1&b=2'`) goes on every request. Does nothing while running. */
  start(url: string, param?: string, options?: StartOptions): void;
  /** Disconnects (the server is told at once) and fires `stop`. */
  stop(cause?: string): void;
  getId(): string;
  getConnector(): Connector;
  /** With `shareTabs`: whether this tab holds the shared connection. */
  isMaster(): boolean;

  /** Listens to a reserved event, or to a channel (`'room'`, `'room.typing'` for an event within it). Names are case-insensitive. */
  on<K extends keyof EngineEvents>(name: K, fn: EngineEvents[K], scope?: unknown): void;
  on<T = any, N extends string = string>(channel: ChannelName<N>, fn: ChannelListener<T>, scope?: unknown, options?: ListenerOptions): void;
  on(listeners: EngineListeners, scope?: unknown): void;
  addListener<K extends keyof EngineEvents>(name: K, fn: EngineEvents[K], scope?: unknown): boolean;
  addListener<T = any, N extends string = string>(channel: ChannelName<N>, fn: ChannelListener<T>, scope?: unknown, options?: ListenerOptions): boolean;
  /** Removes a listener; the last one of a channel unsubscribes it. */
  removeListener<K extends keyof EngineEvents>(name: K, fn: EngineEvents[K]): boolean;
  removeListener<T = any, N extends string = string>(channel: ChannelName<N>, fn: ChannelListener<T>): boolean;
  un<K extends keyof EngineEvents>(name: K, fn: EngineEvents[K]): boolean;
  un<T = any, N extends string = string>(channel: ChannelName<N>, fn: ChannelListener<T>): boolean;

  /** Publishes on a channel the server opened to clients; data is sent as JSON. */
  send(channel: string, data: unknown, callback?: (err: Error | null, report: SendReport | null) => void): void;
  send(channel: string, data: unknown, options?: SendOptions | null, callback?: (err: Error | null, report: SendReport | null) => void): void;
  /** How many connections and users listen on a channel (if the server allows it). */
  count(channel: string, callback: (err: Error | null, counts: CountReport | null) => void): void;
}

/** `JS.AJAX`: params is an encoded query (`'a=1&b=2'`); the callback receives the XMLHttpRequest once done. async false: a synchronous request. */
export interface Ajax {
  post(url: string, params?: string | null, callback?: (xhr: XMLHttpRequest) => void, scope?: unknown, async?: boolean): XMLHttpRequest;
  get(url: string, params?: string | null, callback?: (xhr: XMLHttpRequest) => void, scope?: unknown, async?: boolean): XMLHttpRequest;
}

/** The `JS` namespace (the global `JS`, the module's default export). */
export interface Comet4NetJS {
  /** The client's version, `'2.0.0'` (sent as `cv=`). */
  version: string;
  isString(value: unknown): value is string;
  isFunction(value: unknown): value is (...args: any[]) => any;
  /** A plain object (not an array, not null). */
  isObject(value: unknown): value is { [key: string]: any };
  isArray(value: unknown): value is any[];
  /** Copies the own properties of c onto o; returns o. */
  apply<T extends object, U extends object>(o: T, c: U): T & U;
  /** A DOM listener, called with `this` = scope (default: the element). */
  on(el: EventTarget, name: string, fn: (e: Event) => unknown, scope?: unknown): void;
  un(el: EventTarget, name: string, fn: (e: Event) => unknown): void;
  /** The client's Fossil delta apply: the text that `delta` (one character per byte) makes of `base`; throws on a wrong base or a bad delta. */
  Delta: { apply(base: string, delta: string): string; applyBytes(bytes: string, delta: string): string };
  AJAX: Ajax;
  Observable: new () => Observable;
  Connector: {
    new (): Connector;
    State: { DISCONNECTED: 'disconnected'; CONNECTING: 'connecting'; CONNECTED: 'connected'; RECONNECTING: 'reconnecting'; STOPPED: 'stopped' };
    Reason: { CONNECT: 'connect'; NOT_OPENED: 'not-opened'; OPEN_TIMEOUT: 'open-timeout'; BUFFERED: 'buffered'; UPGRADE: 'upgrade'; TAKEOVER: 'takeover' };
  };
  /** The page's engine. */
  Engine: Engine;
}

declare const JS: Comet4NetJS;
/** `JS.Engine`. */
declare const Engine: Engine;
export { JS, Engine };
export default JS;

declare global {
  /** Set by the client script (`<script src="/comet4j.min.js">`) and by the module builds. */
  var JS: Comet4NetJS;
}
