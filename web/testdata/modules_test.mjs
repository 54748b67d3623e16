// Unit tests of the console's pure modules (../static/*.mjs), run by
// TestConsoleApp with `node --test`.
import test from 'node:test';
import assert from 'node:assert';
import {
  choiceLabel, choiceNumber, countsOf, defaultView, isStale, matchesFilters, matchesView, mergeMessage, neighbour,
  order, place, preview, previewLine, reconcile, withChanges, withMessage,
} from '../static/inbox.mjs';
import { shortcut, SHORTCUTS } from '../static/keys.mjs';
import { ago, contactName, identityName, query, reachability, ticket } from '../static/format.mjs';

const T0 = '2026-11-02T09:00:00Z';
const conv = (over) => Object.assign({ id: '7', status: 'open', assignee: null, handoff_at: null, waiting_since: null, last_message_at: T0,
  contact: { id: '1', name: '', identities: [{ channel: 'telegram', display_name: '', username: '', external_id: '1001' }] } }, over);
const msg = (over) => Object.assign({ id: '10', conversation_id: '7', direction: 'in', kind: 'message', sender: { type: 'customer' },
  text: 'hello', private: false, created_at: '2026-11-02T09:05:00Z', delivery: { status: 'received' } }, over);

test('views match as the hub decides them', () => {
  const cases = [
    [conv({ assignee: 'ana' }), { mine: true, unassigned: false, human: false, waiting: false, all: true }],
    [conv({ assignee: 'bo' }), { mine: false, unassigned: false, human: false, waiting: false, all: true }],
    [conv({ handoff_at: T0 }), { mine: false, unassigned: true, human: true, waiting: false, all: true }],
    [conv({ handoff_at: T0, assignee: 'ana' }), { mine: true, unassigned: false, human: false, waiting: false, all: true }],
    [conv({ waiting_since: T0 }), { mine: false, unassigned: true, human: false, waiting: true, all: true }],
    [conv({ status: 'resolved', waiting_since: T0, handoff_at: T0, assignee: 'ana' }), { mine: false, unassigned: false, human: false, waiting: false, all: true }],
  ];
  for (const [c, want] of cases) {
    const got = {};
    for (const v of Object.keys(want)) got[v] = matchesView(c, v, 'ana');
    assert.deepStrictEqual(got, want, JSON.stringify(c));
  }
  assert.strictEqual(matchesView(conv({ assignee: '' }), 'mine', ''), false, 'nobody is "me" before GET /views answers');
});

test('filters: status and channel', () => {
  assert.strictEqual(matchesFilters(conv(), { status: 'open', channel: 'telegram' }), true);
  assert.strictEqual(matchesFilters(conv(), { status: 'pending', channel: '' }), false);
  assert.strictEqual(matchesFilters(conv(), { status: '', channel: 'wechat' }), false);
});

test('counts and the default view', () => {
  const counts = countsOf({ me: 'ana', views: [{ id: 'mine', count: 0 }, { id: 'all', count: 4 }] });
  assert.deepStrictEqual(counts, { mine: 0, all: 4 });
  assert.strictEqual(defaultView(counts), 'unassigned');
  assert.strictEqual(defaultView({ mine: 1 }), 'mine');
  assert.strictEqual(defaultView(undefined), 'unassigned');
});

test('a customer message makes the row wait; a reply ends it; notes and system entries do not count', () => {
  let c = withMessage(conv(), msg({ id: '10' }));
  assert.strictEqual(c.waiting_since, '2026-11-02T09:05:00Z');
  assert.strictEqual(c.last_message_at, '2026-11-02T09:05:00Z');
  c = withMessage(c, msg({ id: '11', created_at: '2026-11-02T09:06:00Z' }));
  assert.strictEqual(c.waiting_since, '2026-11-02T09:05:00Z', 'the wait starts at the first unanswered message');
  c = withMessage(c, msg({ id: '12', direction: 'out', private: true, sender: { type: 'agent' }, text: 'note' }));
  assert.strictEqual(c.waiting_since, '2026-11-02T09:05:00Z');
  assert.deepStrictEqual([c.last_message.private, c.last_message.text], [true, 'note']);
  c = withMessage(c, msg({ id: '13', direction: 'out', sender: { type: 'system' }, text: 'merged' }));
  assert.strictEqual(c.waiting_since, '2026-11-02T09:05:00Z');
  c = withMessage(Object.assign(c, { handoff_at: '2026-11-02T09:06:30Z' }), msg({ id: '14', direction: 'out', sender: { type: 'bot' },
    text: 'A human will answer', created_at: '2026-11-02T09:06:30Z' }));
  assert.strictEqual(c.waiting_since, '2026-11-02T09:05:00Z', 'the bot\'s acknowledgement after the handoff answers nothing');
  c = withMessage(c, msg({ id: '15', direction: 'out', sender: { type: 'agent' }, text: 'On it', created_at: '2026-11-02T09:07:00Z' }));
  assert.strictEqual(c.waiting_since, null);
  assert.strictEqual(previewLine(c), '→ Agent: On it');
  // A delivery update of an older message changes neither the preview nor the wait.
  const again = withMessage(c, msg({ id: '11', created_at: '2026-11-02T09:06:00Z', text: 'edited' }));
  assert.strictEqual(again.last_message.id, '15');
  assert.strictEqual(again.waiting_since, null);
});

