// Unit tests of ../static/app.js, run by TestConsoleApp with `node --test`.
//
// The console runs unchanged in a small fake browser: a DOM with just what
// app.js uses (and an innerHTML that throws, since the console must put API
// text into the page as text only), the element ids of ../static/index.html,
// a scripted fetch, sessionStorage, history, and timers the test fires by
// hand. Nothing here waits for wall-clock time.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { readError } = require('../static/sse.js');

// console.mjs is an ES module: loaded once, started once per fake browser.
let start;
test.before(async () => { ({ start } = await import('../static/console.mjs')); });
const INDEX = fs.readFileSync(path.join(__dirname, '../static/index.html'), 'utf8');

class Text {
  constructor(data) { this.data = String(data); this.parentNode = null; }
  get textContent() { return this.data; }
}

class Element {
  constructor(doc, tag) {
    this.ownerDocument = doc;
    this.tagName = tag.toUpperCase();
    this.childNodes = [];
    this.parentNode = null;
    this.attributes = {};
    this.dataset = {};
    this.listeners = {};
    this.cls = new Set();
    this.hidden = false;
    this.value = '';
    this.disabled = false;
    this.checked = false;
    this.title = '';
    this.scrollTop = 0;
    this.scrollHeight = 0;
    this.clientHeight = 0;
  }
  get className() { return [...this.cls].join(' '); }
  set className(v) { this.cls = new Set(String(v).split(/\s+/).filter(Boolean)); }
  get classList() {
    const s = this.cls;
    return {
      add: (...c) => c.forEach((x) => s.add(x)),
      remove: (...c) => c.forEach((x) => s.delete(x)),
      contains: (c) => s.has(c),
      toggle: (c, on) => {
        if (on === undefined) on = !s.has(c);
        if (on) s.add(c); else s.delete(c);
        return on;
      },
    };
  }
  get firstChild() { return this.childNodes[0] || null; }
  appendChild(n) {
    if (n.parentNode) n.parentNode.removeChild(n);
    n.parentNode = this;
    this.childNodes.push(n);
    return n;
  }
  removeChild(n) {
    const i = this.childNodes.indexOf(n);
    if (i < 0) throw new Error('removeChild: not a child');
    this.childNodes.splice(i, 1);
    n.parentNode = null;
    return n;
  }
  get textContent() { return this.childNodes.map((c) => c.textContent).join(''); }
  set textContent(v) {
    this.childNodes.slice().forEach((c) => this.removeChild(c));
    if (v !== '' && v !== null && v !== undefined) this.appendChild(new Text(v));
  }
  get innerHTML() { throw new Error('the console must not read innerHTML'); }
  set innerHTML(v) { throw new Error('the console must not parse HTML: innerHTML = ' + v); }
  insertAdjacentHTML() { throw new Error('the console must not parse HTML'); }
  setAttribute(k, v) { this.attributes[k] = String(v); }
  // Of a <select>: its options, and remove(i).
  get options() { return this.childNodes.filter((c) => c.tagName === 'OPTION'); }
  remove(i) { this.removeChild(this.options[i]); }
  getAttribute(k) { return k in this.attributes ? this.attributes[k] : null; }
  get href() { return this.getAttribute('href'); }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  dispatch(type, props) {
    const ev = Object.assign({ type, target: this, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } }, props);
    (this.listeners[type] || []).forEach((fn) => fn(ev));
    return ev;
  }
  focus() { this.ownerDocument.activeElement = this; }
  blur() { if (this.ownerDocument.activeElement === this) this.ownerDocument.activeElement = null; }
  // Only what app.js asks for: ".class".
  querySelectorAll(sel) {
    assert.match(sel, /^\.[\w-]+$/, 'selector ' + sel);
    return all(this).filter((e) => e.cls.has(sel.slice(1)));
  }
}

// all lists the elements under root, depth first.
function all(root) {
  const out = [];
  (function walk(n) {
    for (const c of n.childNodes) {
      if (c instanceof Element) {
        out.push(c);
        walk(c);
      }
    }
  })(root);
  return out;
}

// page builds the fake browser from index.html's ids and hidden flags.
function page() {
  const doc = {
    readyState: 'complete',
    activeElement: null,
    listeners: {},
    byId: {},
    createElement(tag) { return new Element(doc, tag); },
    createElementNS(ns, tag) { const el = new Element(doc, tag); el.namespaceURI = ns; return el; },
    createTextNode(t) { return new Text(t); },
    getElementById(id) { return doc.byId[id] || null; },
    querySelectorAll(sel) { return doc.body.querySelectorAll(sel); },
    addEventListener(type, fn) { (doc.listeners[type] = doc.listeners[type] || []).push(fn); },
  };
  doc.body = new Element(doc, 'body');
  for (const m of INDEX.matchAll(/<(\w+)\s([^>]*?)\bid="([^"]+)"([^>]*)>/g)) {
    const el = new Element(doc, m[1]);
    el.id = m[3];
    el.hidden = /\shidden(\s|$|=)/.test(' ' + m[2] + ' ' + m[4] + ' ');
    doc.byId[m[3]] = el;
    doc.body.appendChild(el);
  }
  for (const m of INDEX.matchAll(/class="seg-btn" data-status="(\w+)"/g)) {
    const b = new Element(doc, 'button');
    b.className = 'seg-btn';
    b.dataset.status = m[1];
    doc.body.appendChild(b);
  }
  return doc;
}

function json(status, body) {
  return {
    ok: status >= 200 && status < 300, status, statusText: 'status ' + status,
    headers: { get: () => 'application/json' },
    json: () => Promise.resolve(JSON.parse(JSON.stringify(body))),
    text: () => Promise.resolve(JSON.stringify(body)),
  };
}

