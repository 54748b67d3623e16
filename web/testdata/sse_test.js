// Unit tests of ../static/sse.js, run by TestSSEParser with node.
'use strict';
const assert = require('assert');
const { SSEParser, EventStream } = require('../static/sse.js');

let failed = 0;
function test(name, fn) {
  return Promise.resolve().then(fn).then(
    () => console.log('ok   ' + name),
    (err) => { failed++; console.log('FAIL ' + name + '\n' + (err && err.stack || err)); });
}

function parse(chunks) {
  const out = [];
  const p = new SSEParser((ev) => out.push(ev));
  chunks.forEach((c) => p.push(c));
  return { out, p };
}

const cases = [
  ['one frame', ['id: 1\nevent: message.created\ndata: {"a":1}\n\n'],
    [{ id: '1', type: 'message.created', data: '{"a":1}' }]],
  ['split anywhere', ['id: 2\nev', 'ent: x\nda', 'ta: hel', 'lo\n', '\n'],
    [{ id: '2', type: 'x', data: 'hello' }]],
  ['CRLF and CR line ends, CRLF split across chunks', ['id: 3\r', '\ndata: a\r\rid: 4\r\ndata: b\r\n\r\n'],
    [{ id: '3', type: 'message', data: 'a' }, { id: '4', type: 'message', data: 'b' }]],
  ['heartbeat comments ignored', [': heartbeat\n\n: heartbeat\n\nid: 5\ndata: x\n\n'],
    [{ id: '5', type: 'message', data: 'x' }]],
  ['multi-line data joined with LF', ['data: a\ndata: b\ndata\n\n'], [{ id: '', type: 'message', data: 'a\nb\n' }]],
  ['only one leading space dropped', ['data:  two\ndata:none\n\n'], [{ id: '', type: 'message', data: ' two\nnone' }]],
  ['no dispatch without blank line', ['id: 9\ndata: x\n'], []],
  ['id without data sets last id only', ['id: 7\n\ndata: y\n\n'], [{ id: '7', type: 'message', data: 'y' }]],
  ['event type resets per frame', ['event: a\ndata: 1\n\ndata: 2\n\n'],
    [{ id: '', type: 'a', data: '1' }, { id: '', type: 'message', data: '2' }]],
  ['unicode text', ['data: 我的订单还没到\n\n'], [{ id: '', type: 'message', data: '我的订单还没到' }]],
];

function streamOf(chunks) {
  const enc = new TextEncoder();
  let i = 0;
  return { getReader: () => ({ read: () => Promise.resolve(i < chunks.length ? { done: false, value: enc.encode(chunks[i++]) } : { done: true }) }) };
}

function response(status, body, ctype) {
  return {
    ok: status >= 200 && status < 300, status, statusText: 'x',
    headers: { get: () => ctype },
    body: Array.isArray(body) ? streamOf(body) : null,
    text: () => Promise.resolve(typeof body === 'string' ? body : ''),
  };
}

(async () => {
  for (const [name, chunks, want] of cases) {
    await test('parser: ' + name, () => assert.deepStrictEqual(parse(chunks).out, want));
  }
  await test('parser: retry field', () => assert.strictEqual(parse(['retry: 5000\n\n']).p.retry, 5000));

  await test('stream: resumes with Last-Event-ID and backs off', async () => {
    const calls = [];
    const timers = [];
    const events = [];
    const states = [];
    const replies = [
      response(200, ['id: 10\nevent: e\ndata: {}\n\n', 'id: 11\ndata: {}\n\n'], 'text/event-stream'),
      response(503, '{"error":{"code":"unavailable","message":"down"}}', 'application/json'),
      response(200, ['id: 12\ndata: {}\n\n'], 'text/event-stream'),
    ];
    const s = new EventStream({
      url: '/api/v1/events',
      headers: () => ({ Authorization: 'Bearer t' }),
      onEvent: (ev) => events.push(ev.id),
      onState: (st, info) => states.push(st + (info.delay !== undefined ? ':' + info.delay : '') + (info.resumed ? ':resumed' : '')),
      fetch: (url, init) => { calls.push(Object.assign({}, init.headers)); return Promise.resolve(replies.shift() || new Promise(() => {})); },
      setTimeout: (fn, ms) => { timers.push(ms); setImmediate(fn); return timers.length; },
      clearTimeout: () => {},
      random: () => 1,
    });
    s.start();
    for (let i = 0; i < 50 && (events.length < 3 || calls.length < 4); i++) await new Promise((r) => setImmediate(r));
    s.close();
    assert.deepStrictEqual(events, ['10', '11', '12']);
    assert.strictEqual(calls[0]['Last-Event-ID'], undefined);
    assert.strictEqual(calls[0].Authorization, 'Bearer t');
    assert.strictEqual(calls[1]['Last-Event-ID'], '11');
    assert.strictEqual(calls[2]['Last-Event-ID'], '11');
    assert.strictEqual(calls[3]['Last-Event-ID'], '12');
    // first drop after data: attempt 1 (1 s); the 503: attempt 2 (2 s); then reset after data.
    assert.deepStrictEqual(timers.slice(0, 3), [1000, 2000, 1000]);
    assert.ok(states.indexOf('open') >= 0 && states.indexOf('open:resumed') >= 0, states.join(','));
    assert.strictEqual(states[states.length - 1], 'closed');
  });

  await test('stream: 401 stops and reports', async () => {
    let auth = null;
    const s = new EventStream({
      url: '/e', onEvent: () => {}, onAuthError: (e) => { auth = e; },
      fetch: () => Promise.resolve(response(401, '{"error":{"code":"unauthorized","message":"bad token"}}', 'application/json')),
      setTimeout: () => { throw new Error('must not retry'); }, clearTimeout: () => {},
    });
    s.start();
    for (let i = 0; i < 10 && !auth; i++) await new Promise((r) => setImmediate(r));
    assert.ok(auth, 'no auth error');
    assert.strictEqual(auth.code, 'unauthorized');
    assert.strictEqual(auth.message, 'bad token');
  });

  await test('stream: backoff is capped at 30 s', () => {
    const s = new EventStream({ url: '/e', onEvent: () => {}, fetch: () => {}, setTimeout: () => {}, clearTimeout: () => {}, random: () => 1 });
    assert.strictEqual(s.delay(1), 1000);
    assert.strictEqual(s.delay(3), 4000);
    assert.strictEqual(s.delay(50), 30000);
    const low = new EventStream({ url: '/e', onEvent: () => {}, fetch: () => {}, setTimeout: () => {}, clearTimeout: () => {}, random: () => 0 });
    assert.strictEqual(low.delay(50), 15000);
  });

  if (failed) {
    console.log(failed + ' failed');
    process.exit(1);
  }
})();
