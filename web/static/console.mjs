/* Tongdao agent console: the page's wiring. No dependencies, no build step.
 *
 * Talks only to /api/v1 with "Authorization: Bearer TOKEN". All text from
 * the API is put into the page with textContent, never as HTML. start()
 * takes the browser (document, window, fetch, timers, the event stream
 * class) as arguments, so the tests run it in a fake one.
 */
import { makeDom } from './dom.mjs';
import {
  ago, channelsOf, clock, clockOrDate, contactName, errorText, fmtFull, fmtWeekday, identityName,
  parseTime, query, reachability, sameDay, shortTime, ticket,
} from './format.mjs';
import {
  STATUSES, VIEWS, choiceLabel, choiceNumber, countsOf, defaultView, isUnread, isView, lastCustomerAt, markRead, matchesFilters, matchesView,
  mergeMessage, neighbour, place, previewLine, reconcile, slaClock, withChanges, withMessage, withSLAEvent,
} from './inbox.mjs';
import { SHORTCUTS, shortcut } from './keys.mjs';
import { customerName, fillPlaceholders, moveIndex, replyBody, slashQuery } from './compose.mjs';
import { assignChoices, choiceText, teamsOf, withPresence } from './people.mjs';
import { makeReports } from './reportpage.mjs';
import { makeMedia } from './media.js';

const API = '/api/v1';
const TOKEN_KEY = 'tongdao.token';
const FILTER_KEY = 'tongdao.filters';
const MAX_READS = 5000;
const PAGE = 25;
const MESSAGE_PAGE = 100;
const MAX_MESSAGE_PAGES = 20;
const CHANNEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const OUTSIDE_MAX = 500;

/**
 * start runs the console in env: {document, window, fetch, setTimeout,
 * clearTimeout, setInterval, EventStream, readError, now}.
 */