// boot runs app.js in a fresh fake browser. routes maps "METHOD /path"
// (without the query) to a function of the request returning a response,
// or a response, or a promise of one.
function boot({ url = '/', routes = {}, storage = {} } = {}) {
  const doc = page();
  const u = new URL(url, 'http://hub.test');
  const location = { pathname: u.pathname, search: u.search, hash: u.hash };
  const b = {
    doc,
    location,
    calls: [],
    timers: [],
    replaced: [],
    stream: null,
    storage: Object.assign({}, storage),
  };
  const history = {
    replaceState(_s, _t, to) { b.replaced.push(to); const n = new URL(to, 'http://hub.test'); location.pathname = n.pathname; location.search = n.search; location.hash = ''; },
    pushState(_s, _t, to) { const n = new URL(to, 'http://hub.test'); location.pathname = n.pathname; location.search = n.search; location.hash = ''; },
  };
  const sessionStorage = {
    getItem: (k) => (k in b.storage ? b.storage[k] : null),
    setItem: (k, v) => { b.storage[k] = String(v); },
    removeItem: (k) => { delete b.storage[k]; },
  };
  const fetch = (to, init) => {
    const n = new URL(to, 'http://hub.test');
    const call = { method: init.method, path: n.pathname, query: n.search, headers: init.headers,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body };
    b.calls.push(call);
    const route = routes[call.method + ' ' + call.path] || DEFAULT_ROUTES[call.method + ' ' + call.path];
    if (!route) return Promise.resolve(json(404, { error: { code: 'not_found', message: 'no route ' + call.path } }));
    return Promise.resolve(typeof route === 'function' ? route(call) : route);
  };
  class EventStream {
    constructor(opts) { this.opts = opts; b.stream = this; }
    start() { this.started = true; }
    close() { this.closed = true; }
  }
  b.blobs = [];
  const win = {
    location, history, sessionStorage,
    Blob: class { constructor(parts, opts) { this.text = parts.join(''); this.type = opts.type; } },
    // blob: URLs: of the CSV export, and of files the API served (media.js), named by their tag.
    URL: { createObjectURL: (blob) => { b.blobs.push(blob); return 'blob:hub.test/' + (blob.tag || b.blobs.length); }, revokeObjectURL() {} },
    matchMedia: () => ({ matches: false }),
    listeners: {},
    addEventListener(type, fn) { (win.listeners[type] = win.listeners[type] || []).push(fn); },
    // Files (media.js): multipart bodies.
    FormData: class { constructor() { this.parts = []; } append(k, v, name) { this.parts.push([k, name === undefined ? v : name]); } },
  };
  b.win = win;
  start({
    document: doc, window: win, fetch, EventStream, readError,
    setTimeout: (fn) => { b.timers.push(fn); return b.timers.length; },
    clearTimeout: () => {},
    setInterval: () => 0,
    now: () => new Date(NOW),
  });
  b.el = (id) => doc.getElementById(id);
  // event delivers one event from the stream, as EventStream would.
  b.event = (type, conversationID, data) => b.stream.opts.onEvent({ type, data: JSON.stringify({ type, conversation_id: conversationID, data }) });
  // fireTimers runs the timers set so far (the 400 ms refresh debounce).
  b.fireTimers = () => { const t = b.timers.splice(0); t.forEach((fn) => fn()); };
  return b;
}

// settle lets the promise chains of scripted fetches run to their end.
async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

// DEFAULT_ROUTES answer what a test does not script: the work queues.
const DEFAULT_ROUTES = {
  'GET /api/v1/views': () => json(200, { me: 'ana', views: [{ id: 'mine', count: 0 }, { id: 'unassigned', count: 1 },
    { id: 'human', count: 0 }, { id: 'waiting', count: 1 }, { id: 'all', count: 1 }] }),
};

function list(convs) { return json(200, { conversations: convs, next_cursor: null }); }
function messages(ms) { return json(200, { messages: ms, next_cursor: null }); }

const T0 = '2026-11-02T09:00:00Z';
const NOW = '2026-11-02T09:30:00Z'; // the fake browser's clock
function conversation(id, over) {
  return Object.assign({
    id, status: 'open', priority: 'normal', assignee: null, team: null, subject: 'My order',
    last_message_at: T0, created_at: T0, updated_at: T0,
    contact: { id: 'c' + id, name: 'Ana Li', identities: [{ id: 'i' + id, channel: 'telegram', connector: 'tg', external_id: '1001', display_name: 'Ana Li', reply_until: null, reachable: true }] },
  }, over);
}
function message(id, over) {
  return Object.assign({
    id, conversation_id: '7', direction: 'in', kind: 'message', channel: 'telegram', connector: 'tg',
    sender: { type: 'customer', id: 'c7', name: 'Ana Li' }, text: 'hello', private: false, attachments: [],
    buttons: [], delivery: { status: 'received', error: null }, created_at: T0,
  }, over);
}

// openConversation boots the console on /c/7 with a signed-in token.
async function openConversation(msgs, routes) {
  const b = boot({
    url: '/c/7',
    storage: { 'tongdao.token': 'tdk_test' },
    routes: Object.assign({
      'GET /api/v1/conversations': list([conversation('7')]),
      'GET /api/v1/conversations/7': json(200, conversation('7')),
      'GET /api/v1/conversations/7/messages': messages(msgs),
    }, routes),
  });
  await settle();
  return b;
}

test('a token in the URL fragment signs in and leaves the address bar and history', async () => {
  const b = boot({ url: '/#token=tdk_abc%2B1', routes: { 'GET /api/v1/conversations': list([]) } });
  await settle();
  assert.strictEqual(b.storage['tongdao.token'], 'tdk_abc+1');
  assert.deepStrictEqual(b.replaced, ['/']);
  assert.strictEqual(b.location.hash, '');
  assert.strictEqual(b.el('app').hidden, false);
  assert.strictEqual(b.el('signin').hidden, true);
  assert.ok(b.calls.length > 0);
  for (const c of b.calls) assert.strictEqual(c.headers.Authorization, 'Bearer tdk_abc+1', c.path);
  assert.ok(b.stream && b.stream.started, 'the event stream was not started');
  assert.deepStrictEqual({ ...b.stream.opts.headers() }, { Authorization: 'Bearer tdk_abc+1' });
});

test('without a token the sign-in form is shown and nothing is fetched', async () => {
  const b = boot();
  await settle();
  assert.strictEqual(b.el('signin').hidden, false);
  assert.strictEqual(b.el('app').hidden, true);
  assert.deepStrictEqual(b.calls, []);
  b.el('signin-token').value = '  tdk_pasted ';
  b.el('signin-form').dispatch('submit');
  await settle();
  assert.strictEqual(b.storage['tongdao.token'], 'tdk_pasted');
  assert.strictEqual(b.calls[0].headers.Authorization, 'Bearer tdk_pasted');
});

test('text from the API is shown as text, never parsed as HTML', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  const b = await openConversation([message('1', { text: evil, sender: { type: 'customer', id: 'c7', name: '<b>Ana</b>' } })], {
    'GET /api/v1/conversations': list([conversation('7', { subject: evil })]),
  });
  assert.strictEqual(b.el('list-error').hidden, true, b.el('list-error').textContent);
  assert.ok(b.el('conv-list').textContent.includes(evil), b.el('conv-list').textContent);
  assert.ok(b.el('timeline').textContent.includes(evil));
  assert.ok(b.el('timeline').textContent.includes('<b>Ana</b>'));
  const tags = new Set(all(b.doc.body).map((e) => e.tagName));
  assert.ok(!tags.has('IMG') && !tags.has('B'), 'API text became elements: ' + [...tags]);
});

test('only http(s) attachment URLs become links', async () => {
  const b = await openConversation([message('1', {
    attachments: [
      { type: 'document', name: 'invoice.pdf', url: 'javascript:alert(1)' },
      { type: 'image', name: 'photo.png', url: 'https://files.example/photo.png' },
    ],
  })]);
  const links = all(b.el('timeline')).filter((e) => e.tagName === 'A');
  assert.deepStrictEqual(links.map((a) => a.href), ['https://files.example/photo.png']);
  assert.strictEqual(links[0].getAttribute('rel'), 'noopener noreferrer');
  assert.ok(b.el('timeline').textContent.includes('document: invoice.pdf'));
});

