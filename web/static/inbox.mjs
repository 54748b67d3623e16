/* The inbox's model: work queues, rows kept up to date from the event
 * stream's payloads, the timeline's merge rules. Pure functions, no DOM. */

/** VIEWS are the work queues (GET /api/v1/views), in the order shown. */
export const VIEWS = [
  { id: 'mine', title: 'Mine' },
  { id: 'unassigned', title: 'Unassigned' },
  { id: 'human', title: 'Asked for a human' },
  { id: 'waiting', title: 'Waiting for reply' },
  { id: 'all', title: 'All' },
];

export const STATUSES = ['open', 'pending', 'snoozed', 'resolved'];

const PREVIEW = 140;

export function isView(id) { return VIEWS.some((v) => v.id === id); }

/** countsOf turns GET /views' list into {mine: 3, ...}. */
export function countsOf(body) {
  const out = {};
  for (const v of (body && body.views) || []) out[v.id] = v.count;
  return out;
}

/** defaultView: "mine" for an agent with an assignment, else "unassigned". */
export function defaultView(counts) {
  return counts && counts.mine > 0 ? 'mine' : 'unassigned';
}

/**
 * matchesView says whether a conversation belongs in a work queue, as the
 * server decides it (GET /conversations?view=); me is the agent's name.
 */
export function matchesView(conv, view, me) {
  const active = conv.status !== 'resolved';
  switch (view) {
    case 'mine': return active && !!me && conv.assignee === me;
    case 'unassigned': return active && !conv.assignee;
    case 'human': return active && !conv.assignee && !!conv.handoff_at;
    case 'waiting': return active && !!conv.waiting_since;
    default: return true;
  }
}

/** matchesFilters applies the status and channel filters to a row. */
export function matchesFilters(conv, filters) {
  if (filters.status && conv.status !== filters.status) return false;
  if (filters.channel) {
    const ids = (conv.contact && conv.contact.identities) || [];
    if (!ids.some((i) => i.channel === filters.channel)) return false;
  }
  return true;
}

export function preview(text) {
  const t = String(text || '').split(/\s+/).filter(Boolean).join(' ');
  return t.length <= PREVIEW ? t : t.slice(0, PREVIEW - 1) + '…';
}

function senderType(m) {
  return (m.sender && m.sender.type) || (m.direction === 'in' ? 'customer' : 'agent');
}

/**
 * answers reports whether message m answers the customer, as the hub
 * decides it: an agent's message, or the bot's before a human was asked
 * for. Private notes and system entries never do.
 */
export function answers(m, conv) {
  if (m.direction !== 'out' || m.private) return false;
  const t = senderType(m);
  if (t === 'agent') return true;
  return t === 'bot' && (!conv.handoff_at || m.created_at < conv.handoff_at);
}

/** customerWrote: the customer's message (not an event such as a follow). */
function customerWrote(m) { return m.direction === 'in' && m.kind !== 'event'; }

function newer(a, b) { return Number(a) > Number(b); }

/**
 * withMessage returns the row after a message.created or message.updated
 * event: its preview, its last activity and whether the customer waits.
 */
export function withMessage(conv, m) {
  const c = Object.assign({}, conv);
  const last = c.last_message;
  if (!last || last.id === m.id || newer(m.id, last.id)) {
    c.last_message = {
      id: m.id, direction: m.direction, sender_type: senderType(m), kind: m.kind,
      text: preview(m.text), private: !!m.private, created_at: m.created_at,
    };
  }
  // An update of the newest message, or any message older than it (a
  // delivery update), changes nothing else.
  if (last && !newer(m.id, last.id)) return c;
  if (!c.last_message_at || m.created_at > c.last_message_at) c.last_message_at = m.created_at;
  if (customerWrote(m)) c.waiting_since = c.waiting_since || m.created_at;
  else if (answers(m, c)) c.waiting_since = null;
  // An agent's reply stops the response clocks (the SLA reaction does it on the hub).
  if (m.direction === 'out' && !m.private && senderType(m) === 'agent') {
    c.first_response_due = null;
    c.next_response_due = null;
  }
  return c;
}

/** withChanges returns the row after a conversation.updated event. */
export function withChanges(conv, changes, at) {
  const c = Object.assign({}, conv);
  for (const k of ['status', 'priority', 'assignee', 'team']) {
    if (!(k in changes)) continue;
    const v = changes[k];
    c[k] = (k === 'assignee' || k === 'team') && !v ? null : v;
  }
  if (Array.isArray(changes.labels)) c.labels = changes.labels.slice();
  for (const k of ['csat', 'first_response_due', 'next_response_due', 'resolution_due']) if (k in changes) c[k] = changes[k];
  if (Array.isArray(changes.sla_breaches)) c.sla_breaches = changes.sla_breaches.slice();
  if ('status' in changes) c.resolved_at = changes.status === 'resolved' ? (at || c.updated_at) : null;
  if (at) c.updated_at = at;
  return c;
}

