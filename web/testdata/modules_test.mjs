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

// ---- canned replies, assign picker, SLA clocks, unread, reports ----------

const { customerName, fillPlaceholders, moveIndex, replyBody, slashQuery } = await import('../static/compose.mjs');
const { assignChoices, choiceText, teamsOf, withPresence } = await import('../static/people.mjs');
const { isUnread, lastCustomerAt, markRead, slaClock, withSLAEvent } = await import('../static/inbox.mjs');
const charts = await import('../static/charts.mjs');
const reports = await import('../static/reports.mjs');

test('"/" opens the canned picker only for a lone /word', () => {
  assert.deepStrictEqual(['/', '/ref', '/Refund-2', 'a /ref', '/ref ', '/ref\nx', '//', '', 'ref'].map(slashQuery),
    ['', 'ref', 'Refund-2', null, null, null, null, null, null]);
  assert.deepStrictEqual([[-1, 3, 1], [-1, 3, -1], [0, 3, 1], [2, 3, 1], [0, 3, -1], [0, 0, 1]].map(([i, n, d]) => moveIndex(i, n, d)),
    [0, 2, 1, 0, 2, -1]);
});

test('a canned reply sent unchanged goes as canned_id; edited, as text without placeholders', () => {
  const conv = { id: '7', contact: { name: '', identities: [{ display_name: 'Old' }, { display_name: '', username: 'ana_l' }] } };
  assert.strictEqual(customerName(conv), 'Old', 'a display name before a username, as the hub');
  assert.strictEqual(customerName({ contact: { name: ' Ana ', identities: [] } }), 'Ana');
  assert.strictEqual(customerName({ contact: { identities: [{ external_id: 'o123' }] } }), '');
  assert.strictEqual(fillPlaceholders('Hi {name}, {agent} on {ticket} {x}', { name: '', agent: 'bo', ticket: '#7' }), 'Hi {name}, bo on #7 {x}');
  const picked = { id: '3', shown: 'Hi {name}, bo on #7' };
  assert.deepStrictEqual(replyBody('Hi {name}, bo on #7', picked, false), { body: { canned_id: '3', private: false } });
  assert.deepStrictEqual(replyBody('Hi Ana, bo on #7!', picked, true), { body: { text: 'Hi Ana, bo on #7!', private: true } });
  assert.match(replyBody('Hi {name}, bo on #7!', picked, false).error, /Replace \{name\}/);
  assert.deepStrictEqual(replyBody('{name} is literal here', null, false), { body: { text: '{name} is literal here', private: false } },
    'without a canned reply the text is the agent\'s own');
});

test('the assign picker: online agents first, full ones marked, then teams; presence events apply', () => {
  const agents = [
    { name: 'cy', teams: ['risk'], presence: 'offline', load: 0, capacity: 5 },
    { name: 'bo', teams: ['billing'], presence: 'online', load: 5, capacity: 5 },
    { name: 'ana', teams: ['billing', 'risk'], presence: 'away', load: 1, capacity: 5 },
    { name: 'al', teams: [], presence: 'online', load: 0, capacity: 10 },
  ];
  assert.deepStrictEqual(teamsOf(agents, ['vip', null, 'risk']), ['billing', 'risk', 'vip']);
  const all = assignChoices(agents, ['billing', 'risk'], '');
  assert.deepStrictEqual(all.map((c) => c.kind + ':' + c.name), ['agent:al', 'agent:bo', 'agent:ana', 'agent:cy', 'team:billing', 'team:risk']);
  assert.strictEqual(choiceText(all[1]), 'bo · online · 5/5 open (full)');
  assert.strictEqual(choiceText(all[4]), 'Team billing');
  assert.deepStrictEqual(assignChoices(agents, ['billing', 'risk'], 'RIS').map((c) => c.name), ['ana', 'cy', 'risk'], 'by name or team');
  const after = withPresence(agents, { agent: 'cy', presence: 'online', status: 'online' });
  assert.strictEqual(assignChoices(after, [], '')[0].name, 'al');
  assert.strictEqual(after.find((a) => a.name === 'cy').presence, 'online');
  assert.strictEqual(agents[0].presence, 'offline', 'the list read is not changed in place');
});