test('a token the API refuses signs out and says why', async () => {
  const b = boot({
    storage: { 'tongdao.token': 'tdk_revoked' },
    routes: { 'GET /api/v1/conversations': json(401, { error: { code: 'unauthorized', message: 'the token was revoked' } }) },
  });
  await settle();
  assert.strictEqual(b.el('signin').hidden, false);
  assert.strictEqual(b.el('app').hidden, true);
  assert.ok(b.el('signin-error').textContent.includes('the token was revoked'), b.el('signin-error').textContent);
  assert.strictEqual(b.storage['tongdao.token'], undefined);
  assert.ok(b.stream.closed, 'the event stream was left open');
});

test('a reply is posted and shown; its late "queued" answer does not undo "sent"', async () => {
  let answer;
  const b = await openConversation([message('1')], {
    'POST /api/v1/conversations/7/messages': () => new Promise((resolve) => { answer = resolve; }),
  });
  b.el('reply-text').value = 'It ships today.';
  b.el('reply-form').dispatch('submit');
  await settle();
  const post = b.calls.find((c) => c.method === 'POST');
  assert.deepStrictEqual(post.body, { text: 'It ships today.', private: false });
  assert.strictEqual(b.el('reply-send').disabled, true);
  // The outbox is faster than the 202: the event saying "sent" comes first.
  const out = message('2', { direction: 'out', text: 'It ships today.', sender: { type: 'agent', id: 'ana', name: 'ana' } });
  b.event('message.created', '7', Object.assign({}, out, { delivery: { status: 'sent', error: null, attempts: 1 } }));
  answer(json(202, Object.assign({}, out, { delivery: { status: 'queued', error: null, attempts: 0 } })));
  await settle();
  const tl = b.el('timeline').textContent;
  assert.ok(tl.includes('It ships today.'), tl);
  assert.ok(tl.includes('sent') && !tl.includes('queued'), tl);
  assert.strictEqual(b.el('reply-text').value, '');
  assert.strictEqual(b.el('reply-send').disabled, false);
});

test('Enter sends, Shift+Enter and Enter ending an IME composition do not', async () => {
  const b = await openConversation([], {
    'POST /api/v1/conversations/7/messages': json(202, message('3', { direction: 'out', text: '你好', delivery: { status: 'queued', error: null } })),
  });
  const posts = () => b.calls.filter((c) => c.method === 'POST').length;
  b.el('reply-text').value = '你好';
  b.el('reply-text').dispatch('keydown', { key: 'Enter', isComposing: true, keyCode: 229 });
  b.el('reply-text').dispatch('keydown', { key: 'Enter', shiftKey: true });
  await settle();
  assert.strictEqual(posts(), 0);
  b.el('reply-text').dispatch('keydown', { key: 'Enter' });
  await settle();
  assert.strictEqual(posts(), 1);
});

test('events update the open timeline and the rows from their payloads, without reloading the list', async () => {
  const b = await openConversation([message('1')], {
    'GET /api/v1/conversations/8': json(200, conversation('8', { subject: 'Where is my refund?', last_message_at: '2026-11-02T09:20:00Z' })),
  });
  const listLoads = () => b.calls.filter((c) => c.path === '/api/v1/conversations').length;
  const before = listLoads();
  b.event('message.created', '7', message('4', { text: 'are you there?', created_at: '2026-11-02T09:10:00Z' }));
  b.event('message.created', '8', message('5', { conversation_id: '8', text: 'another customer', created_at: '2026-11-02T09:20:00Z' }));
  assert.ok(b.el('timeline').textContent.includes('are you there?'));
  assert.ok(!b.el('timeline').textContent.includes('another customer'));
  await settle();
  const rows = all(b.el('conv-list')).filter((e) => e.cls.has('conv-row'));
  assert.deepStrictEqual(rows.map((r) => r.dataset.id), ['8', '7'], 'the new conversation goes first');
  assert.ok(rows[1].textContent.includes('← Customer: are you there?'), rows[1].textContent);
  assert.ok(rows[0].textContent.includes('#8') && rows[0].textContent.includes('Where is my refund?'), rows[0].textContent);
  assert.strictEqual(b.calls.filter((c) => c.path === '/api/v1/conversations/8').length, 1, 'one read of the new row');
  b.fireTimers(); // the debounced counts and conversation refresh
  await settle();
  assert.strictEqual(listLoads(), before, 'an event reloaded the whole list');
  assert.strictEqual(b.calls.filter((c) => c.path === '/api/v1/views').length, 2, 'two events, one count refresh');
});

test('a failed delivery shows the platform\'s reason', async () => {
  const b = await openConversation([message('6', {
    direction: 'out', text: 'Still there?', sender: { type: 'agent', id: 'ana', name: 'ana' },
    delivery: { status: 'failed', error: 'the customer\'s DMs are closed (50007)', attempts: 1 },
  })]);
  assert.ok(b.el('timeline').textContent.includes('failed: the customer\'s DMs are closed (50007)'));
});

// noteMode reports what the agent sees of the composer's note mode.
function noteMode(b) {
  return {
    checked: b.el('reply-private').checked,
    styled: b.el('reply-form').classList.contains('reply-private'),
    warning: !b.el('reply-note-warning').hidden,
    button: b.el('reply-send').textContent,
  };
}
const NOTE_OFF = { checked: false, styled: false, warning: false, button: 'Send' };
const NOTE_ON = { checked: true, styled: true, warning: true, button: 'Add private note' };

test('the private-note toggle is unmistakable while on and off again after a send', async () => {
  const b = await openConversation([message('1')], {
    'POST /api/v1/conversations/7/messages': (call) => json(202, message('9', { direction: 'out', text: call.body.text, private: call.body.private,
      sender: { type: 'agent', id: 'ana', name: 'ana' }, delivery: { status: call.body.private ? 'sent' : 'queued', error: null } })),
  });
  assert.deepStrictEqual(noteMode(b), NOTE_OFF);
  b.el('reply-private').checked = true;
  b.el('reply-private').dispatch('change');
  assert.deepStrictEqual(noteMode(b), NOTE_ON);
  b.el('reply-text').value = 'customer sounded angry';
  b.el('reply-form').dispatch('submit');
  await settle();
  const posts = b.calls.filter((c) => c.method === 'POST');
  assert.strictEqual(posts[0].body.private, true);
  assert.deepStrictEqual(noteMode(b), NOTE_OFF, 'note mode stayed on after the note was sent');
  b.el('reply-text').value = 'It ships today.';
  b.el('reply-form').dispatch('submit');
  await settle();
  assert.strictEqual(b.calls.filter((c) => c.method === 'POST')[1].body.private, false);
});