/** order is the list's order: newest activity first, as the API pages. */
export function order(a, b) {
  if (a.last_message_at !== b.last_message_at) return a.last_message_at < b.last_message_at ? 1 : -1;
  return Number(b.id) - Number(a.id);
}

/**
 * place puts a row into the list (replacing its older copy) when it belongs
 * to the view and filters, or takes it out; it returns the new list.
 */
export function place(list, conv, keep) {
  const out = list.filter((c) => c.id !== conv.id);
  if (keep) {
    out.push(conv);
    out.sort(order);
  }
  return out;
}

/**
 * reconcile applies to a page just read the rows that events changed while
 * it was being read: the page may predate them. A row the events left newer
 * (later activity or update) replaces the page's copy, or leaves the page
 * when it no longer belongs (keep); one the page lacks joins it when it
 * belongs and addNew allows (not with a text search, which only the hub can
 * decide).
 */
export function reconcile(rows, touched, keep, addNew) {
  let out = rows;
  for (const c of touched) {
    const read = out.find((r) => r.id === c.id);
    if (read && !(c.last_message_at > read.last_message_at || c.updated_at > read.updated_at)) continue;
    if (!read && !(addNew && keep(c))) continue;
    out = place(out, c, keep(c));
  }
  return out;
}

/** neighbour is the id of the row after (dir 1) or before (dir -1) id. */
export function neighbour(list, id, dir) {
  if (!list.length) return '';
  const i = list.findIndex((c) => c.id === id);
  if (i < 0) return list[dir > 0 ? 0 : list.length - 1].id;
  return list[Math.min(list.length - 1, Math.max(0, i + dir))].id;
}

/**
 * isStale reports whether next is an older copy of cur: the reply's 202
 * answer (queued) can arrive after the event that says it was sent or
 * failed. Delivery only moves forward: queued (more attempts later), then
 * sent, failed or received.
 */
export function isStale(next, cur) {
  const a = next.delivery || {};
  const b = cur.delivery || {};
  const done = (d) => d.status && d.status !== 'queued';
  if (done(b) && !done(a)) return true;
  return !done(a) && !done(b) && (a.attempts || 0) < (b.attempts || 0);
}

/** mergeMessage adds or replaces one message of a timeline (oldest first). */
export function mergeMessage(messages, m) {
  const i = messages.findIndex((x) => x.id === m.id);
  if (i >= 0) {
    if (isStale(m, messages[i])) return messages;
    const out = messages.slice();
    out[i] = m;
    return out;
  }
  const out = messages.concat([m]);
  out.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0) || (Number(a.id) - Number(b.id)));
  return out;
}

/** choiceNumber reads "2", " 2 ", "2." or a full-width "２" as 2, as the hub does. */
export function choiceNumber(text) {
  let s = String(text || '').trim().replace(/[.。、]+$/, '');
  s = s.replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xFF10 + 48));
  if (!/^[0-9]{1,9}$/.test(s)) return 0;
  return Number(s);
}

/**
 * choiceLabel names the button a customer's action chose: a Telegram or
 * Discord click ("[chose: ID]") or a WeChat numbered option ("1"), by the
 * label of the button offered last before it. null when unknown.
 */
export function choiceLabel(messages, index) {
  const m = messages[index];
  if (!m || m.kind !== 'action') return null;
  let offered = null;
  for (let i = index - 1; i >= 0 && !offered; i--) {
    const p = messages[i];
    if (p.direction === 'out' && p.buttons && p.buttons.length) offered = p.buttons;
  }
  if (!offered) return null;
  const byId = /^\[chose: (.+)\]$/.exec(m.text || '');
  if (byId) {
    const b = offered.find((x) => x.id === byId[1]);
    return b ? b.label : null;
  }
  const n = choiceNumber(m.text);
  return n >= 1 && n <= offered.length ? offered[n - 1].label : null;
}

/** previewLine is a row's last message, its direction marked. */
export function previewLine(conv) {
  const m = conv.last_message;
  if (!m) return '';
  let who = 'Customer';
  if (m.private) who = 'Note';
  else if (m.sender_type === 'bot') who = 'Bot';
  else if (m.sender_type === 'system') who = 'System';
  else if (m.direction === 'out') who = 'Agent';
  return (m.direction === 'in' ? '← ' : '→ ') + who + ': ' + (m.text || '[' + m.kind + ']');
}