test('the bot answers until a human is asked for', () => {
  const c = withMessage(conv(), msg({ id: '1' }));
  assert.strictEqual(withMessage(c, msg({ id: '2', direction: 'out', sender: { type: 'bot' } })).waiting_since, null);
  const followed = withMessage(conv(), msg({ id: '3', kind: 'event', text: '[followed the account]' }));
  assert.strictEqual(followed.waiting_since, null, 'following the account asks nothing');
});

test('preview lines mark the direction and who wrote', () => {
  assert.strictEqual(previewLine(withMessage(conv(), msg({ text: 'my\n order   is late' }))), '← Customer: my order is late');
  assert.strictEqual(previewLine(withMessage(conv(), msg({ direction: 'out', sender: { type: 'bot' }, text: 'Hi' }))), '→ Bot: Hi');
  assert.strictEqual(previewLine(conv()), '');
  assert.strictEqual(preview('x'.repeat(200)).length, 140);
});

test('conversation.updated changes apply to the row', () => {
  const c = withChanges(conv({ assignee: 'ana' }), { assignee: '', status: 'resolved' }, '2026-11-02T10:00:00Z');
  assert.deepStrictEqual([c.assignee, c.status, c.resolved_at], [null, 'resolved', '2026-11-02T10:00:00Z']);
  assert.deepStrictEqual(withChanges(c, { labels: ['vip', 'refund'] }).labels, ['vip', 'refund']);
  const d = withChanges(c, { status: 'open' });
  assert.strictEqual(d.resolved_at, null);
});

test('rows are placed by newest activity, taken out when they leave', () => {
  const a = conv({ id: '1', last_message_at: '2026-11-02T08:00:00Z' });
  const b = conv({ id: '2', last_message_at: '2026-11-02T09:00:00Z' });
  let list = place([], a, true);
  list = place(list, b, true);
  assert.deepStrictEqual(list.map((c) => c.id), ['2', '1']);
  list = place(list, Object.assign({}, a, { last_message_at: '2026-11-02T10:00:00Z' }), true);
  assert.deepStrictEqual(list.map((c) => c.id), ['1', '2']);
  list = place(list, b, false);
  assert.deepStrictEqual(list.map((c) => c.id), ['1']);
  assert.ok(order(conv({ id: '3' }), conv({ id: '4' })) > 0, 'same time: higher id first');
});

test('j/k neighbours', () => {
  const list = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
  assert.strictEqual(neighbour(list, '', 1), 'a');
  assert.strictEqual(neighbour(list, '', -1), 'c');
  assert.strictEqual(neighbour(list, 'b', 1), 'c');
  assert.strictEqual(neighbour(list, 'c', 1), 'c');
  assert.strictEqual(neighbour(list, 'a', -1), 'a');
  assert.strictEqual(neighbour([], 'a', 1), '');
});

test('timeline merge: sorted, and a late "queued" does not undo "sent"', () => {
  let ms = mergeMessage([], msg({ id: '2', created_at: '2026-11-02T09:02:00Z' }));
  ms = mergeMessage(ms, msg({ id: '1', created_at: '2026-11-02T09:01:00Z' }));
  assert.deepStrictEqual(ms.map((m) => m.id), ['1', '2']);
  const sent = msg({ id: '3', direction: 'out', delivery: { status: 'sent', attempts: 1 } });
  ms = mergeMessage(ms, sent);
  const late = mergeMessage(ms, msg({ id: '3', direction: 'out', delivery: { status: 'queued', attempts: 0 } }));
  assert.strictEqual(late, ms);
  assert.strictEqual(isStale({ delivery: { status: 'queued', attempts: 1 } }, { delivery: { status: 'queued', attempts: 2 } }), true);
  assert.strictEqual(isStale({ delivery: { status: 'failed' } }, { delivery: { status: 'queued' } }), false);
});