test('switching conversations turns the private-note toggle off', async () => {
  const b = await openConversation([message('1')], {
    'GET /api/v1/conversations': list([conversation('7'), conversation('8')]),
    'GET /api/v1/conversations/8': json(200, conversation('8')),
    'GET /api/v1/conversations/8/messages': messages([]),
    'POST /api/v1/conversations/8/messages': (call) => json(202, message('9', { conversation_id: '8', direction: 'out', text: call.body.text })),
  });
  b.el('reply-private').checked = true;
  b.el('reply-private').dispatch('change');
  assert.deepStrictEqual(noteMode(b), NOTE_ON);
  const row8 = all(b.el('conv-list')).find((e) => e.dataset.id === '8');
  row8.dispatch('click');
  await settle();
  assert.deepStrictEqual(noteMode(b), NOTE_OFF, 'note mode survived the switch to another customer');
  b.el('reply-text').value = 'Hello, how can I help?';
  b.el('reply-form').dispatch('submit');
  await settle();
  const post = b.calls.find((c) => c.method === 'POST');
  assert.strictEqual(post.path, '/api/v1/conversations/8/messages');
  assert.strictEqual(post.body.private, false);
});

function viewCounts(counts) {
  return json(200, { me: 'ana', views: ['mine', 'unassigned', 'human', 'waiting', 'all'].map((id) => ({ id, count: counts[id] || 0 })) });
}
function tabs(b) {
  return all(b.el('views')).filter((e) => e.cls.has('view-tab')).map((t) => ({ view: t.dataset.view, text: t.textContent, active: t.cls.has('active') }));
}
function rowIds(b) { return all(b.el('conv-list')).filter((e) => e.cls.has('conv-row')).map((r) => r.dataset.id); }

test('the work queues show their counts; "Mine" is the default for an agent with an assignment', async () => {
  const b = boot({
    storage: { 'tongdao.token': 'tdk_test' },
    routes: {
      'GET /api/v1/views': viewCounts({ mine: 2, unassigned: 5, human: 1, waiting: 3, all: 9 }),
      'GET /api/v1/conversations': (call) => list(call.query.includes('view=mine') ? [conversation('7', { assignee: 'ana' })] : [conversation('8')]),
    },
  });
  await settle();
  assert.deepStrictEqual(tabs(b), [
    { view: 'mine', text: 'Mine2', active: true },
    { view: 'unassigned', text: 'Unassigned5', active: false },
    { view: 'human', text: 'Asked for a human1', active: false },
    { view: 'waiting', text: 'Waiting for reply3', active: false },
    { view: 'all', text: 'All9', active: false },
  ]);
  assert.strictEqual(b.el('me').textContent, 'ana');
  assert.deepStrictEqual(rowIds(b), ['7']);
  all(b.el('views')).find((e) => e.dataset.view === 'waiting').dispatch('click');
  await settle();
  const last = b.calls.filter((c) => c.path === '/api/v1/conversations').pop();
  assert.ok(last.query.includes('view=waiting'), last.query);
  assert.deepStrictEqual(rowIds(b), ['8']);
  assert.strictEqual(JSON.parse(b.storage['tongdao.filters']).view, 'waiting');
});

test('without an assignment the default view is "Unassigned"', async () => {
  const b = boot({ storage: { 'tongdao.token': 'tdk_test' }, routes: { 'GET /api/v1/conversations': list([]) } });
  await settle();
  assert.ok(b.calls.find((c) => c.path === '/api/v1/conversations').query.includes('view=unassigned'));
});

test('a row leaves the view when an event assigns it to someone else', async () => {
  const b = await openConversation([message('1')], {
    'GET /api/v1/conversations': list([conversation('7'), conversation('8')]),
  });
  assert.deepStrictEqual(rowIds(b), ['7', '8']);
  b.event('conversation.updated', '8', { id: '8', changes: { assignee: 'bo' }, by: 'bo' });
  await settle();
  assert.deepStrictEqual(rowIds(b), ['7'], 'an assigned conversation stayed in "Unassigned"');
  // The open one stays while the agent works on it, with its new assignee.
  b.event('conversation.updated', '7', { id: '7', changes: { assignee: 'bo' }, by: 'bo' });
  await settle();
  assert.deepStrictEqual(rowIds(b), ['7']);
  assert.ok(b.el('conv-list').textContent.includes('bo'));
  b.event('conversation.updated', '7', { id: '7', changes: { labels: ['vip'] }, by: 'bo' });
  await settle();
  const labels = all(b.el('conv-list')).filter((e) => e.cls.has('flag-label')).map((e) => e.textContent);
  assert.deepStrictEqual(labels, ['vip']);
});

test('the ticket number and subject head the conversation; each row shows its ticket number', async () => {
  const b = await openConversation([message('1')], {
    'GET /api/v1/conversations/7': json(200, conversation('7', { subject: 'My order #42 has not arrived' })),
  });
  assert.strictEqual(b.el('conv-ticket').textContent, '#7');
  assert.strictEqual(b.el('conv-subject').textContent, 'My order #42 has not arrived');
  assert.ok(b.el('conv-list').textContent.startsWith('#7'), b.el('conv-list').textContent);
});

test('a WeChat numbered answer and a button click show the chosen button\'s label', async () => {
  const offer = (id) => message(id, { direction: 'out', kind: 'message', text: 'How can I help?', sender: { type: 'bot', id: '', name: 'Bot' },
    buttons: [{ id: 'faq', label: 'Read the FAQ' }, { id: 'human', label: 'Talk to a person' }], delivery: { status: 'sent', error: null } });
  const b = await openConversation([
    message('0', { kind: 'action', channel: 'wechat', text: '1' }), // the welcome's offer is not in the timeline
    offer('1'),
    message('2', { kind: 'action', channel: 'wechat', text: '2' }),
    offer('3'),
    message('4', { kind: 'action', text: '[chose: faq]' }),
  ]);
  const chosen = all(b.el('timeline')).filter((e) => e.cls.has('chip-chosen')).map((e) => e.textContent);
  assert.deepStrictEqual(chosen, ['1', 'Talk to a person', 'Read the FAQ']);
  assert.ok(b.el('timeline').textContent.includes('Chose option 1'), b.el('timeline').textContent);
});

const EARLIER = { last_message_at: '2026-11-02T08:00:00Z' };

