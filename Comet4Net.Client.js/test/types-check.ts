// Compiled by test/package.test.js with tsc --noEmit --strict: the declarations in types/ as a
// bundler user meets them (import from the package name). Never run.
import JS, { Engine, JS as NamedJS } from 'comet4net-client';
import type { Connector, Frame, GapInfo, SendReport, CountReport, WorkStyle, StartOptions } from 'comet4net-client';

const same: typeof JS = NamedJS;
const version: string = JS.version;
const engine: Engine = JS.Engine;
Engine.start('/conn');
Engine.start('/conn', 'room=1', { ws: 'websocket', shareTabs: true });
const master: boolean = Engine.isMaster();
const options: StartOptions = { ws: 'sse' };
// @ts-expect-error: not a style
Engine.start('/conn', '', { ws: 'flash' });
// @ts-expect-error: the URL is required
Engine.start();

Engine.on('start', (cId, channels, e, workStyle) => {
  const id: string = cId;
  const names: string[] = channels;
  const style: WorkStyle = workStyle;
  e.getId();
});
Engine.on('stop', (cause, cId, url, e) => { const c: string | undefined = cause; e.running; });
Engine.on('gap', (info: GapInfo) => { const to: number | null = info.to; info.reason === 'reset'; });
Engine.on('error', (info) => { const cmd: 'sub' | 'unsub' = info.cmd; info.channel.toUpperCase(); });
// @ts-expect-error: gap's info has no channel
Engine.on('gap', (info) => info.channel);

interface Chat { text: string }
const onChat = (data: Chat, time: number, e: Engine, frame: Frame<Chat>) => {
  const t: string = data.text;
  const seq: number | undefined = frame.seq;
  const ev: string | undefined = frame.event;
};
Engine.on<Chat>('chat', onChat, null, { history: 20 });
Engine.on('room.typing', (data, time) => { time.toFixed(); });
Engine.on({ start: (cId) => cId.length, news: (data: unknown) => {} }, null);
const added: boolean = Engine.addListener('chat', onChat);
const removed: boolean = Engine.removeListener('chat', onChat) && Engine.un<Chat>('chat', onChat);

Engine.send('chat', { text: 'hi' });
Engine.send('chat', { text: 'hi' }, (err, report) => { if (!err && report) { const n: number = report.delivered + report.seq; } });
Engine.send('room', { text: 'hi' }, { event: 'typing' }, (err: Error | null, report: SendReport | null) => {});
Engine.count('chat', (err, counts: CountReport | null) => { if (counts) counts.connections + counts.users; });
// @ts-expect-error: count needs its callback
Engine.count('chat');
Engine.stop('bye');
Engine.stop();

const conn: Connector = Engine.getConnector();
const style: WorkStyle | '' = conn.workStyle;
const fields: [string, string[], boolean, string, string, number, string, number, string[]] =
  [conn.cId, conn.channels, conn.running, conn.url, conn.param, conn.lastSeq, conn.epoch, conn.resume, conn.refused];
conn.streamProbeTimeout = 0;
conn.wsOpenTimeout = 3000;
const state: 'connected' | string = conn.getState() === JS.Connector.State.CONNECTED ? conn.state : '';
Engine.on('transport', (info, e) => { info.name === 'websocket' && info.previous !== 'lpool' && info.reason === 'open-timeout'; e.getConnector(); });
conn.on('transport', (info) => info.reason === JS.Connector.Reason.UPGRADE);
conn.on('wake', (reason, c) => { reason === 'online' && c.getState() === 'reconnecting'; });
Engine.start('/conn', '', { wsOpenTimeout: 5000, upgradeAfter: 10000 });
conn.on('beforeConnect', (url) => url !== '/nowhere');
conn.on('message', (channel, data, time, c, frame) => { frame.channel === channel; });
conn.on({ revival: (url, cId) => {}, connect: (cId, channels, ws, timeout) => { timeout.toFixed(); } });

JS.AJAX.post('/api', 'a=1', (xhr) => xhr.status, null);
JS.AJAX.get('/api', null, (xhr: XMLHttpRequest) => xhr.responseText, null, false);
const el = {} as HTMLElement;
const onClick = (e: Event) => e.type;
JS.on(el, 'click', onClick);
JS.un(el, 'click', onClick);
const x: unknown = 'a';
if (JS.isString(x)) x.toUpperCase();
if (JS.isArray(x)) x.length;
const merged: { a: number } & { b: string } = JS.apply({ a: 1 }, { b: 'x' });
const own = new JS.Observable();
own.fireEvent('anything', 1, 2) === true;

// The global, as a script tag sets it.
globalThis.JS.Engine.start('/conn');
window.JS.Engine.on('news', (data) => {});

export { same, version, engine, master, options, added, removed, style, fields, merged, state };
// @ts-expect-error: start's first argument is the connection id, not channel data
Engine.on('start', (data: Chat) => {});
// @ts-expect-error: the same, whatever the case
Engine.on('Start', (data: Chat) => {});
const someName: string = ['news', 'hello'][0];
Engine.on(someName, (data) => {}); // a name known at run time only