export function start(env) {
  const doc = env.document;
  const win = env.window;
  const { h, byId, clear, show } = makeDom(doc);
  const now = env.now || (() => new Date());
  // Files: attachments shown and sent (media.js).
  const media = makeMedia({ h, doc, win, fetch: env.fetch, readError: env.readError, token: () => state.token });

  // Channel titles by name, from GET /channels (the hub's connector types).
  let CHANNELS = Object.create(null);

  const state = {
    token: '',
    me: '',
    view: '',
    counts: {},
    filters: { status: '', channel: '', q: '' },
    convs: [], // the loaded rows of the view, newest activity first
    outside: new Map(), // conversations read but not in the view, by id (kept up to date by events)
    pending: new Set(), // ids of conversations being read
    touched: null, // while the first page is read: the rows events changed meanwhile, by id
    nextCursor: null,
    listSeq: 0, // guards against out-of-order list responses
    selectedId: '',
    conv: null, // the selected conversation (full)
    messages: [], // its timeline, oldest first
    convSeq: 0, // guards the conversation's reads
    msgSeq: 0, // guards its timeline's reads: a refresh of the conversation alone does not drop them
    stream: null,
    reads: {}, // read marks by conversation id (localStorage, per agent)
    // The "/" picker; picked: {id, shortcut, shown}; dismissed: closed by
    // the agent for the text typed so far.
    canned: { open: false, items: [], index: -1, seq: 0, picked: null, dismissed: false },
    agents: null, // GET /agents, kept up to date by agent.presence events
    assign: { open: false, items: [], index: -1 },
    page: 'inbox', // or 'reports'
  };

  // ---- API ---------------------------------------------------------------

  /** api calls the agent API; it rejects with an Error carrying code and status. */
  function api(method, path, body) {
    const headers = { Authorization: 'Bearer ' + state.token, Accept: 'application/json' };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return env.fetch(API + path, init).then((res) => {
      if (!res.ok) {
        return env.readError(res).then((err) => {
          if (err.status === 401) signOut('Your token was not accepted: ' + err.message);
          throw err;
        });
      }
      if (res.status === 204) return null;
      return res.json();
    }, (err) => {
      const e = new Error('The hub cannot be reached (' + (err && err.message ? err.message : 'network error') + ').');
      e.code = 'network';
      throw e;
    });
  }

  function timeEl(s, text) {
    const d = parseTime(s);
    if (!d) return h('span');
    return h('time', { datetime: d.toISOString(), title: fmtFull.format(d) }, text(d));
  }

  function banner(text) {
    byId('banner-text').textContent = text;
    show(byId('banner'), !!text);
  }

  /** announce tells screen readers something new (aria-live). */
  function announce(text) {
    byId('announcer').textContent = text;
  }

  // ---- sign-in -----------------------------------------------------------

  function storage() {
    try { return win.sessionStorage; } catch (e) { return null; }
  }
  function stored(k) {
    try { return (storage() && storage().getItem(k)) || ''; } catch (e) { return ''; }
  }
  function store(k, v) {
    try {
      if (v === null) storage().removeItem(k);
      else storage().setItem(k, v);
    } catch (e) { /* storage off: this page only */ }
  }

  // Read marks are kept by the hub, per agent (GET /me/reads, POST
  // /conversations/{id}/read): unread follows the agent across browsers.
  function loadReads() {
    return api('GET', '/me/reads').then((body) => {
      let marks = {};
      for (const r of (body && body.reads) || []) marks = markRead(marks, r.conversation_id, r.read_at, MAX_READS);
      // Marks given while the list was read stay.
      for (const id of Object.keys(state.reads)) marks = markRead(marks, id, state.reads[id], MAX_READS);
      state.reads = marks;
      if (state.convs.length) renderList();
    }, (err) => {
      if (err && err.status === 401) return;
      banner('Could not read which conversations you have seen: ' + errorText(err));
    });
  }

  /**
   * markSeen tells the hub that the agent has seen conversation c, when
   * the customer wrote since the last mark; the row is shown read at once.
   */
  function markSeen(c) {
    if (!c || !isUnread(c, state.reads[c.id])) return;
    state.reads = markRead(state.reads, c.id, lastCustomerAt(c), MAX_READS);
    api('POST', '/conversations/' + c.id + '/read').then((m) => {
      if (m && m.conversation_id) state.reads = markRead(state.reads, m.conversation_id, m.read_at, MAX_READS);
    }, () => { /* the next open marks it again */ });
  }

  function readToken() {
    // A token in the URL fragment (#token=...) is taken once, moved to
    // sessionStorage and removed from the address bar and history.
    const m = /^#token=([^&]+)/.exec(win.location.hash);
    if (m) {
      store(TOKEN_KEY, decodeURIComponent(m[1]));
      win.history.replaceState(null, '', win.location.pathname + win.location.search);
    }
    return stored(TOKEN_KEY);
  }

  function showSignIn(message) {
    show(byId('app'), false);
    show(byId('signin'), true);
    const err = byId('signin-error');
    err.textContent = message || '';
    show(err, !!message);
    byId('signin-token').value = '';
    byId('signin-token').focus();
  }

  function signOut(message) {
    if (state.stream) state.stream.close();
    state.stream = null;
    state.token = '';
    store(TOKEN_KEY, null);
    state.convs = [];
    state.selectedId = '';
    state.conv = null;
    state.messages = [];
    state.listSeq++;
    state.convSeq++;
    state.msgSeq++;
    banner('');
    showSignIn(message);
  }

  function startApp() {
    show(byId('signin'), false);
    show(byId('app'), true);
    Promise.all([loadChannels(), loadCounts(), loadReads()]).then(() => {
      if (!state.token) return; // signed out meanwhile (token refused)
      loadFilters();
      renderViews();
      selectFromPath(false);
      loadList(false);
      startStream();
      if (!state.selectedId) focusList();
    });
  }

  /**
   * loadChannels reads the channels the hub carries and builds the channel
   * filter's options from them. On failure the filter offers only "All
   * channels" and badges show the raw channel names.
   */
  function loadChannels() {
    return api('GET', '/channels').then((body) => {
      CHANNELS = Object.create(null);
      const select = byId('filter-channel');
      while (select.options.length > 1) select.remove(1);
      for (const ch of (body && body.channels) || []) {
        if (!ch || typeof ch.name !== 'string' || !CHANNEL_NAME.test(ch.name)) continue;
        CHANNELS[ch.name] = ch.title || ch.name;
        select.appendChild(h('option', { value: ch.name }, CHANNELS[ch.name]));
      }
    }, (err) => {
      if (err && err.status === 401) return; // api() signed out already
      banner('Could not load the channels: ' + errorText(err));
    });
  }

  /** loadCounts reads the work queues' sizes and who the agent is. */
  function loadCounts() {
    return api('GET', '/views').then((body) => {
      state.me = (body && body.me) || '';
      state.counts = countsOf(body);
      byId('me').textContent = state.me;
      renderViews();
    }, (err) => {
      if (err && err.status === 401) return;
      banner('Could not count the work queues: ' + errorText(err));
    });
  }

  // ---- views and filters -------------------------------------------------

  function loadFilters() {
    let f = {};
    try { f = JSON.parse(stored(FILTER_KEY) || '{}') || {}; } catch (e) { /* ignore stale or broken storage */ }
    state.view = isView(f.view) ? f.view : defaultView(state.counts);
    if (STATUSES.indexOf(f.status) >= 0) state.filters.status = f.status;
    if (CHANNELS[f.channel]) state.filters.channel = f.channel;
    if (typeof f.q === 'string') state.filters.q = f.q.slice(0, 200);
    byId('filter-status').value = state.filters.status;
    byId('filter-channel').value = state.filters.channel;
    byId('filter-q').value = state.filters.q;
  }

  function saveFilters() {
    store(FILTER_KEY, JSON.stringify(Object.assign({ view: state.view }, state.filters)));
  }

  function applyFilters() {
    state.filters = {
      status: byId('filter-status').value,
      channel: byId('filter-channel').value,
      q: byId('filter-q').value.trim(),
    };
    saveFilters();
    loadList(false);
  }

  function setView(id) {
    if (!isView(id)) return;
    state.view = id;
    saveFilters();
    renderViews();
    loadList(false);
  }

  function renderViews() {
    const nav = byId('views');
    clear(nav);
    for (const v of VIEWS) {
      const on = v.id === state.view;
      const n = state.counts[v.id];
      nav.appendChild(h('button', {
        type: 'button', className: 'view-tab' + (on ? ' active' : ''), role: 'tab',
        'aria-selected': on ? 'true' : 'false', dataset: { view: v.id }, onclick: () => setView(v.id),
      }, h('span', { className: 'view-title' }, v.title),
      h('span', { className: 'view-count', 'aria-label': n === undefined ? null : n + ' conversations' }, n === undefined ? '–' : String(n))));
    }
  }

  // ---- the inbox list ----------------------------------------------------

  /**
   * loadList loads the view's first page (or, with more, the next page).
   * Events update the rows from their payloads; the list is reloaded only
   * when the agent changes the view or the filters.
   */
  function loadList(more) {
    const seq = ++state.listSeq;
    const params = {
      view: state.view, status: state.filters.status, channel: state.filters.channel, q: state.filters.q, limit: PAGE,
    };
    if (more) params.cursor = state.nextCursor;
    else state.touched = new Map();
    const list = byId('conv-list');
    list.setAttribute('aria-busy', 'true');
    byId('load-more').disabled = true;
    return api('GET', '/conversations' + query(params)).then((page) => {
      if (seq !== state.listSeq) return;
      let rows = page.conversations || [];
      if (!more) {
        const touched = state.touched ? [...state.touched.values()] : [];
        state.touched = null;
        state.outside.clear();
        rows = reconcile(rows, touched, belongs, !state.filters.q);
      }
      state.convs = more ? state.convs.concat(rows.filter((r) => !state.convs.some((c) => c.id === r.id))) : rows;
      state.nextCursor = page.next_cursor || null;
      show(byId('list-error'), false);
      renderList();
    }, (err) => {
      if (seq !== state.listSeq) return;
      byId('list-error').textContent = 'Could not load conversations: ' + errorText(err);
      show(byId('list-error'), true);
    }).then(() => {
      if (seq !== state.listSeq) return;
      list.setAttribute('aria-busy', 'false');
      byId('load-more').disabled = false;
    });
  }

  function badge(channel, extra) {
    const name = CHANNELS[channel] || channel || 'unknown';
    // Channels with a colour of their own have a badge-<name> rule in
    // app.css; any other channel keeps the neutral .badge style.
    const cls = 'badge' + (CHANNEL_NAME.test(channel || '') ? ' badge-' + channel : '');
    return h('span', { className: cls, title: extra || name }, name);
  }

  function statusPill(status) {
    return h('span', { className: 'pill pill-' + status }, status);
  }

  function rowEl(c) {
    const selected = c.id === state.selectedId;
    const badges = h('span', { className: 'badges' });
    for (const ch of channelsOf(c.contact)) badges.appendChild(badge(ch));
    const waiting = parseTime(c.waiting_since);
    const flags = h('span', { className: 'row-flags' },
      c.handoff_at && !c.assignee && c.status !== 'resolved' ? h('span', { className: 'flag flag-human' }, 'asked for a human') : null,
      waiting && c.status !== 'resolved' ? h('span', { className: 'flag flag-waiting', title: 'waiting since ' + fmtFull.format(waiting) }, 'waiting ' + ago(waiting, now())) : null,
      c.priority && c.priority !== 'normal' ? h('span', { className: 'flag flag-priority prio-' + c.priority }, c.priority) : null,
      ...(c.labels || []).map((l) => h('span', { className: 'flag flag-label' }, l)));
    const unread = !selected && isUnread(c, state.reads[c.id]);
    const sla = slaClock(c, now());
    const row = h('button', {
      type: 'button', className: 'conv-row' + (selected ? ' selected' : '') + (unread ? ' unread' : ''),
      'aria-current': selected ? 'true' : null, dataset: { id: c.id },
      onclick: () => selectConversation(c.id, true),
    },
    h('span', { className: 'row-top' },
      unread ? h('span', { className: 'unread-dot', role: 'img', 'aria-label': 'unread', title: 'The customer wrote since you last opened it' }) : null,
      h('span', { className: 'row-ticket' }, ticket(c)),
      h('span', { className: 'row-name' }, contactName(c, CHANNELS)),
      timeEl(c.last_message_at, (d) => shortTime(d, now()))),
    h('span', { className: 'row-subject' }, c.subject || 'No subject yet'),
    c.last_message ? h('span', { className: 'row-preview' + (c.last_message.direction === 'in' ? ' preview-in' : '') }, previewLine(c)) : null,
    h('span', { className: 'row-bottom' },
      badges,
      statusPill(c.status),
      sla ? slaEl(sla) : null,
      flags,
      h('span', { className: 'row-assignee' + (c.assignee ? '' : ' muted') }, c.assignee || 'unassigned')));
    return h('li', null, row);
  }

  function slaEl(sla) {
    return h('span', { className: 'sla sla-' + sla.state, title: sla.due ? 'SLA due ' + fmtFull.format(new Date(sla.due)) : null }, sla.text);
  }

  function renderList() {
    const list = byId('conv-list');
    clear(list);
    for (const c of state.convs) list.appendChild(rowEl(c));
    show(byId('list-empty'), state.convs.length === 0 && byId('list-error').hidden);
    show(byId('load-more'), !!state.nextCursor);
  }

  function focusList() {
    const first = byId('conv-list').querySelectorAll('.conv-row')[0];
    if (first) first.focus();
  }

  /** Arrow keys move between rows of the list. */
  function listKeys(e) {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const rows = Array.prototype.slice.call(byId('conv-list').querySelectorAll('.conv-row'));
    const i = rows.indexOf(doc.activeElement);
    if (i < 0) return;
    e.preventDefault();
    rows[e.key === 'ArrowDown' ? Math.min(rows.length - 1, i + 1) : Math.max(0, i - 1)].focus();
  }

  /**
   * remember keeps the last copy of a conversation outside the view, so that
   * its events are applied to it instead of reading it again.
   */
  function remember(c) {
    state.outside.delete(c.id);
    state.outside.set(c.id, c);
    if (state.outside.size > OUTSIDE_MAX) state.outside.delete(state.outside.keys().next().value);
  }

  /** belongs says whether a conversation belongs in the view and filters. */
  function belongs(c) { return matchesView(c, state.view, state.me) && matchesFilters(c, state.filters); }

  /** keepRow puts a changed conversation into the list, or takes it out. */
  function keepRow(c) {
    if (state.touched) state.touched.set(c.id, c);
    const keep = belongs(c);
    if (keep) state.outside.delete(c.id);
    else remember(c);
    if (c.id === state.selectedId) markSeen(c);
    const had = state.convs.some((x) => x.id === c.id);
    if (!keep && !had) return;
    // With a text search the hub decides what matches: update, never add.
    if (state.filters.q && !had) return;
    state.convs = place(state.convs, c, keep || c.id === state.selectedId);
    renderList();
  }

  /** fetchRow reads one conversation the console knows nothing of yet. */
  function fetchRow(id) {
    if (state.pending.has(id)) return;
    state.pending.add(id);
    api('GET', '/conversations/' + id).then((c) => {
      state.pending.delete(id);
      if (!state.token || state.convs.some((x) => x.id === c.id)) return;
      keepRow(c);
    }, () => { state.pending.delete(id); /* the next event or reload catches up */ });
  }

  // ---- the selected conversation ----------------------------------------

  // ---- pages: the inbox and the reports ----------------------------------

  const reports = makeReports({
    doc, win, now, dom: { h, byId, clear, show }, api,
    channels: () => CHANNELS,
    teams: () => loadAgents().then(() => teamsOf(state.agents, state.convs.map((c) => c.team))),
  });

  function showPage(page) {
    if (state.page === page && page === 'inbox') return;
    state.page = page;
    const onReports = page === 'reports';
    show(byId('panes'), !onReports);
    byId('nav-inbox').setAttribute('aria-current', onReports ? 'false' : 'page');
    byId('nav-reports').setAttribute('aria-current', onReports ? 'page' : 'false');
    doc.body.classList.toggle('page-reports', onReports);
    if (onReports) reports.open();
    else reports.close();
  }

  function goTo(path, e) {
    if (e) e.preventDefault();
    if (win.location.pathname !== path) win.history.pushState(null, '', path);
    selectFromPath(true);
  }

  function selectFromPath(fromHistory) {
    if (/^\/reports\/?$/.test(win.location.pathname)) {
      showPage('reports');
      return;
    }
    showPage('inbox');
    const m = /^\/c\/([1-9][0-9]{0,18})\/?$/.exec(win.location.pathname);
    if (m) selectConversation(m[1], false);
    else if (fromHistory) closeConversation(false);
  }

  function selectConversation(id, push) {
    if (push && win.location.pathname !== '/c/' + id) win.history.pushState({ id }, '', '/c/' + id);
    if (id === state.selectedId && state.conv) {
      byId('reply-text').focus();
      return;
    }
    state.selectedId = id;
    state.conv = null;
    state.messages = [];
    setPrivate(false);
    byId('reply-text').value = '';
    dropCanned();
    closeAssign();
    doc.body.classList.add('has-conv');
    show(byId('conv-empty'), false);
    show(byId('conv-main'), true);
    byId('conv-ticket').textContent = '#' + id;
    byId('conv-name').textContent = 'Loading…';
    byId('conv-subject').textContent = '';
    byId('conv-meta').textContent = '';
    clear(byId('timeline'));
    clear(byId('identities'));
    show(byId('reply-error'), false);
    renderList();
    loadConversation(true);
  }

  function closeConversation(push) {
    if (push) win.history.pushState(null, '', '/');
    state.selectedId = '';
    state.conv = null;
    state.messages = [];
    state.convSeq++;
    state.msgSeq++;
    setPrivate(false);
    doc.body.classList.remove('has-conv');
    show(byId('conv-main'), false);
    show(byId('conv-empty'), true);
    renderList();
  }

  /** loadConversation fetches the conversation and (with messages) its timeline. */
  function loadConversation(withMessages) {
    const id = state.selectedId;
    if (!id) return Promise.resolve();
    const seq = ++state.convSeq;
    const mseq = withMessages ? ++state.msgSeq : state.msgSeq;
    const p = api('GET', '/conversations/' + id).then((c) => {
      if (seq !== state.convSeq) return;
      state.conv = c;
      renderConversation();
    });
    const q = withMessages ? loadMessages(id, mseq) : Promise.resolve();
    return Promise.all([p, q]).then(() => {
      if (mseq === state.msgSeq && withMessages) {
        renderTimeline(true);
        byId('reply-text').focus();
      }
    }, (err) => {
      if (seq !== state.convSeq && mseq !== state.msgSeq) return;
      if (err.status === 404) {
        banner('Conversation ' + id + ' does not exist.');
        closeConversation(true);
        return;
      }
      banner('Could not load the conversation: ' + errorText(err));
    });
  }

  /** loadMessages reads the whole timeline, oldest first, page by page (seq: state.msgSeq). */
  function loadMessages(id, seq) {
    let all = [];
    function page(cursor, n) {
      return api('GET', '/conversations/' + id + '/messages' + query({ cursor, limit: MESSAGE_PAGE })).then((res) => {
        all = all.concat(res.messages || []);
        if (res.next_cursor && n + 1 < MAX_MESSAGE_PAGES) return page(res.next_cursor, n + 1);
        return !!res.next_cursor;
      });
    }
    return page(null, 0).then((truncated) => {
      if (seq !== state.msgSeq) return;
      // Messages the event stream brought while the pages were read stay.
      let merged = all;
      for (const m of state.messages) merged = mergeMessage(merged, m);
      state.messages = merged;
      const note = byId('timeline-note');
      note.textContent = truncated ? 'Showing the first ' + all.length + ' messages of a long conversation.' : '';
      show(note, truncated);
    });
  }

  function renderConversation() {
    const c = state.conv;
    if (!c) return;
    byId('conv-ticket').textContent = ticket(c);
    byId('conv-name').textContent = contactName(c, CHANNELS);
    byId('conv-subject').textContent = c.subject || 'No subject yet';
    const meta = ['created ' + clockOrDate(parseTime(c.created_at) || now(), now())];
    if (c.team) meta.push('team ' + c.team);
    if (c.handoff_at && !c.assignee && c.status !== 'resolved') meta.push('asked for a human' + (c.queue_position ? ' (#' + c.queue_position + ' in the queue)' : ''));
    const due = parseTime(c.first_response_due);
    if (due) meta.push('first response due ' + clockOrDate(due, now()));
    byId('conv-meta').textContent = meta.join(' · ');

    for (const b of doc.querySelectorAll('.seg-btn')) {
      const on = b.dataset.status === c.status;
      b.classList.toggle('active', on);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
    const assign = byId('assign-input');
    if (doc.activeElement !== assign) assign.value = c.assignee || '';
    byId('assign-me').disabled = !state.me || c.assignee === state.me;

    renderTags(c);
    renderIdentities();
    markSeen(c);
    // Keep the list row in step.
    if (state.convs.some((x) => x.id === c.id)) keepRow(c);
  }

  /** renderTags shows the priority, SLA clock, rating and labels. */
  function renderTags(c) {
    const prio = byId('conv-priority');
    prio.textContent = 'priority ' + (c.priority || 'normal');
    prio.className = 'prio prio-' + (c.priority || 'normal');
    const sla = slaClock(c, now());
    const slaBox = byId('conv-sla');
    slaBox.textContent = sla ? 'SLA: ' + sla.text : '';
    slaBox.className = 'sla' + (sla ? ' sla-' + sla.state : '');
    show(slaBox, !!sla);
    const csat = byId('conv-csat');
    const r = c.csat;
    if (r && r.score >= 1 && r.score <= 5) {
      csat.textContent = 'CSAT ' + '★'.repeat(r.score) + '☆'.repeat(5 - r.score) + ' ' + r.score + '/5' + (r.comment ? ' “' + r.comment + '”' : '');
      csat.className = 'csat ' + (r.score <= 2 ? 'csat-low' : r.score >= 4 ? 'csat-high' : 'csat-mid');
      csat.title = r.at ? 'rated ' + fmtFull.format(parseTime(r.at) || now()) : '';
    }
    show(csat, !!(r && r.score));
    const ul = byId('conv-labels');
    clear(ul);
    for (const l of c.labels || []) {
      ul.appendChild(h('li', { className: 'label-chip' }, l,
        h('button', { type: 'button', className: 'label-remove', 'aria-label': 'Remove the label ' + l, onclick: () => changeLabels({ remove: [l] }) }, '×')));
    }
  }

  function changeLabels(body) {
    const id = state.selectedId;
    if (!id) return Promise.resolve();
    return api('POST', '/conversations/' + id + '/labels', body).then((c) => {
      if (id !== state.selectedId) return;
      state.conv = c;
      renderConversation();
      announce(ticket(c) + ' labels: ' + ((c.labels || []).join(', ') || 'none') + '.');
    }, (err) => {
      banner('Could not change the labels: ' + errorText(err));
    });
  }

  function addLabel(e) {
    e.preventDefault();
    const input = byId('label-input');
    const v = input.value.trim();
    if (!v) return;
    changeLabels({ add: [v] }).then(() => { input.value = ''; });
  }

  function renderIdentities() {
    const c = state.conv;
    const list = byId('identities');
    clear(list);
    const via = byId('reply-via');
    const chosen = via.value;
    clear(via);
    via.appendChild(h('option', { value: '' }, 'Automatic'));
    const ids = (c && c.contact && c.contact.identities) || [];
    if (!ids.length) list.appendChild(h('li', { className: 'muted' }, 'No channel identities.'));
    for (const ident of ids) {
      const r = reachability(ident, now());
      const name = identityName(ident, CHANNELS);
      list.appendChild(h('li', { className: 'identity' },
        h('div', { className: 'identity-top' }, badge(ident.channel), h('span', { className: 'identity-name' }, name)),
        h('div', { className: 'identity-meta muted' },
          ident.connector + ' · ' + ident.external_id + (ident.username && ident.username !== name ? ' · @' + ident.username : '')),
        h('div', { className: 'reach ' + (r.ok ? 'reach-ok' : 'reach-closed') }, r.text),
        ident.last_inbound_at ? h('div', { className: 'identity-meta muted' }, 'last message ', timeEl(ident.last_inbound_at, (d) => clockOrDate(d, now()))) : null));
      const label = (CHANNELS[ident.channel] || ident.channel) + ' · ' + name + (r.ok ? '' : ' (' + r.text + ')');
      via.appendChild(h('option', { value: ident.id }, label));
    }
    via.value = chosen;
    if (via.value !== chosen) via.value = '';
  }

  function senderClass(m) {
    const t = (m.sender && m.sender.type) || (m.direction === 'in' ? 'customer' : 'agent');
    return ['customer', 'agent', 'bot', 'system'].indexOf(t) >= 0 ? t : 'system';
  }

  function deliveryEl(m) {
    const d = m.delivery || {};
    if (m.private || m.direction === 'in' || !d.status || d.status === 'received') return null;
    let text = d.status;
    if (d.status === 'failed') text = 'failed' + (d.error ? ': ' + d.error : '');
    else if (d.status === 'queued' && d.attempts > 0) text = 'queued (retry ' + d.attempts + ')';
    else if (d.status === 'queued' && d.error) text = 'queued, last error: ' + d.error;
    return h('span', { className: 'delivery delivery-' + d.status, title: d.error || null }, text);
  }

  function attachmentsEl(m) {
    return media.attachmentsEl(m);
  }

  function buttonsEl(m) {
    const bs = m.buttons || [];
    if (!bs.length) return null;
    const div = h('div', { className: 'msg-buttons', 'aria-label': 'Buttons offered' });
    for (const b of bs) div.appendChild(h('span', { className: 'chip' }, b.label));
    return div;
  }

  function messageEl(m, i) {
    const kind = senderClass(m);
    const cls = 'msg msg-' + kind + (m.private ? ' msg-private' : '') +
      (m.delivery && m.delivery.status === 'failed' ? ' msg-failed' : '') + (m.kind === 'action' ? ' msg-action' : '');
    const who = (m.sender && m.sender.name) || (kind === 'customer' && state.conv ? contactName(state.conv, CHANNELS) : kind);
    const head = h('div', { className: 'msg-head' },
      h('span', { className: 'msg-who' }, who),
      m.channel ? badge(m.channel, m.connector ? 'via ' + m.connector : '') : null,
      m.connector ? h('span', { className: 'msg-connector muted' }, m.connector) : null,
      m.private ? h('span', { className: 'note-tag' }, 'Private note') : null,
      kind === 'bot' && who !== 'Bot' ? h('span', { className: 'bot-tag' }, 'Bot') : null,
      timeEl(m.created_at, clock));
    const label = choiceLabel(state.messages, i);
    const number = m.kind === 'action' ? choiceNumber(m.text) : 0;
    let body = m.text ? h('div', { className: 'msg-text' }, m.text) : null;
    if (label !== null) {
      body = h('div', { className: 'msg-text msg-choice' }, 'Chose ', h('span', { className: 'chip chip-chosen' }, label),
        m.text && m.text !== label ? h('span', { className: 'muted' }, ' (' + m.text + ')') : null);
    } else if (number > 0) {
      // The offer is not in this timeline (a welcome sent before the
      // conversation began): at least say it was a choice.
      body = h('div', { className: 'msg-text msg-choice' }, 'Chose option ', h('span', { className: 'chip chip-chosen' }, String(number)));
    }
    return h('li', { className: cls, dataset: { id: m.id } },
      h('div', { className: 'bubble' }, head, body, attachmentsEl(m), buttonsEl(m),
        h('div', { className: 'msg-foot' }, deliveryEl(m))));
  }

  /** renderTimeline draws the messages with day separators. */
  function renderTimeline(forceScroll) {
    const tl = byId('timeline');
    const nearBottom = tl.scrollHeight - tl.scrollTop - tl.clientHeight < 80;
    clear(tl);
    let lastDay = null;
    state.messages.forEach((m, i) => {
      const d = parseTime(m.created_at);
      if (d && (!lastDay || !sameDay(d, lastDay))) {
        tl.appendChild(h('li', { className: 'day', role: 'separator' }, fmtWeekday.format(d)));
        lastDay = d;
      }
      tl.appendChild(messageEl(m, i));
    });
    if (!state.messages.length) tl.appendChild(h('li', { className: 'day muted' }, 'No messages yet.'));
    if (forceScroll || nearBottom) tl.scrollTop = tl.scrollHeight;
  }

  /** upsertMessage adds or replaces one message of the open timeline. */
  function upsertMessage(m) {
    if (!m || m.conversation_id !== state.selectedId || !state.conv) return;
    state.messages = mergeMessage(state.messages, m);
    renderTimeline(false);
  }

  // ---- actions -----------------------------------------------------------

  /**
   * setPrivate switches the composer between a reply the customer sees and
   * a private note. It is switched back to a reply after every send and on
   * every change of conversation, so that a note mode left on never turns
   * the next reply to another customer into a note they never see.
   */
  function setPrivate(on) {
    byId('reply-private').checked = on;
    byId('reply-form').classList.toggle('reply-private', on);
    show(byId('reply-note-warning'), on);
    byId('reply-via').disabled = on;
    byId('reply-send').textContent = on ? 'Add private note' : 'Send';
    byId('reply-text').placeholder = on
      ? 'Private note: only agents see it. The customer is not sent anything.'
      : 'Write a reply… (Enter sends, Shift+Enter for a new line)';
  }

  function sendReply(e) {
    if (e) e.preventDefault();
    const text = byId('reply-text').value;
    const id = state.selectedId;
    const files = media.files();
    if (!id || (!text.trim() && !files.length)) return;
    const made = replyBody(text, state.canned.picked, byId('reply-private').checked);
    if (!made.error && files.length && made.body.canned_id) {
      made.error = 'A canned reply goes without files: send it first, then the files.';
    }
    if (made.error) {
      byId('reply-error').textContent = made.error;
      show(byId('reply-error'), true);
      return;
    }
    const body = made.body;
    if (byId('reply-via').value) body.via = byId('reply-via').value;
    const btn = byId('reply-send');
    btn.disabled = true;
    show(byId('reply-error'), false);
    const sent = files.length ? media.send(id, body) : api('POST', '/conversations/' + id + '/messages', body);
    sent.then((m) => {
      if (files.length) media.clearFiles();
      if (id !== state.selectedId) return;
      byId('reply-text').value = '';
      dropCanned();
      setPrivate(false);
      upsertMessage(m);
      renderTimeline(true);
    }, (err) => {
      byId('reply-error').textContent = 'Not sent: ' + errorText(err);
      show(byId('reply-error'), true);
    }).then(() => {
      btn.disabled = false;
      byId('reply-text').focus();
    });
  }

  function replyKeys(e) {
    if (state.canned.open && !e.isComposing) {
      // The "/" picker: arrows choose, Enter or Tab takes, Esc closes.
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        state.canned.index = moveIndex(state.canned.index, state.canned.items.length, e.key === 'ArrowDown' ? 1 : -1);
        renderCanned();
        return;
      }
      if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
        if (state.canned.index >= 0) {
          e.preventDefault();
          pickCanned(state.canned.index);
          return;
        }
        if (e.key === 'Tab') return;
        // Nothing matches: this Enter closes the list; the next one sends.
        e.preventDefault();
        closeCanned();
        state.canned.dismissed = true;
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        closeCanned();
        state.canned.dismissed = true;
        return;
      }
    } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229 && !state.canned.dismissed &&
      slashQuery(byId('reply-text').value) !== null) {
      // "/word" typed faster than the list appears: Enter opens it, it does
      // not send "/word" to the customer.
      e.preventDefault();
      env.clearTimeout(cannedTimer);
      searchCanned(slashQuery(byId('reply-text').value));
      return;
    }
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME
    // composition (Chinese, Japanese input) must not send.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendReply();
    } else if (e.key === 'Escape') {
      byId('reply-text').blur();
    }
  }

  // ---- canned replies: "/" in the reply box ------------------------------

  let cannedTimer = null;

  /** onReplyInput opens the picker while the box holds "/word", and notes edits of a picked reply. */
  function onReplyInput() {
    state.canned.dismissed = false;
    updateCannedTag();
    const q = slashQuery(byId('reply-text').value);
    env.clearTimeout(cannedTimer);
    if (q === null) {
      closeCanned();
      return;
    }
    cannedTimer = env.setTimeout(() => searchCanned(q), 150);
  }

  function searchCanned(q) {
    const seq = ++state.canned.seq;
    api('GET', '/canned' + query({ q })).then((body) => {
      if (seq !== state.canned.seq || slashQuery(byId('reply-text').value) === null) return;
      state.canned.items = ((body && body.canned) || []).slice(0, 50);
      state.canned.index = state.canned.items.length ? 0 : -1;
      state.canned.open = true;
      renderCanned('');
    }, (err) => {
      if (seq !== state.canned.seq) return;
      state.canned.items = [];
      state.canned.index = -1;
      state.canned.open = true;
      renderCanned(errorText(err));
    });
  }

  function renderCanned(error) {
    const ul = byId('canned-picker');
    const box = byId('reply-text');
    clear(ul);
    const { items, index } = state.canned;
    if (error) ul.appendChild(h('li', { className: 'picker-note' }, 'Canned replies unavailable: ' + error));
    else if (!items.length) ul.appendChild(h('li', { className: 'picker-note' }, 'No canned reply matches.'));
    items.forEach((c, i) => {
      ul.appendChild(h('li', {
        id: 'canned-' + c.id, role: 'option', className: 'picker-item' + (i === index ? ' active' : ''),
        'aria-selected': i === index ? 'true' : 'false', dataset: { id: c.id },
        onmousedown: (e) => { e.preventDefault(); pickCanned(i); },
      }, h('span', { className: 'picker-key' }, '/' + c.shortcut), h('span', { className: 'picker-text' }, c.text)));
    });
    show(ul, true);
    box.setAttribute('aria-activedescendant', index >= 0 ? 'canned-' + items[index].id : '');
  }

  function closeCanned() {
    state.canned.open = false;
    state.canned.items = [];
    state.canned.index = -1;
    state.canned.seq++;
    clear(byId('canned-picker'));
    show(byId('canned-picker'), false);
    byId('reply-text').setAttribute('aria-activedescendant', '');
  }

  /**
   * pickCanned puts the canned reply into the box, its placeholders filled
   * as the console knows them; sent unchanged it goes as canned_id, so the
   * hub fills them (see replyBody).
   */
  function pickCanned(i) {
    const c = state.canned.items[i];
    if (!c) return;
    const conv = state.conv;
    const shown = fillPlaceholders(c.text, { name: customerName(conv), ticket: conv ? ticket(conv) : '', agent: state.me });
    byId('reply-text').value = shown;
    state.canned.picked = { id: c.id, shortcut: c.shortcut, shown };
    closeCanned();
    updateCannedTag();
    byId('reply-text').focus();
  }

  function dropCanned() {
    state.canned.picked = null;
    env.clearTimeout(cannedTimer);
    closeCanned();
    updateCannedTag();
  }

  function updateCannedTag() {
    const tag = byId('canned-tag');
    const p = state.canned.picked;
    if (!p) {
      show(tag, false);
      return;
    }
    const text = byId('reply-text').value;
    if (text === p.shown) {
      tag.textContent = 'Canned reply /' + p.shortcut + (text.includes('{name}') ? ': the hub puts the customer\'s name for {name}' : '') + '.';
    } else {
      tag.textContent = 'Edited canned reply /' + p.shortcut + ': sent as written.';
    }
    show(tag, true);
  }

  // ---- assign: agents with presence and load, and teams -------------------

  function loadAgents() {
    return api('GET', '/agents').then((b) => {
      state.agents = (b && b.agents) || [];
      return state.agents;
    });
  }

  function teamNames() {
    return teamsOf(state.agents || [], [state.conv && state.conv.team].concat(state.convs.map((c) => c.team)));
  }

  function openAssign() {
    return loadAgents().then(() => {
      if (!state.selectedId) return;
      state.assign.open = true;
      filterAssign();
    }, (err) => {
      if (err && err.status === 401) return;
      banner('Could not list the agents: ' + errorText(err));
    });
  }

  function filterAssign() {
    if (!state.assign.open) return;
    const v = byId('assign-input').value.trim();
    const cur = (state.conv && state.conv.assignee) || '';
    const items = assignChoices(state.agents || [], teamNames(), v === cur ? '' : v);
    if (state.conv && state.conv.assignee) items.push({ kind: 'unassign', name: '' });
    if (state.conv && state.conv.team) items.push({ kind: 'noteam', name: '' });
    state.assign.items = items;
    state.assign.index = -1;
    renderAssign();
  }

  function renderAssign() {
    const ul = byId('assign-picker');
    clear(ul);
    const { items, index } = state.assign;
    if (!items.length) ul.appendChild(h('li', { className: 'picker-note' }, 'No agent or team matches.'));
    items.forEach((c, i) => {
      let label;
      if (c.kind === 'unassign') label = 'Unassign';
      else if (c.kind === 'noteam') label = 'Remove the team';
      else label = choiceText(c);
      ul.appendChild(h('li', {
        id: 'assign-opt-' + i, role: 'option', className: 'picker-item assign-' + c.kind + (i === index ? ' active' : '') + (c.full ? ' full' : ''),
        'aria-selected': i === index ? 'true' : 'false', dataset: { kind: c.kind, name: c.name },
        onmousedown: (e) => { e.preventDefault(); pickAssign(i); },
      }, c.kind === 'agent' ? h('span', { className: 'dot dot-' + c.presence, 'aria-hidden': 'true' }) : null, label));
    });
    show(ul, true);
    const input = byId('assign-input');
    input.setAttribute('aria-expanded', 'true');
    input.setAttribute('aria-activedescendant', index >= 0 ? 'assign-opt-' + index : '');
  }

  function closeAssign() {
    state.assign.open = false;
    state.assign.items = [];
    state.assign.index = -1;
    clear(byId('assign-picker'));
    show(byId('assign-picker'), false);
    byId('assign-input').setAttribute('aria-expanded', 'false');
  }

  function pickAssign(i) {
    const c = state.assign.items[i];
    if (!c) return;
    closeAssign();
    if (c.kind === 'agent') assignWith({ assignee: c.name });
    else if (c.kind === 'team') assignWith({ team: c.name });
    else if (c.kind === 'unassign') assignWith({ assignee: null });
    else if (c.kind === 'noteam') assignWith({ team: null });
  }

  function assignKeys(e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!state.assign.open) {
        openAssign();
        return;
      }
      state.assign.index = moveIndex(state.assign.index, state.assign.items.length, e.key === 'ArrowDown' ? 1 : -1);
      renderAssign();
    } else if (e.key === 'Enter' && state.assign.open && state.assign.index >= 0) {
      e.preventDefault();
      pickAssign(state.assign.index);
    } else if (e.key === 'Escape' && state.assign.open) {
      e.preventDefault();
      closeAssign();
    }
  }

  function setStatus(status) {
    const id = state.selectedId;
    if (!id) return;
    api('POST', '/conversations/' + id + '/status', { status }).then((c) => {
      if (id !== state.selectedId) return;
      state.conv = c;
      renderConversation();
      announce('Conversation ' + ticket(c) + ' is ' + c.status + '.');
    }, (err) => {
      banner('Could not set the status: ' + errorText(err));
    });
  }

  function assignTo(who) {
    assignWith({ assignee: who || null });
  }

  function assignWith(body) {
    const id = state.selectedId;
    if (!id) return;
    api('POST', '/conversations/' + id + '/assign', body).then((c) => {
      if (id !== state.selectedId) return;
      state.conv = c;
      byId('assign-input').blur();
      renderConversation();
      if ('team' in body && !('assignee' in body)) announce(c.team ? ticket(c) + ' is with team ' + c.team + '.' : ticket(c) + ' has no team.');
      else announce(c.assignee ? ticket(c) + ' assigned to ' + c.assignee + '.' : ticket(c) + ' unassigned.');
    }, (err) => {
      banner('Could not assign: ' + errorText(err));
    });
  }

  function assign(e) {
    e.preventDefault();
    closeAssign();
    assignTo(byId('assign-input').value.trim());
  }

  // ---- keyboard shortcuts ------------------------------------------------

  function renderHelp() {
    const list = byId('shortcuts-list');
    clear(list);
    for (const s of SHORTCUTS) list.appendChild(h('li', null, h('kbd', null, s.key), ' ' + s.help));
  }

  function toggleHelp(on) {
    show(byId('shortcuts'), on);
    if (on) byId('shortcuts-close').focus();
  }

  function onShortcut(e) {
    if (e.key === 'Escape') {
      // An Escape that closed a list (canned replies, assign) did its job.
      if (e.defaultPrevented) return;
      if (!byId('shortcuts').hidden) { toggleHelp(false); return; }
      if (doc.body.classList.contains('has-conv') && win.matchMedia('(max-width: 800px)').matches) closeConversation(true);
      return;
    }
    if (byId('app').hidden) return;
    const action = shortcut(e);
    if (!action || (state.page !== 'inbox' && action !== 'help')) return;
    e.preventDefault();
    switch (action) {
      case 'next':
      case 'previous': {
        const id = neighbour(state.convs, state.selectedId, action === 'next' ? 1 : -1);
        if (id) selectConversation(id, true);
        break;
      }
      case 'reply':
        if (state.selectedId) { setPrivate(false); byId('reply-text').focus(); }
        break;
      case 'note':
        if (state.selectedId) { setPrivate(true); byId('reply-text').focus(); }
        break;
      case 'resolve':
        if (state.conv && state.conv.status !== 'resolved') setStatus('resolved');
        break;
      case 'assignMe':
        if (state.conv && state.me && state.conv.assignee !== state.me) assignTo(state.me);
        break;
      case 'help':
        toggleHelp(byId('shortcuts').hidden);
        break;
      default:
    }
  }

  // ---- live updates ------------------------------------------------------

  let countTimer = null;
  let convTimer = null;

  /** The queue sizes are one aggregate query: refreshed at most every 400 ms. */
  function scheduleCounts() {
    if (countTimer !== null) return;
    countTimer = env.setTimeout(() => {
      countTimer = null;
      if (state.token) loadCounts();
    }, 400);
  }

  function scheduleConvRefresh() {
    if (convTimer !== null) return;
    convTimer = env.setTimeout(() => {
      convTimer = null;
      if (state.token && state.selectedId) loadConversation(false);
    }, 400);
  }

  /** row is what the console knows of a conversation (null: nothing). */
  function row(id) {
    return state.convs.find((c) => c.id === id) || (state.conv && state.conv.id === id ? state.conv : null) ||
      state.outside.get(id) || null;
  }

  function onEvent(ev) {
    let e;
    try { e = JSON.parse(ev.data); } catch (err) { return; }
    const type = e.type || ev.type;
    const convId = e.conversation_id || '';
    const data = e.data || {};
    switch (type) {
      case 'message.created':
      case 'message.updated': {
        if (convId === state.selectedId) {
          if (data && data.id && data.conversation_id) upsertMessage(data);
          else scheduleConvRefresh();
          if (type === 'message.created' && data.direction === 'in') {
            // An inbound message moves the identity's reply window.
            scheduleConvRefresh();
            announce('New message from ' + (state.conv ? contactName(state.conv, CHANNELS) : 'the customer') + ': ' + (data.text || ''));
          }
        }
        const r = row(convId);
        if (r && data && data.id) keepRow(withMessage(r, data));
        else if (!r && convId && type === 'message.created') fetchRow(convId);
        scheduleCounts();
        break;
      }
      case 'conversation.created':
        if (convId && !row(convId)) fetchRow(convId);
        scheduleCounts();
        break;
      case 'conversation.updated': {
        const r = row(convId);
        if (r) {
          const c = withChanges(r, data.changes || {}, e.created_at);
          if (state.conv && state.conv.id === convId) state.conv = Object.assign({}, state.conv, c);
          keepRow(c);
          if (convId === state.selectedId) renderConversation();
        } else if (convId) fetchRow(convId);
        scheduleCounts();
        break;
      }
      case 'conversation.handoff': {
        const r = row(convId);
        if (r) keepRow(Object.assign({}, r, { handoff_at: data.handoff_at || e.created_at }));
        else if (convId) fetchRow(convId);
        if (convId === state.selectedId) scheduleConvRefresh();
        scheduleCounts();
        break;
      }
      case 'sla.warning':
      case 'sla.breached': {
        const r = row(convId);
        if (r) {
          const c = withSLAEvent(r, type, data);
          if (state.conv && state.conv.id === convId) state.conv = Object.assign({}, state.conv, c);
          keepRow(c);
          if (convId === state.selectedId) renderConversation();
        }
        if (type === 'sla.breached') scheduleCounts();
        break;
      }
      case 'csat.received': {
        const r = row(convId);
        const rating = { score: data.score, comment: null, at: data.at || e.created_at };
        if (r) keepRow(Object.assign({}, r, { csat: rating }));
        if (state.conv && state.conv.id === convId) {
          state.conv = Object.assign({}, state.conv, { csat: rating });
          renderConversation();
        }
        break;
      }
      case 'agent.presence':
        if (state.agents) {
          state.agents = withPresence(state.agents, data);
          if (state.assign.open) filterAssign();
        }
        break;
      case 'contact.updated':
        if (state.conv && state.conv.contact && (data.id === state.conv.contact.id || convId === state.selectedId)) scheduleConvRefresh();
        for (const c of state.convs) if (c.contact && c.contact.id === data.id) fetchRowAgain(c.id);
        break;
      case 'contact.merged':
      case 'contact.merge_undone':
      case 'identity.unlinked':
        // Conversations move between contacts or empty: rare, and what
        // moved is not in the payload, so the view is read again.
        loadList(false);
        if (state.selectedId) scheduleConvRefresh();
        scheduleCounts();
        break;
      default:
    }
  }

  /** fetchRowAgain rereads one row the list holds (its contact changed). */
  function fetchRowAgain(id) {
    api('GET', '/conversations/' + id).then((c) => { if (state.token) keepRow(c); }, () => {});
  }

  function setLive(text, cls) {
    const el = byId('live');
    el.textContent = text;
    el.className = 'live ' + (cls || '');
  }

  function startStream() {
    if (state.stream) state.stream.close();
    const stream = new env.EventStream({
      url: API + '/events',
      headers: () => ({ Authorization: 'Bearer ' + state.token }),
      onEvent,
      onState(s, info) {
        if (s === 'connecting') setLive('Connecting…', 'live-wait');
        else if (s === 'open') {
          setLive('Live', 'live-ok');
          // A first connection starts at "now": reload once so that nothing
          // that happened while the page loaded is missed. A resumed one
          // replays the gap itself.
          if (!info.resumed) {
            loadList(false);
            scheduleCounts();
            if (state.selectedId) scheduleConvRefresh();
          }
        } else if (s === 'waiting') {
          setLive('Reconnecting in ' + Math.ceil(info.delay / 1000) + ' s', 'live-bad');
          if (info.error) byId('live').title = errorText(info.error);
        } else if (s === 'closed') setLive('Offline', 'live-bad');
      },
      onAuthError(err) { signOut('Your token was not accepted: ' + err.message); },
    });
    state.stream = stream;
    stream.start();
  }

  // ---- wiring ------------------------------------------------------------

  let searchTimer = null;

  function wire() {
    byId('signin-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const t = byId('signin-token').value.trim();
      if (!t) {
        showSignIn('Paste a token first.');
        return;
      }
      state.token = t;
      store(TOKEN_KEY, t);
      startApp();
    });
    byId('signout').addEventListener('click', () => signOut(''));
    byId('banner-close').addEventListener('click', () => banner(''));

    byId('filters').addEventListener('submit', (e) => { e.preventDefault(); applyFilters(); });
    byId('filter-status').addEventListener('change', applyFilters);
    byId('filter-channel').addEventListener('change', applyFilters);
    byId('filter-q').addEventListener('input', () => {
      env.clearTimeout(searchTimer);
      searchTimer = env.setTimeout(applyFilters, 300);
    });
    byId('load-more').addEventListener('click', () => loadList(true));
    byId('conv-list').addEventListener('keydown', listKeys);

    byId('back').addEventListener('click', () => closeConversation(true));
    for (const b of doc.querySelectorAll('.seg-btn')) {
      b.addEventListener('click', () => setStatus(b.dataset.status));
    }
    byId('assign-form').addEventListener('submit', assign);
    byId('assign-input').addEventListener('focus', () => { if (!state.assign.open) openAssign(); });
    byId('assign-input').addEventListener('click', () => { if (!state.assign.open) openAssign(); });
    byId('assign-input').addEventListener('input', () => { if (state.assign.open) filterAssign(); else openAssign(); });
    byId('assign-input').addEventListener('keydown', assignKeys);
    byId('assign-input').addEventListener('blur', closeAssign);
    byId('label-form').addEventListener('submit', addLabel);
    byId('reply-text').addEventListener('input', onReplyInput);
    byId('reply-text').addEventListener('blur', closeCanned);
    byId('nav-inbox').addEventListener('click', (e) => goTo('/', e));
    byId('nav-reports').addEventListener('click', (e) => goTo('/reports', e));
    byId('assign-me').addEventListener('click', () => { if (state.me) assignTo(state.me); });
    byId('reply-form').addEventListener('submit', sendReply);
    media.attachTo({ form: byId('reply-form'), text: byId('reply-text'), button: byId('reply-attach'),
      input: byId('reply-file'), list: byId('reply-files') });
    byId('reply-text').addEventListener('keydown', replyKeys);
    byId('reply-private').addEventListener('change', () => setPrivate(byId('reply-private').checked));
    byId('shortcuts-open').addEventListener('click', () => toggleHelp(true));
    byId('shortcuts-close').addEventListener('click', () => toggleHelp(false));
    win.addEventListener('popstate', () => selectFromPath(true));
    doc.addEventListener('keydown', onShortcut);
    // Reply windows close, waiting times grow and SLA clocks run as time
    // passes: redraw them every 30 s.
    env.setInterval(() => {
      if (state.conv) {
        renderIdentities();
        renderTags(state.conv);
      }
      if (state.convs.length) renderList();
    }, 30000);
  }

  wire();
  renderHelp();
  setPrivate(false);
  state.token = readToken();
  if (state.token) startApp();
  else showSignIn('');
}