test('keyboard: j/k move, n writes a note, r a reply, e resolves, a assigns to me, ? shows the shortcuts', async () => {
  const b = await openConversation([message('1')], {
    'GET /api/v1/conversations': list([conversation('7'), conversation('8', EARLIER)]),
    'GET /api/v1/conversations/8': json(200, conversation('8', EARLIER)),
    'GET /api/v1/conversations/8/messages': messages([]),
    'POST /api/v1/conversations/8/status': (call) => json(200, conversation('8', Object.assign({ status: call.body.status }, EARLIER))),
    'POST /api/v1/conversations/8/assign': (call) => json(200, conversation('8', Object.assign({ assignee: call.body.assignee }, EARLIER))),
  });
  const key = (k, target) => b.doc.listeners.keydown.forEach((fn) => fn({ key: k, target: target || b.doc.body, preventDefault() {} }));
  key('j');
  await settle();
  assert.strictEqual(b.location.pathname, '/c/8');
  key('n', b.el('conv-list'));
  assert.deepStrictEqual(noteMode(b), NOTE_ON);
  assert.strictEqual(b.doc.activeElement, b.el('reply-text'));
  key('e', b.el('reply-text')); // typing: not a shortcut
  key('r');
  assert.deepStrictEqual(noteMode(b), NOTE_OFF);
  key('e');
  key('a');
  await settle();
  const posts = b.calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.body]);
  assert.deepStrictEqual(posts, [
    ['/api/v1/conversations/8/status', { status: 'resolved' }],
    ['/api/v1/conversations/8/assign', { assignee: 'ana' }],
  ]);
  assert.strictEqual(b.el('shortcuts').hidden, true);
  key('?');
  assert.strictEqual(b.el('shortcuts').hidden, false);
  assert.ok(b.el('shortcuts-list').textContent.includes('Assign to me'));
  key('Escape');
  assert.strictEqual(b.el('shortcuts').hidden, true);
  key('k');
  await settle();
  assert.strictEqual(b.location.pathname, '/c/7');
});

test('a new customer message in the open conversation is announced to screen readers', async () => {
  const b = await openConversation([message('1')]);
  b.event('message.created', '7', message('4', { text: 'are you there?' }));
  assert.strictEqual(b.el('announcer').textContent, 'New message from Ana Li: are you there?');
});

test('events about a conversation outside the view are applied to the copy read once', async () => {
  const b = boot({
    storage: { 'tongdao.token': 'tdk_test' },
    routes: {
      'GET /api/v1/views': viewCounts({ mine: 1 }),
      'GET /api/v1/conversations': list([conversation('7', { assignee: 'ana' })]),
      'GET /api/v1/conversations/9': json(200, conversation('9', { assignee: 'bo', subject: 'Printer on fire' })),
    },
  });
  await settle();
  const reads = () => b.calls.filter((c) => c.path === '/api/v1/conversations/9').length;
  b.event('message.created', '9', message('20', { conversation_id: '9', text: 'hello?' }));
  b.event('conversation.created', '9', { id: '9', contact_id: 'c9' });
  await settle();
  assert.strictEqual(reads(), 1, 'two events, one read');
  assert.deepStrictEqual(rowIds(b), ['7'], 'bo\'s conversation is not "mine"');
  b.event('message.created', '9', message('21', { conversation_id: '9', text: 'still burning' }));
  b.event('conversation.updated', '9', { id: '9', changes: { assignee: 'ana' }, by: 'bo' });
  await settle();
  assert.strictEqual(reads(), 1, 'the copy was read again');
  assert.deepStrictEqual(rowIds(b), ['9', '7'], 'assigned to ana, it joins "Mine" from the event alone');
  assert.ok(b.el('conv-list').textContent.includes('← Customer: still burning'), b.el('conv-list').textContent);
});

test('a conversation that arrives while the list is being read is not lost', async () => {
  let answer;
  const b = boot({
    storage: { 'tongdao.token': 'tdk_test' },
    routes: {
      'GET /api/v1/conversations': () => new Promise((resolve) => { answer = resolve; }),
      'GET /api/v1/conversations/9': json(200, conversation('9', { subject: 'Printer on fire', last_message_at: '2026-11-02T09:10:00Z' })),
    },
  });
  await settle();
  b.event('conversation.created', '9', { id: '9', contact_id: 'c9' });
  await settle();
  answer(list([conversation('7')])); // read before conversation 9 existed
  await settle();
  assert.deepStrictEqual(rowIds(b), ['9', '7']);
});

test('files: a stored photo is read with the token and shown as a thumbnail; pending and failed files, transcripts', async () => {
  const stored = { id: '5', type: 'image', name: 'parcel.jpg', content_type: 'image/jpeg', size: 2048, state: 'stored', error: null,
    url: '/api/v1/attachments/5', thumbnail_url: '/api/v1/attachments/5/thumbnail', transcript: null };
  const voice = { id: '6', type: 'audio', name: '', content_type: 'audio/amr', size: 900, state: 'failed',
    error: 'the file has expired on WeChat', url: null, thumbnail_url: null, transcript: '包裹坏了' };
  const pending = { id: '7', type: 'file', name: 'receipt.pdf', content_type: '', size: 0, state: 'pending', error: null,
    url: null, thumbnail_url: null, transcript: null };
  const b = await openConversation([message('1', { attachments: [stored, voice, pending] })], {
    'GET /api/v1/attachments/5/thumbnail': { ok: true, status: 200, blob: () => Promise.resolve({ tag: 'thumb5' }) },
  });
  await settle();
  const imgs = all(b.el('timeline')).filter((e) => e.tagName === 'IMG');
  assert.strictEqual(imgs.length, 1);
  assert.strictEqual(imgs[0].src, 'blob:hub.test/thumb5');
  const read = b.calls.find((c) => c.path === '/api/v1/attachments/5/thumbnail');
  assert.strictEqual(read.headers.Authorization, 'Bearer tdk_test');
  const text = b.el('timeline').textContent;
  assert.ok(text.includes('not available: the file has expired on WeChat'), text);
  assert.ok(text.includes('“包裹坏了”'), text);
  assert.ok(text.includes('File: receipt.pdf — fetching…'), text);
  assert.ok(!b.calls.some((c) => c.path === '/api/v1/attachments/6' || c.path === '/api/v1/attachments/7'), 'only stored files are read');
});

test('files: attached files are sent as multipart with the text', async () => {
  let posted;
  const b = await openConversation([message('1')], {
    'POST /api/v1/conversations/7/messages': (call) => { posted = call; return json(202, message('2', { direction: 'out', sender: { type: 'agent', name: 'ana' } })); },
  });
  const input = b.el('reply-file');
  input.files = [{ name: 'invoice.pdf', size: 10 }, { name: 'stamp.png', size: 20 }];
  input.dispatch('change');
  assert.ok(b.el('reply-files').textContent.includes('invoice.pdf'), b.el('reply-files').textContent);
  assert.strictEqual(b.el('reply-files').hidden, false);
  b.el('reply-text').value = 'Here you are';
  b.el('reply-form').dispatch('submit');
  await settle();
  assert.deepStrictEqual(posted.body.parts, [['text', 'Here you are'], ['file', 'invoice.pdf'], ['file', 'stamp.png']]);
  assert.strictEqual(posted.headers['Content-Type'], undefined, 'the browser sets the multipart boundary');
  assert.strictEqual(b.el('reply-files').hidden, true, 'the chosen files are cleared after the send');
});

// ---- canned replies, assign picker, labels, CSAT, SLA, unread, reports ---

const CANNED = [
  { id: '3', shortcut: 'refund', text: 'Hi {name}, {agent} here: ticket {ticket} is refunded.' },
  { id: '4', shortcut: 'thanks', text: 'Thank you!' },
];