test('SLA clocks: green, amber from 80%, red when overdue or breached; none when resolved', () => {
  const now = new Date('2026-11-02T10:00:00Z');
  const base = { status: 'open', created_at: '2026-11-02T09:00:00Z' };
  assert.strictEqual(slaClock(base, now), null);
  const green = slaClock(Object.assign({}, base, { first_response_due: '2026-11-02T11:00:00Z' }), now);
  assert.deepStrictEqual([green.state, green.clock, green.text], ['ok', 'first_response', 'first response due in 1 h']);
  const amber = slaClock(Object.assign({}, base, { first_response_due: '2026-11-02T10:10:00Z' }), now); // 60 of 70 min: 86%
  assert.strictEqual(amber.state, 'warn');
  const warned = Object.assign({}, base, { created_at: '2026-11-02T09:59:00Z', first_response_due: '2026-11-02T11:00:00Z' });
  assert.strictEqual(slaClock(warned, now).state, 'ok');
  assert.strictEqual(slaClock(withSLAEvent(warned, 'sla.warning', { clock: 'first_response', due_at: '2026-11-02T11:00:00Z' }), now).state, 'warn',
    'the hub\'s warning counts business time, which the console cannot');
  const late = slaClock(Object.assign({}, base, { first_response_due: '2026-11-02T09:30:00Z' }), now);
  assert.deepStrictEqual([late.state, late.text], ['breached', 'first response overdue 30 min']);
  const next = slaClock(Object.assign({}, base, { waiting_since: '2026-11-02T09:55:00Z', next_response_due: '2026-11-02T10:25:00Z',
    resolution_due: '2026-11-02T13:00:00Z' }), now);
  assert.deepStrictEqual([next.clock, next.state], ['next_response', 'ok'], 'the clock due first');
  const escalated = withSLAEvent(Object.assign({}, base, { priority: 'normal', sla_breaches: [] }), 'sla.breached',
    { clock: 'first_response', due_at: '2026-11-02T09:30:00Z', priority: 'high', team: 'risk' });
  assert.deepStrictEqual([escalated.priority, escalated.team, escalated.sla_breaches], ['high', 'risk', ['first_response']]);
  assert.deepStrictEqual(slaClock(escalated, now), { state: 'breached', clock: 'first_response', text: 'SLA breached (first response)' });
  assert.strictEqual(slaClock(Object.assign({}, escalated, { status: 'resolved' }), now), null);
  // An agent's reply stops the response clocks at once.
  const answered = withMessage(Object.assign({}, base, { first_response_due: '2026-11-02T11:00:00Z' }),
    msg({ id: '50', direction: 'out', sender: { type: 'agent' } }));
  assert.strictEqual(slaClock(answered, now), null);
  const noted = withMessage(Object.assign({}, base, { first_response_due: '2026-11-02T11:00:00Z' }),
    msg({ id: '50', direction: 'out', private: true, sender: { type: 'agent' } }));
  assert.strictEqual(slaClock(noted, now).state, 'ok', 'a private note answers nothing');
});

test('unread: the customer wrote after the read mark', () => {
  const c = withMessage(conv(), msg({ id: '10', created_at: '2026-11-02T09:05:00Z' }));
  assert.strictEqual(lastCustomerAt(c), '2026-11-02T09:05:00Z');
  assert.strictEqual(isUnread(c, null), true, 'no mark: waiting means unread');
  assert.strictEqual(isUnread(c, '2026-11-02T09:05:00Z'), false);
  assert.strictEqual(isUnread(c, '2026-11-02T09:04:59.5Z'), true);
  const answered = withMessage(c, msg({ id: '11', direction: 'out', sender: { type: 'agent' }, created_at: '2026-11-02T09:06:00Z' }));
  assert.strictEqual(isUnread(answered, null), false, 'answered: nothing new');
  const bot = withMessage(c, msg({ id: '12', direction: 'out', sender: { type: 'bot' }, created_at: '2026-11-02T09:06:00Z' }));
  assert.strictEqual(isUnread(bot, '2026-11-02T09:00:00Z'), false, 'the bot answered: not waiting');
  let marks = markRead({}, '7', '2026-11-02T09:05:00Z', 2);
  assert.deepStrictEqual(markRead(marks, '7', '2026-11-02T09:00:00Z', 2), marks, 'a mark never moves back');
  marks = markRead(markRead(marks, '12', 'x', 2), '9', '2026-11-02T09:01:00Z', 2);
  assert.deepStrictEqual(Object.keys(marks), ['9', '12'], 'the lowest ids go first');
});

