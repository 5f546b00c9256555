// Compiled by test/package.test.js with tsc --noEmit --strict: a page that loads the client with a
// script tag and uses the global JS (no import: this file is a script).
/// <reference path="../types/comet4j.d.ts" />

JS.Engine.on('start', function (cId: string, channels: string[]) { console.log(cId, channels.length); });
JS.Engine.on('hello', function (data, time, engine, frame) { console.log(data, time, engine.getId(), frame.seq); });
JS.Engine.start('/conn', '', { shareTabs: true });
JS.Engine.getConnector().on('beforeStop', function () { return false; });
if (JS.Engine.isMaster()) JS.Engine.send('hello', 'hi', function (err) { if (err) console.log(err.message); });
// @ts-expect-error: send takes a channel name
JS.Engine.send(42, 'hi');