function typeInto(b, id, value) {
  b.el(id).value = value;
  b.el(id).dispatch('input');
}
function keydown(b, id, key) { return b.el(id).dispatch('keydown', { key }); }
function items(b, id) { return all(b.el(id)).filter((e) => e.cls.has('picker-item')); }

test('"/" in the reply box offers canned replies; picked and sent unchanged, it goes as canned_id', async () => {
  const b = await openConversation([message('1')], {
    'GET /api/v1/canned': (call) => json(200, { canned: CANNED.filter((c) => !call.query || c.shortcut.includes(new URLSearchParams(call.query).get('q'))) }),
    'POST /api/v1/conversations/7/messages': (call) => json(202, message('9', { direction: 'out', text: 'x', sender: { type: 'agent', id: 'ana', name: 'ana' } })),
  });
  typeInto(b, 'reply-text', '/');
  b.fireTimers();
  await settle();
  assert.strictEqual(b.el('canned-picker').hidden, false);
  assert.deepStrictEqual(items(b, 'canned-picker').map((e) => e.dataset.id), ['3', '4']);
  assert.strictEqual(b.calls.filter((c) => c.path === '/api/v1/canned').pop().query, '', 'a bare "/" lists them all');
  typeInto(b, 'reply-text', '/tha');
  b.fireTimers();
  await settle();
  assert.strictEqual(b.calls.filter((c) => c.path === '/api/v1/canned').pop().query, '?q=tha');
  assert.deepStrictEqual(items(b, 'canned-picker').map((e) => e.dataset.id), ['4']);
  typeInto(b, 'reply-text', '/');
  b.fireTimers();
  await settle();
  keydown(b, 'reply-text', 'ArrowDown');
  keydown(b, 'reply-text', 'ArrowDown');
  assert.deepStrictEqual(items(b, 'canned-picker').map((e) => e.cls.has('active')), [true, false], 'wraps around');
  assert.strictEqual(b.el('reply-text').getAttribute('aria-activedescendant'), 'canned-3');
  const enter = keydown(b, 'reply-text', 'Enter');
  assert.ok(enter.defaultPrevented);
  await settle();
  assert.strictEqual(b.calls.filter((c) => c.method === 'POST').length, 0, 'Enter picked, it did not send');
  assert.strictEqual(b.el('canned-picker').hidden, true);
  assert.strictEqual(b.el('reply-text').value, 'Hi Ana Li, ana here: ticket #7 is refunded.');
  assert.match(b.el('canned-tag').textContent, /Canned reply \/refund/);
  keydown(b, 'reply-text', 'Enter');
  await settle();
  assert.deepStrictEqual(b.calls.filter((c) => c.method === 'POST').map((c) => c.body), [{ canned_id: '3', private: false }]);
  assert.strictEqual(b.el('canned-tag').hidden, true);
  // Edited, it is the agent's text.
  typeInto(b, 'reply-text', '/');
  b.fireTimers();
  await settle();
  keydown(b, 'reply-text', 'ArrowUp'); // the last: "thanks"
  keydown(b, 'reply-text', 'Tab');
  typeInto(b, 'reply-text', 'Thank you, Ana!');
  assert.match(b.el('canned-tag').textContent, /Edited/);
  keydown(b, 'reply-text', 'Enter');
  await settle();
  assert.deepStrictEqual(b.calls.filter((c) => c.method === 'POST').map((c) => c.body)[1], { text: 'Thank you, Ana!', private: false });
  // Escape closes the picker and leaves the text; then Enter sends it.
  typeInto(b, 'reply-text', '/re');
  b.fireTimers();
  await settle();
  const esc = keydown(b, 'reply-text', 'Escape');
  assert.strictEqual(b.el('canned-picker').hidden, true);
  assert.strictEqual(b.el('reply-text').value, '/re');
  // The same Escape reaches the page's shortcuts: on a phone it must not also close the conversation.
  b.win.matchMedia = () => ({ matches: true });
  b.doc.body.classList.add('has-conv');
  b.doc.listeners.keydown.forEach((fn) => fn(esc));
  assert.strictEqual(b.location.pathname, '/c/7', 'the Escape that closed the list closed the conversation too');
  keydown(b, 'reply-text', 'Enter');
  await settle();
  assert.deepStrictEqual(b.calls.filter((c) => c.method === 'POST').map((c) => c.body)[2], { text: '/re', private: false });
});

test('Enter before the canned list appears opens it instead of sending "/word"; with no match it closes it first', async () => {
  const b = await openConversation([message('1')], {
    'GET /api/v1/canned': (call) => json(200, { canned: CANNED.filter((c) => c.shortcut.includes(new URLSearchParams(call.query).get('q') || '')) }),
    'POST /api/v1/conversations/7/messages': json(202, message('9', { direction: 'out', text: 'x' })),
  });
  const posts = () => b.calls.filter((c) => c.method === 'POST').map((c) => c.body);
  typeInto(b, 'reply-text', '/tha'); // the 150 ms timer has not fired
  keydown(b, 'reply-text', 'Enter');
  await settle();
  assert.deepStrictEqual(posts(), []);
  assert.deepStrictEqual(items(b, 'canned-picker').map((e) => e.dataset.id), ['4']);
  typeInto(b, 'reply-text', '/nothing');
  b.fireTimers();
  await settle();
  assert.strictEqual(items(b, 'canned-picker').length, 0);
  keydown(b, 'reply-text', 'Enter');
  await settle();
  assert.deepStrictEqual(posts(), [], 'the first Enter closes the empty list');
  assert.strictEqual(b.el('canned-picker').hidden, true);
  keydown(b, 'reply-text', 'Enter');
  await settle();
  assert.deepStrictEqual(posts(), [{ text: '/nothing', private: false }]);
});

test('an edited canned reply with a {name} the console cannot fill is not sent', async () => {
  const anonymous = conversation('7', { contact: { id: 'c7', name: '', identities: [{ id: 'i7', channel: 'wechat', connector: 'wx', external_id: 'oABC', reachable: true }] } });
  const b = await openConversation([message('1')], {
    'GET /api/v1/conversations/7': json(200, anonymous),
    'GET /api/v1/canned': json(200, { canned: CANNED }),
  });
  typeInto(b, 'reply-text', '/ref');
  b.fireTimers();
  await settle();
  keydown(b, 'reply-text', 'Enter');
  assert.strictEqual(b.el('reply-text').value, 'Hi {name}, ana here: ticket #7 is refunded.');
  typeInto(b, 'reply-text', b.el('reply-text').value + ' Sorry!');
  keydown(b, 'reply-text', 'Enter');
  await settle();
  assert.strictEqual(b.calls.filter((c) => c.method === 'POST').length, 0);
  assert.match(b.el('reply-error').textContent, /Replace \{name\}/);
});

const AGENTS = { agents: [
  { name: 'ana', role: 'agent', teams: ['billing'], presence: 'online', status: 'online', load: 1, capacity: 5 },
  { name: 'bo', role: 'agent', teams: ['risk'], presence: 'offline', status: 'online', load: 5, capacity: 5 },
] };