test('charts: stacked bars with a title per segment and a nice scale', () => {
  assert.deepStrictEqual([0, 0.3, 1, 7, 10, 11, 99, 101, 4500].map(charts.niceMax), [1, 0.5, 1, 10, 10, 20, 100, 200, 5000]);
  const tree = charts.barChart(['11-01', '11-02', '11-03'], [
    { name: 'Telegram', values: [2, 0, 1] },
    { name: 'WeChat', values: [1, 3, 0] },
  ], { title: 'Volume' });
  assert.strictEqual(tree.tag, 'svg');
  assert.strictEqual(tree.attrs['aria-label'], 'Volume');
  assert.strictEqual(charts.count(tree, 'rect'), 4, 'one rect per non-zero segment');
  const rects = tree.children.filter((c) => c.tag === 'rect');
  assert.deepStrictEqual(rects.map((r) => r.children[0].children[0]), ['11-01 · Telegram: 2', '11-01 · WeChat: 1', '11-02 · WeChat: 3', '11-03 · Telegram: 1']);
  assert.deepStrictEqual(rects.map((r) => r.attrs.class), ['bar s0', 'bar s1', 'bar s1', 'bar s0']);
  // The tallest stack (3) reaches the top of a scale of 5: 3/5 of the plot.
  const tall = rects[2];
  assert.ok(Math.abs(tall.attrs.height - 0.6 * (220 - 36)) < 0.2, tall.attrs.height);
  const byLabel = charts.barChart(['met', 'breached'], [{ name: '', values: [4, 1] }], { byLabel: true });
  assert.deepStrictEqual(byLabel.children.filter((c) => c.tag === 'rect').map((r) => r.attrs.class), ['bar s0', 'bar s1']);
  assert.strictEqual(charts.count(charts.barChart([], [], {}), 'rect'), 0, 'an empty report draws axes only');
});

test('reports: ranges, series and the CSV export', () => {
  assert.deepStrictEqual(reports.defaultDays(new Date('2026-12-02T10:00:00Z')), ['2026-11-26', '2026-12-02']);
  assert.deepStrictEqual(reports.rangeOf('2026-11-26', '2026-12-02'), { from: '2026-11-26T00:00:00Z', to: '2026-12-03T00:00:00Z' });
  assert.ok(reports.rangeOf('2026-12-02', '2026-11-26').error);
  assert.ok(reports.rangeOf('', '2026-11-26').error);
  assert.ok(reports.rangeOf('2025-01-01', '2026-01-02').error, '366 days at most');
  assert.ok(!reports.rangeOf('2025-01-01', '2026-01-01').error);
  assert.deepStrictEqual([null, 45, 540, 5400, 3 * 86400].map(reports.duration), ['–', '45 s', '9 min', '1.5 h', '3 d']);
  const r = {
    from: '2026-11-26T00:00:00Z', to: '2026-11-28T00:00:00Z', conversations: 5, resolved: 4, backlog: 2,
    first_response_seconds: { median: 540, p90: 3600, count: 3 }, resolution_seconds: { median: null, p90: null, count: 0 },
    csat: { average: 4.5, count: 2, distribution: { 1: 0, 2: 0, 3: 0, 4: 1, 5: 1 } }, deflection_rate: 0.25, sla: { met: 2, breached: 1 },
    by_channel: { telegram: 3, '=cmd': 2 }, by_connector: { 'tg-main': 3, '=cmd': 2 }, by_team: { none: 5 },
    by_day: [{ day: '2026-11-26', conversations: 1, by_channel: { telegram: 1 } }, { day: '2026-11-27', conversations: 4, by_channel: { telegram: 2, '=cmd': 2 } }],
    first_response_buckets: [{ up_to_seconds: 60, count: 1 }, { up_to_seconds: 300, count: 2 }, { up_to_seconds: null, count: 0 }],
    resolution_buckets: [{ up_to_seconds: 900, count: 0 }, { up_to_seconds: null, count: 0 }],
  };
  const vol = reports.volumeSeries(r, { telegram: 'Telegram' });
  assert.deepStrictEqual(vol.labels, ['11-26', '11-27']);
  assert.deepStrictEqual(vol.series.map((s) => [s.name, s.values]), [['Telegram', [1, 2]], ['=cmd', [0, 2]]]);
  assert.deepStrictEqual(reports.bucketSeries(r.first_response_buckets).labels, ['≤1 min', '≤5 min', '>5 min']);
  assert.deepStrictEqual(reports.csatSeries(r).series[0].values, [0, 0, 0, 1, 1]);
  assert.deepStrictEqual(reports.slaSeries(r).series[0].values, [2, 1]);
  assert.deepStrictEqual(reports.deflectionSeries(r).series[0].values, [1, 3]);
  const csv = reports.csvOf(r, { team: 'billing, "EU"', channel: '' });
  const lines = csv.trim().split('\r\n');
  assert.strictEqual(lines[0], 'metric,key,value');
  assert.ok(lines.includes('team,,"billing, ""EU"""'), csv);
  assert.ok(lines.includes('first_response_seconds,median,540'));
  assert.ok(lines.includes('resolution_seconds,median,'), 'null is an empty cell');
  assert.ok(lines.includes("by_channel,'=cmd,2"), 'a formula is defused');
  assert.ok(lines.includes('by_connector,tg-main,3') && lines.includes('by_team,none,5'), csv);
  assert.ok(lines.includes('by_day_channel,2026-11-27/=cmd,2'), csv);
  assert.ok(lines.includes('first_response_buckets,longer,0'));
  assert.ok(lines.includes('csat_score,5,1'));
  assert.strictEqual(reports.cell('-3'), '-3', 'a negative number stays a number');
});