// ---- SLA clocks and unread marks of the rows ------------------------------

/** The SLA clocks a row can show: its due field and when it started. */
const CLOCKS = [
  { clock: 'first_response', due: 'first_response_due', start: 'created_at' },
  { clock: 'next_response', due: 'next_response_due', start: 'waiting_since' },
  { clock: 'resolution', due: 'resolution_due', start: 'created_at' },
];

const CLOCK_NAMES = { first_response: 'first response', next_response: 'next response', resolution: 'resolution' };

function ms(s) {
  const t = s ? Date.parse(s) : NaN;
  return isNaN(t) ? null : t;
}

function span(msLeft) {
  const s = Math.floor(Math.abs(msLeft) / 1000);
  if (s < 60) return '<1 min';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return Math.floor(s / 3600) + ' h';
  return Math.floor(s / 86400) + ' d';
}

/**
 * slaClock is a row's SLA clock as the agent should see it, or null when
 * none runs and none breached: the running clock due first, "breached"
 * (red) once a due time passed or the conversation has sla_breaches,
 * "warn" (amber) from 80% of its time (as wall time since the clock's
 * start; the hub's sla.warning, kept in sla_warned, says so too), else
 * "ok" (green). Resolved conversations show none.
 */
export function slaClock(conv, now) {
  if (!conv || conv.status === 'resolved') return null;
  const t = now.getTime();
  let run = null;
  for (const c of CLOCKS) {
    const due = ms(conv[c.due]);
    if (due !== null && (!run || due < run.due)) run = { clock: c.clock, due, start: ms(conv[c.start]) };
  }
  const breaches = conv.sla_breaches || [];
  if (!run) {
    if (!breaches.length) return null;
    return { state: 'breached', clock: breaches[breaches.length - 1], text: 'SLA breached (' + CLOCK_NAMES[breaches[breaches.length - 1]] + ')' };
  }
  const name = CLOCK_NAMES[run.clock];
  if (run.due <= t) return { state: 'breached', clock: run.clock, due: run.due, text: name + ' overdue ' + span(t - run.due) };
  let state = 'ok';
  if (breaches.length) state = 'breached';
  else if (run.start !== null && run.due > run.start && (t - run.start) / (run.due - run.start) >= 0.8) state = 'warn';
  else if (conv.sla_warned && ms(conv.sla_warned) === run.due) state = 'warn';
  return { state, clock: run.clock, due: run.due, text: name + ' due in ' + span(run.due - t) };
}

/**
 * withSLAEvent returns the row after an sla.warning or sla.breached event:
 * a warning marks its clock's due time as warned; a breach adds the clock
 * to sla_breaches and takes the raised priority and any new team or
 * assignee (an escalation).
 */
export function withSLAEvent(conv, type, data) {
  const c = Object.assign({}, conv);
  if (!data) return c;
  if (type === 'sla.warning') c.sla_warned = data.due_at || null;
  if (type === 'sla.breached') {
    const b = (c.sla_breaches || []).slice();
    if (data.clock && b.indexOf(data.clock) < 0) b.push(data.clock);
    c.sla_breaches = b;
    if (data.priority) c.priority = data.priority;
    if (data.team) c.team = data.team;
    if (data.assignee) c.assignee = data.assignee;
  }
  return c;
}

/**
 * lastCustomerAt is when the customer last wrote, as far as a row tells:
 * its newest message when that is theirs, else the start of an unanswered
 * wait; null when an answer came after their last message.
 */
export function lastCustomerAt(conv) {
  const m = conv.last_message;
  if (m && m.direction === 'in' && m.kind !== 'event') return m.created_at;
  return conv.waiting_since || null;
}

/**
 * isUnread: the customer wrote after the agent last had the conversation
 * open (mark, an RFC 3339 time). Without a mark, only a conversation that
 * waits for an answer is unread.
 */
export function isUnread(conv, mark) {
  const at = ms(lastCustomerAt(conv));
  if (at === null) return false;
  const seen = ms(mark);
  if (seen === null) return !!conv.waiting_since;
  return at > seen;
}

/**
 * markRead returns the marks with conversation id read up to at (never
 * moved back), keeping the marks of the max newest conversations (highest
 * ids: integer keys list in ascending order).
 */
export function markRead(marks, id, at, max) {
  const out = Object.assign({}, marks);
  if (!at || (ms(out[id]) !== null && ms(out[id]) >= ms(at))) return out;
  out[id] = at;
  const keys = Object.keys(out);
  for (let i = 0; i < keys.length - max; i++) delete out[keys[i]];
  return out;
}