test('the assign picker lists agents with presence and load, and teams; arrows and Enter assign', async () => {
  const b = await openConversation([message('1')], {
    'GET /api/v1/agents': json(200, AGENTS),
    'POST /api/v1/conversations/7/assign': (call) => json(200, conversation('7', call.body)),
  });
  b.el('assign-input').focus();
  b.el('assign-input').dispatch('focus');
  await settle();
  const shown = () => items(b, 'assign-picker').map((e) => e.textContent);
  assert.deepStrictEqual(shown(), ['ana · online · 1/5 open', 'bo · offline · 5/5 open (full)', 'Team billing', 'Team risk']);
  assert.deepStrictEqual(all(b.el('assign-picker')).filter((e) => e.cls.has('dot')).map((e) => e.className), ['dot dot-online', 'dot dot-offline']);
  // bo comes online: the open picker follows the event.
  b.event('agent.presence', '', { agent: 'bo', presence: 'online', status: 'online' });
  assert.strictEqual(shown()[1], 'bo · online · 5/5 open (full)');
  typeInto(b, 'assign-input', 'ris');
  assert.deepStrictEqual(shown(), ['bo · online · 5/5 open (full)', 'Team risk']);
  keydown(b, 'assign-input', 'ArrowDown');
  keydown(b, 'assign-input', 'ArrowDown');
  const enter = keydown(b, 'assign-input', 'Enter');
  assert.ok(enter.defaultPrevented, 'Enter on a choice does not submit the typed text');
  await settle();
  assert.deepStrictEqual(b.calls.filter((c) => c.method === 'POST').map((c) => c.body), [{ team: 'risk' }]);
  assert.strictEqual(b.el('assign-picker').hidden, true);
  assert.strictEqual(b.el('announcer').textContent, '#7 is with team risk.');
});

test('labels are added and removed; priority, SLA clock and CSAT are shown', async () => {
  const rated = conversation('7', { priority: 'urgent', labels: ['vip'], csat: { score: 2, comment: 'too slow', at: T0 },
    first_response_due: '2026-11-02T09:33:00Z' }); // 30 of 33 minutes gone at NOW: amber
  const b = await openConversation([message('1')], {
    'GET /api/v1/conversations': list([rated]),
    'GET /api/v1/conversations/7': json(200, rated),
    'POST /api/v1/conversations/7/labels': (call) => json(200, Object.assign({}, rated,
      { labels: call.body.add ? ['refund', 'vip'] : [] })),
  });
  assert.strictEqual(b.el('conv-priority').textContent, 'priority urgent');
  assert.ok(b.el('conv-priority').cls.has('prio-urgent'));
  assert.strictEqual(b.el('conv-csat').hidden, false);
  assert.strictEqual(b.el('conv-csat').textContent, 'CSAT ★★☆☆☆ 2/5 “too slow”');
  assert.ok(b.el('conv-csat').cls.has('csat-low'));
  assert.strictEqual(b.el('conv-sla').textContent, 'SLA: first response due in 3 min');
  assert.ok(b.el('conv-sla').cls.has('sla-warn'));
  const rowSLA = all(b.el('conv-list')).filter((e) => e.cls.has('sla'));
  assert.deepStrictEqual(rowSLA.map((e) => e.className), ['sla sla-warn']);
  b.el('label-input').value = '  Refund ';
  b.el('label-form').dispatch('submit');
  await settle();
  assert.deepStrictEqual(b.calls.filter((c) => c.method === 'POST').map((c) => c.body), [{ add: ['Refund'] }]);
  assert.deepStrictEqual(all(b.el('conv-labels')).filter((e) => e.cls.has('label-chip')).map((e) => e.childNodes[0].textContent), ['refund', 'vip']);
  assert.strictEqual(b.el('label-input').value, '');
  all(b.el('conv-labels')).find((e) => e.cls.has('label-remove')).dispatch('click');
  await settle();
  assert.deepStrictEqual(b.calls.filter((c) => c.method === 'POST').map((c) => c.body)[1], { remove: ['refund'] });
});

test('SLA events colour the row live: a breach turns it red and raises the priority', async () => {
  const due = conversation('8', { first_response_due: '2026-11-02T11:00:00Z', last_message_at: '2026-11-02T08:00:00Z' });
  const b = await openConversation([message('1')], { 'GET /api/v1/conversations': list([conversation('7'), due]) });
  const sla = () => all(b.el('conv-list')).filter((e) => e.cls.has('sla')).map((e) => e.className);
  assert.deepStrictEqual(sla(), ['sla sla-ok']);
  b.event('sla.warning', '8', { id: '8', clock: 'first_response', due_at: '2026-11-02T11:00:00Z' });
  assert.deepStrictEqual(sla(), ['sla sla-warn']);
  b.event('sla.breached', '8', { id: '8', clock: 'first_response', due_at: '2026-11-02T11:00:00Z', priority: 'high' });
  assert.deepStrictEqual(sla(), ['sla sla-breached']);
  assert.ok(b.el('conv-list').textContent.includes('high'));
  const lists = b.calls.filter((c) => c.path === '/api/v1/conversations').length;
  assert.strictEqual(lists, 1, 'no list reload for an SLA event');
});

test('unread: a row the customer wrote in since the agent looked is marked until opened; the hub keeps the marks', async () => {
  const later = { last_message_at: '2026-11-02T09:20:00Z', waiting_since: '2026-11-02T09:20:00Z',
    last_message: { id: '30', direction: 'in', kind: 'message', sender_type: 'customer', text: 'hello?', created_at: '2026-11-02T09:20:00Z' } };
  const b = await openConversation([message('1')], {
    'GET /api/v1/me/reads': json(200, { reads: [{ conversation_id: '8', read_at: '2026-11-02T09:10:00Z' }] }),
    'GET /api/v1/conversations': list([conversation('8', later), conversation('7', { last_message_at: '2026-11-02T09:00:00Z' })]),
    'GET /api/v1/conversations/8': json(200, conversation('8', later)),
    'GET /api/v1/conversations/8/messages': messages([]),
    'POST /api/v1/conversations/8/read': json(200, { conversation_id: '8', read_at: '2026-11-02T09:30:00Z' }),
    'POST /api/v1/conversations/7/read': json(200, { conversation_id: '7', read_at: '2026-11-02T09:31:00Z' }),
  });
  const unread = () => all(b.el('conv-list')).filter((e) => e.cls.has('unread')).map((e) => e.dataset.id);
  const reads = () => b.calls.filter((c) => c.method === 'POST').map((c) => c.path);
  assert.deepStrictEqual(unread(), ['8']);
  assert.deepStrictEqual(reads(), [], 'conversation 7 has nothing unread: no mark');
  all(b.el('conv-list')).find((e) => e.dataset.id === '8').dispatch('click');
  await settle();
  assert.deepStrictEqual(reads(), ['/api/v1/conversations/8/read']);
  all(b.el('conv-list')).find((e) => e.dataset.id === '7').dispatch('click');
  await settle();
  assert.deepStrictEqual(unread(), [], 'read once opened');
  // A new customer message in a conversation not open: unread again, from the event alone.
  b.event('message.created', '8', message('31', { conversation_id: '8', text: 'anyone?', created_at: '2026-11-02T09:32:00Z' }));
  assert.deepStrictEqual(unread(), ['8']);
  // In the open one: read at once, and told to the hub.
  b.event('message.created', '7', message('32', { text: 'me too', created_at: '2026-11-02T09:33:00Z' }));
  await settle();
  assert.deepStrictEqual(unread(), ['8']);
  assert.deepStrictEqual(reads(), ['/api/v1/conversations/8/read', '/api/v1/conversations/7/read']);
  assert.strictEqual(b.calls.filter((c) => c.method === 'POST')[1].body, undefined, 'no body');
});