test('chosen buttons: numbered WeChat answers and "[chose: ID]" by the label of the last offer', () => {
  const offer = (buttons) => ({ direction: 'out', kind: 'message', buttons });
  const ms = [
    offer([{ id: 'a', label: 'Old A' }]),
    offer([{ id: 'faq', label: 'Read the FAQ' }, { id: 'human', label: 'Talk to a person' }]),
    { direction: 'out', kind: 'message', buttons: [] },
    { direction: 'in', kind: 'action', text: '２。' },
    { direction: 'in', kind: 'action', text: '[chose: faq]' },
    { direction: 'in', kind: 'action', text: '3' },
    { direction: 'in', kind: 'action', text: '[chose: gone]' },
    { direction: 'in', kind: 'message', text: '1' },
  ];
  assert.deepStrictEqual(ms.map((_, i) => choiceLabel(ms, i)), [null, null, null, 'Talk to a person', 'Read the FAQ', null, null, null]);
  assert.strictEqual(choiceLabel([{ direction: 'in', kind: 'action', text: '1' }], 0), null, 'no offer before it');
  assert.deepStrictEqual(['2', ' 2 ', '2.', '２', '0', 'x', '', '1234567890'].map(choiceNumber), [2, 2, 2, 2, 0, 0, 0, 0]);
});

test('shortcuts: only outside text fields and without modifiers', () => {
  const ev = (key, over) => Object.assign({ key, target: { tagName: 'BUTTON' } }, over);
  assert.deepStrictEqual(SHORTCUTS.map((s) => s.key), ['j', 'k', 'r', 'n', 'e', 'a', '?']);
  assert.strictEqual(shortcut(ev('j')), 'next');
  assert.strictEqual(shortcut(ev('?')), 'help');
  assert.strictEqual(shortcut(ev('e', { target: { tagName: 'TEXTAREA' } })), null);
  assert.strictEqual(shortcut(ev('e', { target: { tagName: 'input' } })), null);
  assert.strictEqual(shortcut(ev('e', { target: { tagName: 'DIV', isContentEditable: true } })), null);
  assert.strictEqual(shortcut(ev('a', { ctrlKey: true })), null);
  assert.strictEqual(shortcut(ev('a', { metaKey: true })), null);
  assert.strictEqual(shortcut(ev('n', { isComposing: true })), null);
  assert.strictEqual(shortcut(ev('x')), null);
});

test('format: names, tickets, queries, ages, reply windows', () => {
  const titles = { wechat: 'WeChat' };
  assert.strictEqual(identityName({ channel: 'wechat', external_id: 'oABCDEFGHIJ123456' }, titles), 'WeChat user …123456');
  assert.strictEqual(contactName({ contact: { id: '5', identities: [] } }, titles), 'Contact 5');
  assert.strictEqual(contactName({ contact: { name: 'Ana' } }, titles), 'Ana');
  assert.strictEqual(ticket({ id: '42' }), '#42');
  assert.strictEqual(query({ a: 'x y', b: '', c: null, d: 2 }), '?a=x%20y&d=2');
  const now = new Date('2026-11-02T12:00:00Z');
  assert.deepStrictEqual(['2026-11-02T11:59:30Z', '2026-11-02T11:55:00Z', '2026-11-02T09:00:00Z', '2026-10-30T12:00:00Z'].map((s) => ago(new Date(s), now)),
    ['<1 min', '5 min', '3 h', '3 d']);
  assert.deepStrictEqual(reachability({ reachable: false, unreachable_reason: 'blocked' }, now), { ok: false, text: 'unreachable: blocked' });
  assert.deepStrictEqual(reachability({ reachable: true, reply_until: '2026-11-02T11:00:00Z' }, now), { ok: false, text: 'window closed' });
  assert.strictEqual(reachability({ reachable: true, reply_until: null }, now).ok, true);
});

test('a page read while events came keeps what the events changed', () => {
  const at = (h) => '2026-11-02T' + h + ':00:00Z';
  const page = [conv({ id: '2', last_message_at: at('09'), updated_at: at('09') }), conv({ id: '1', last_message_at: at('08'), updated_at: at('08') })];
  const keep = (c) => c.status !== 'resolved';
  const touched = [
    conv({ id: '3', last_message_at: at('10'), updated_at: at('10') }), // new meanwhile
    conv({ id: '1', status: 'resolved', last_message_at: at('08'), updated_at: at('11') }), // resolved meanwhile
    conv({ id: '2', subject: 'stale', last_message_at: at('07'), updated_at: at('07') }), // older than the page's copy
  ];
  const out = reconcile(page, touched, keep, true);
  assert.deepStrictEqual(out.map((c) => c.id), ['3', '2']);
  assert.notStrictEqual(out[1].subject, 'stale');
  assert.deepStrictEqual(reconcile(page, touched, keep, false).map((c) => c.id), ['2'], 'with a text search nothing joins');
});