const REPORT = {
  from: '2026-10-27T00:00:00Z', to: '2026-11-03T00:00:00Z', conversations: 5, resolved: 4, backlog: 2,
  first_response_seconds: { median: 540, p90: 3600, count: 3 }, resolution_seconds: { median: 1200, p90: 7800, count: 4 },
  csat: { average: 4.5, count: 2, distribution: { 1: 0, 2: 0, 3: 0, 4: 1, 5: 1 } }, deflection_rate: 0.25, sla: { met: 2, breached: 1 },
  by_channel: { telegram: 3, wechat: 2 },
  by_day: [{ day: '2026-10-27', conversations: 1, by_channel: { telegram: 1 } }, { day: '2026-11-02', conversations: 4, by_channel: { telegram: 2, wechat: 2 } }],
  first_response_buckets: [{ up_to_seconds: 60, count: 1 }, { up_to_seconds: 300, count: 2 }, { up_to_seconds: null, count: 0 }],
  resolution_buckets: [{ up_to_seconds: 900, count: 1 }, { up_to_seconds: 3600, count: 3 }, { up_to_seconds: null, count: 0 }],
};

test('the reports page draws the summary as SVG charts, filters by range and team, and exports CSV', async () => {
  const b = boot({
    url: '/reports',
    storage: { 'tongdao.token': 'tdk_test' },
    routes: {
      'GET /api/v1/conversations': list([]),
      'GET /api/v1/agents': json(200, AGENTS),
      'GET /api/v1/reports/summary': json(200, REPORT),
    },
  });
  await settle();
  assert.strictEqual(b.el('reports').hidden, false);
  assert.strictEqual(b.el('panes').hidden, true);
  assert.strictEqual(b.el('nav-reports').getAttribute('aria-current'), 'page');
  const q = () => new URLSearchParams(b.calls.filter((c) => c.path === '/api/v1/reports/summary').pop().query);
  assert.deepStrictEqual([q().get('from'), q().get('to')], ['2026-10-27T00:00:00Z', '2026-11-03T00:00:00Z'], 'the last 7 days');
  const svg = (id) => b.el(id).childNodes[0];
  for (const id of ['chart-volume', 'chart-first', 'chart-resolution', 'chart-sla', 'chart-csat', 'chart-deflection']) {
    assert.strictEqual(svg(id).tagName, 'SVG', id);
    assert.strictEqual(svg(id).namespaceURI, 'http://www.w3.org/2000/svg', id);
  }
  const rects = (id) => all(svg(id)).filter((e) => e.tagName === 'RECT').map((r) => r.getAttribute('data-value'));
  assert.deepStrictEqual(rects('chart-volume'), ['1', '2', '2'], 'telegram 1, then telegram 2 and wechat 2');
  assert.deepStrictEqual(rects('chart-sla'), ['2', '1']);
  assert.deepStrictEqual(rects('chart-csat'), ['1', '1']);
  assert.ok(b.el('report-tiles').textContent.includes('First response (median)9 min'), b.el('report-tiles').textContent);
  assert.deepStrictEqual(all(b.el('legend-volume')).filter((e) => e.tagName === 'LI').map((e) => e.textContent), ['telegram', 'wechat']);
  assert.deepStrictEqual(b.el('report-team').options.map((o) => o.getAttribute('value')), ['billing', 'risk']);
  assert.strictEqual(b.el('report-csv').getAttribute('href'), 'blob:hub.test/1');
  assert.match(b.blobs[0].text, /^metric,key,value\r\n/);
  assert.ok(b.blobs[0].text.includes('by_day_channel,2026-11-02/wechat,2'));
  // Filters: a team and a narrower range.
  b.el('report-team').value = 'risk';
  b.el('report-first').value = '2026-11-01';
  b.el('report-last').value = '2026-11-02';
  b.el('report-filters').dispatch('submit');
  await settle();
  assert.deepStrictEqual([q().get('from'), q().get('to'), q().get('team')], ['2026-11-01T00:00:00Z', '2026-11-03T00:00:00Z', 'risk']);
  // A range backwards is refused before asking the hub.
  const asked = b.calls.length;
  b.el('report-first').value = '2026-11-03';
  b.el('report-filters').dispatch('submit');
  await settle();
  assert.strictEqual(b.calls.length, asked);
  assert.strictEqual(b.el('report-error').hidden, false);
  // Shortcuts of the inbox do nothing here; the Inbox link goes back.
  b.doc.listeners.keydown.forEach((fn) => fn({ key: 'j', target: b.doc.body, preventDefault() {} }));
  assert.strictEqual(b.location.pathname, '/reports');
  b.el('nav-inbox').dispatch('click');
  await settle();
  assert.strictEqual(b.location.pathname, '/');
  assert.strictEqual(b.el('reports').hidden, true);
  assert.strictEqual(b.el('panes').hidden, false);
});

test('a refresh while the timeline is being read does not drop it, nor the messages events brought meanwhile', async () => {
  let answer;
  const b = boot({
    url: '/c/7',
    storage: { 'tongdao.token': 'tdk_test' },
    routes: {
      'GET /api/v1/conversations': list([conversation('7')]),
      'GET /api/v1/conversations/7': json(200, conversation('7')),
      'GET /api/v1/conversations/7/messages': () => new Promise((resolve) => { answer = resolve; }),
    },
  });
  await settle();
  // A slow hub: the customer writes and the 400 ms refresh runs before the timeline arrives.
  b.event('message.created', '7', message('5', { text: 'are you there?', created_at: '2026-11-02T09:10:00Z' }));
  b.fireTimers();
  await settle();
  answer(messages([message('1', { text: 'my order is late' }), message('2', { direction: 'out', text: 'Looking', sender: { type: 'agent', id: 'ana', name: 'ana' },
    delivery: { status: 'sent', error: null } })]));
  await settle();
  const shown = all(b.el('timeline')).filter((e) => e.cls.has('msg')).map((e) => e.dataset.id);
  assert.deepStrictEqual(shown, ['1', '2', '5']);
});
