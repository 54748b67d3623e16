/* Tongdao agent console. Plain JavaScript, no dependencies, no build step.
 *
 * Talks only to /api/v1 with "Authorization: Bearer TOKEN". All text from
 * the API is put into the page with textContent, never as HTML.
 */
(function () {
  'use strict';

  var API = '/api/v1';
  var TOKEN_KEY = 'tongdao.token';
  var FILTER_KEY = 'tongdao.filters';
  var PAGE = 25;
  var MESSAGE_PAGE = 100;
  var MAX_MESSAGE_PAGES = 20;
  // Channel titles by name, from GET /channels (the hub's connector types).
  var CHANNELS = Object.create(null);
  var CHANNEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
  var STATUSES = ['open', 'pending', 'snoozed', 'resolved'];

  var SSE = window.TongdaoSSE;

  // ---- state -------------------------------------------------------------

  var state = {
    token: '',
    filters: { status: '', channel: '', q: '' },
    convs: [],          // the loaded list, newest activity first
    nextCursor: null,
    listSeq: 0,         // guards against out-of-order list responses
    selectedId: '',
    conv: null,         // the selected conversation (full)
    messages: [],       // its timeline, oldest first
    convSeq: 0,
    stream: null
  };

  // ---- DOM helpers -------------------------------------------------------

  function byId(id) { return document.getElementById(id); }

  /** h builds an element: h('p', {className: 'x'}, 'text', child...). */
  function h(tag, props) {
    var el = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'className') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k === 'dataset') Object.keys(v).forEach(function (d) { el.dataset[d] = v[d]; });
        else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return el;
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function show(el, on) { el.hidden = !on; }

  // ---- time --------------------------------------------------------------

  var fmtTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  var fmtDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
  var fmtDate = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  var fmtFull = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  var fmtWeekday = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'short', day: 'numeric' });

  function parseTime(s) {
    if (!s) return null;
    var d = new Date(s);
    return isNaN(d.getTime()) ? null : d;
  }

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }

  /** shortTime: 14:02 today, "Mar 3" this year, else the full date. */
  function shortTime(d) {
    var now = new Date();
    if (sameDay(d, now)) return fmtTime.format(d);
    if (d.getFullYear() === now.getFullYear()) return fmtDay.format(d);
    return fmtDate.format(d);
  }

  /** clockOrDate: "14:02" today, else "Mar 3, 14:02". */
  function clockOrDate(d) {
    return sameDay(d, new Date()) ? fmtTime.format(d) : fmtDay.format(d) + ', ' + fmtTime.format(d);
  }

  function timeEl(s, text) {
    var d = parseTime(s);
    if (!d) return h('span');
    return h('time', { datetime: d.toISOString(), title: fmtFull.format(d) }, text(d));
  }

  // ---- API ---------------------------------------------------------------

  /** api calls the agent API; it rejects with an Error carrying code and status. */
  function api(method, path, body) {
    var headers = { Authorization: 'Bearer ' + state.token, Accept: 'application/json' };
    var init = { method: method, headers: headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(API + path, init).then(function (res) {
      if (!res.ok) {
        return SSE.readError(res).then(function (err) {
          if (err.status === 401) signOut('Your token was not accepted: ' + err.message);
          throw err;
        });
      }
      if (res.status === 204) return null;
      return res.json();
    }, function (err) {
      var e = new Error('The hub cannot be reached (' + (err && err.message ? err.message : 'network error') + ').');
      e.code = 'network';
      throw e;
    });
  }

  function errorText(err) {
    if (!err) return 'Unknown error.';
    if (err.code && err.code !== 'network') return err.message + ' (' + err.code + ')';
    return err.message || String(err);
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v === undefined || v === null || v === '') return;
      parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    });
    return parts.length ? '?' + parts.join('&') : '';
  }

  // ---- banner ------------------------------------------------------------

  function banner(text) {
    byId('banner-text').textContent = text;
    show(byId('banner'), !!text);
  }

  // ---- sign-in -----------------------------------------------------------

  function readToken() {
    // A token in the URL fragment (#token=...) is taken once, moved to
    // sessionStorage and removed from the address bar and history.
    var m = /^#token=([^&]+)/.exec(location.hash);
    if (m) {
      try { sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1])); } catch (e) { /* storage off */ }
      history.replaceState(null, '', location.pathname + location.search);
    }
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function showSignIn(message) {
    show(byId('app'), false);
    show(byId('signin'), true);
    var err = byId('signin-error');
    err.textContent = message || '';
    show(err, !!message);
    byId('signin-token').value = '';
    byId('signin-token').focus();
  }

  function signOut(message) {
    if (state.stream) state.stream.close();
    state.stream = null;
    state.token = '';
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off */ }
    state.convs = [];
    state.selectedId = '';
    state.conv = null;
    state.messages = [];
    state.listSeq++;
    state.convSeq++;
    banner('');
    showSignIn(message);
  }

  function startApp() {
    show(byId('signin'), false);
    show(byId('app'), true);
    byId('filter-q').focus();
    loadChannels().then(function () {
      if (!state.token) return; // signed out meanwhile (token refused)
      loadFilters();
      selectFromPath(false);
      loadList(false);
      startStream();
    });
  }

  /**
   * loadChannels reads the channels the hub carries and builds the channel
   * filter's options from them. On failure the filter offers only "All
   * channels" and badges show the raw channel names.
   */
  function loadChannels() {
    return api('GET', '/channels').then(function (body) {
      CHANNELS = Object.create(null);
      var select = byId('filter-channel');
      while (select.options.length > 1) select.remove(1);
      ((body && body.channels) || []).forEach(function (ch) {
        if (!ch || typeof ch.name !== 'string' || !CHANNEL_NAME.test(ch.name)) return;
        CHANNELS[ch.name] = ch.title || ch.name;
        select.appendChild(h('option', { value: ch.name }, CHANNELS[ch.name]));
      });
    }, function (err) {
      if (err && err.status === 401) return; // api() signed out already
      banner('Could not load the channels: ' + errorText(err));
    });
  }

  // ---- filters -----------------------------------------------------------

  function loadFilters() {
    try {
      var f = JSON.parse(sessionStorage.getItem(FILTER_KEY) || '{}');
      if (STATUSES.indexOf(f.status) >= 0) state.filters.status = f.status;
      if (CHANNELS[f.channel]) state.filters.channel = f.channel;
      if (typeof f.q === 'string') state.filters.q = f.q.slice(0, 200);
    } catch (e) { /* ignore stale or broken storage */ }
    byId('filter-status').value = state.filters.status;
    byId('filter-channel').value = state.filters.channel;
    byId('filter-q').value = state.filters.q;
  }

  function applyFilters() {
    state.filters = {
      status: byId('filter-status').value,
      channel: byId('filter-channel').value,
      q: byId('filter-q').value.trim()
    };
    try { sessionStorage.setItem(FILTER_KEY, JSON.stringify(state.filters)); } catch (e) { /* storage off */ }
    loadList(false);
  }

  // ---- the inbox list ----------------------------------------------------

  /**
   * loadList loads the first page (or, with more, the next page). A refresh
   * triggered by events reloads as many rows as are shown, so the list does
   * not shrink under the agent.
   */
  function loadList(more, refresh) {
    var seq = ++state.listSeq;
    var limit = PAGE;
    if (refresh) limit = Math.min(100, Math.max(PAGE, state.convs.length));
    var params = { status: state.filters.status, channel: state.filters.channel, q: state.filters.q, limit: limit };
    if (more) params.cursor = state.nextCursor;
    var list = byId('conv-list');
    list.setAttribute('aria-busy', 'true');
    byId('load-more').disabled = true;
    return api('GET', '/conversations' + query(params)).then(function (page) {
      if (seq !== state.listSeq) return;
      var rows = page.conversations || [];
      state.convs = more ? mergeConvs(state.convs, rows) : rows;
      state.nextCursor = page.next_cursor || null;
      show(byId('list-error'), false);
      renderList();
    }, function (err) {
      if (seq !== state.listSeq) return;
      byId('list-error').textContent = 'Could not load conversations: ' + errorText(err);
      show(byId('list-error'), true);
    }).then(function () {
      if (seq !== state.listSeq) return;
      list.setAttribute('aria-busy', 'false');
      byId('load-more').disabled = false;
    });
  }

  function mergeConvs(a, b) {
    var seen = {};
    a.forEach(function (c) { seen[c.id] = true; });
    return a.concat(b.filter(function (c) { return !seen[c.id]; }));
  }

  function channelsOf(contact) {
    var seen = {};
    var out = [];
    ((contact && contact.identities) || []).forEach(function (i) {
      if (!seen[i.channel]) { seen[i.channel] = true; out.push(i.channel); }
    });
    return out;
  }

  function badge(channel, extra) {
    var name = CHANNELS[channel] || channel || 'unknown';
    // Channels with a colour of their own have a badge-<name> rule in
    // app.css; any other channel keeps the neutral .badge style.
    var cls = 'badge' + (CHANNEL_NAME.test(channel || '') ? ' badge-' + channel : '');
    return h('span', { className: cls, title: extra || name }, name);
  }

  function statusPill(status) {
    return h('span', { className: 'pill pill-' + status }, status);
  }

  function contactName(c) {
    var contact = c.contact || {};
    if (contact.name) return contact.name;
    var ids = contact.identities || [];
    for (var i = 0; i < ids.length; i++) {
      if (ids[i].display_name) return ids[i].display_name;
      if (ids[i].username) return ids[i].username;
    }
    if (ids.length) return identityName(ids[0]);
    return 'Contact ' + (contact.id || '?');
  }

  /** identityName names an identity; WeChat gives no names, only an OpenID. */
  function identityName(ident) {
    if (ident.display_name) return ident.display_name;
    if (ident.username) return ident.username;
    var ext = ident.external_id || '';
    return (CHANNELS[ident.channel] || ident.channel) + ' user ' + (ext.length > 10 ? '…' + ext.slice(-6) : ext);
  }

  function renderList() {
    var list = byId('conv-list');
    clear(list);
    state.convs.forEach(function (c) {
      var selected = c.id === state.selectedId;
      var badges = h('span', { className: 'badges' });
      channelsOf(c.contact).forEach(function (ch) { badges.appendChild(badge(ch)); });
      var row = h('button', {
        type: 'button', className: 'conv-row' + (selected ? ' selected' : ''),
        'aria-current': selected ? 'true' : null, dataset: { id: c.id },
        onclick: function () { selectConversation(c.id, true); }
      },
      h('span', { className: 'row-top' },
        h('span', { className: 'row-name' }, contactName(c)),
        timeEl(c.last_message_at, shortTime)),
      h('span', { className: 'row-subject' }, c.subject || 'No subject'),
      h('span', { className: 'row-bottom' },
        badges,
        statusPill(c.status),
        h('span', { className: 'row-assignee' + (c.assignee ? '' : ' muted') }, c.assignee || 'unassigned')));
      list.appendChild(h('li', null, row));
    });
    show(byId('list-empty'), state.convs.length === 0 && byId('list-error').hidden);
    show(byId('load-more'), !!state.nextCursor);
  }

  /** Arrow keys move between rows of the list. */
  function listKeys(e) {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    var rows = Array.prototype.slice.call(byId('conv-list').querySelectorAll('.conv-row'));
    var i = rows.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    var next = rows[e.key === 'ArrowDown' ? Math.min(rows.length - 1, i + 1) : Math.max(0, i - 1)];
    next.focus();
  }

  // ---- the selected conversation ----------------------------------------

  function selectFromPath(fromHistory) {
    var m = /^\/c\/([1-9][0-9]{0,18})\/?$/.exec(location.pathname);
    if (m) selectConversation(m[1], false);
    else if (fromHistory) closeConversation(false);
  }

  function selectConversation(id, push) {
    if (push && location.pathname !== '/c/' + id) history.pushState({ id: id }, '', '/c/' + id);
    if (id === state.selectedId && state.conv) {
      byId('reply-text').focus();
      return;
    }
    state.selectedId = id;
    state.conv = null;
    state.messages = [];
    setPrivate(false);
    byId('reply-text').value = '';
    document.body.classList.add('has-conv');
    show(byId('conv-empty'), false);
    show(byId('conv-main'), true);
    byId('conv-name').textContent = 'Loading…';
    byId('conv-meta').textContent = '';
    clear(byId('timeline'));
    clear(byId('identities'));
    show(byId('reply-error'), false);
    renderList();
    loadConversation(true);
  }

  function closeConversation(push) {
    if (push) history.pushState(null, '', '/');
    state.selectedId = '';
    state.conv = null;
    state.messages = [];
    state.convSeq++;
    setPrivate(false);
    document.body.classList.remove('has-conv');
    show(byId('conv-main'), false);
    show(byId('conv-empty'), true);
    renderList();
  }

  /** loadConversation fetches the conversation and (with messages) its timeline. */
  function loadConversation(withMessages) {
    var id = state.selectedId;
    if (!id) return Promise.resolve();
    var seq = ++state.convSeq;
    var p = api('GET', '/conversations/' + id).then(function (c) {
      if (seq !== state.convSeq) return;
      state.conv = c;
      renderConversation();
    });
    var q = withMessages ? loadMessages(id, seq) : Promise.resolve();
    return Promise.all([p, q]).then(function () {
      if (seq === state.convSeq && withMessages) {
        renderTimeline(true);
        byId('reply-text').focus();
      }
    }, function (err) {
      if (seq !== state.convSeq) return;
      if (err.status === 404) {
        banner('Conversation ' + id + ' does not exist.');
        closeConversation(true);
        return;
      }
      banner('Could not load the conversation: ' + errorText(err));
    });
  }

  /** loadMessages reads the whole timeline, oldest first, page by page. */
  function loadMessages(id, seq) {
    var all = [];
    function page(cursor, n) {
      return api('GET', '/conversations/' + id + '/messages' + query({ cursor: cursor, limit: MESSAGE_PAGE })).then(function (res) {
        all = all.concat(res.messages || []);
        if (res.next_cursor && n + 1 < MAX_MESSAGE_PAGES) return page(res.next_cursor, n + 1);
        return res.next_cursor ? true : false;
      });
    }
    return page(null, 0).then(function (truncated) {
      if (seq !== state.convSeq) return;
      state.messages = all;
      var note = byId('timeline-note');
      note.textContent = truncated ? 'Showing the first ' + all.length + ' messages of a long conversation.' : '';
      show(note, truncated);
    });
  }

  function renderConversation() {
    var c = state.conv;
    if (!c) return;
    byId('conv-name').textContent = contactName(c);
    var meta = [c.subject || 'No subject', 'created ' + clockOrDate(parseTime(c.created_at) || new Date())];
    if (c.priority && c.priority !== 'normal') meta.push('priority ' + c.priority);
    if (c.team) meta.push('team ' + c.team);
    var due = parseTime(c.first_response_due);
    if (due) meta.push('first response due ' + clockOrDate(due));
    byId('conv-meta').textContent = meta.join(' · ');

    Array.prototype.forEach.call(document.querySelectorAll('.seg-btn'), function (b) {
      var on = b.dataset.status === c.status;
      b.classList.toggle('active', on);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    });
    var assign = byId('assign-input');
    if (document.activeElement !== assign) assign.value = c.assignee || '';

    renderIdentities();

    // Keep the list row in step without waiting for a refresh.
    for (var i = 0; i < state.convs.length; i++) {
      if (state.convs[i].id === c.id) {
        state.convs[i] = c;
        renderList();
        break;
      }
    }
  }

  /** reachability describes whether and until when an identity can be answered. */
  function reachability(ident) {
    if (ident.reachable === false) {
      return { ok: false, text: ident.unreachable_reason ? 'unreachable: ' + ident.unreachable_reason : 'unreachable' };
    }
    var until = parseTime(ident.reply_until);
    if (!until) return { ok: true, text: 'reachable' };
    if (until.getTime() <= Date.now()) return { ok: false, text: 'window closed' };
    return { ok: true, text: 'can reply until ' + clockOrDate(until) };
  }

  function renderIdentities() {
    var c = state.conv;
    var list = byId('identities');
    clear(list);
    var via = byId('reply-via');
    var chosen = via.value;
    clear(via);
    via.appendChild(h('option', { value: '' }, 'Automatic'));
    var ids = (c && c.contact && c.contact.identities) || [];
    if (!ids.length) list.appendChild(h('li', { className: 'muted' }, 'No channel identities.'));
    ids.forEach(function (ident) {
      var r = reachability(ident);
      var name = identityName(ident);
      list.appendChild(h('li', { className: 'identity' },
        h('div', { className: 'identity-top' }, badge(ident.channel), h('span', { className: 'identity-name' }, name)),
        h('div', { className: 'identity-meta muted' },
          ident.connector + ' · ' + ident.external_id + (ident.username && ident.username !== name ? ' · @' + ident.username : '')),
        h('div', { className: 'reach ' + (r.ok ? 'reach-ok' : 'reach-closed') }, r.text),
        ident.last_inbound_at ? h('div', { className: 'identity-meta muted' }, 'last message ', timeEl(ident.last_inbound_at, clockOrDate)) : null));
      var label = (CHANNELS[ident.channel] || ident.channel) + ' · ' + name + (r.ok ? '' : ' (' + r.text + ')');
      via.appendChild(h('option', { value: ident.id }, label));
    });
    via.value = chosen;
    if (via.value !== chosen) via.value = '';
  }

  function senderClass(m) {
    var t = (m.sender && m.sender.type) || (m.direction === 'in' ? 'customer' : 'agent');
    return ['customer', 'agent', 'bot', 'system'].indexOf(t) >= 0 ? t : 'system';
  }

  function deliveryEl(m) {
    var d = m.delivery || {};
    if (m.private || m.direction === 'in' || !d.status || d.status === 'received') return null;
    var text = d.status;
    if (d.status === 'failed') text = 'failed' + (d.error ? ': ' + d.error : '');
    else if (d.status === 'queued' && d.attempts > 0) text = 'queued (retry ' + d.attempts + ')';
    else if (d.status === 'queued' && d.error) text = 'queued, last error: ' + d.error;
    return h('span', { className: 'delivery delivery-' + d.status, title: d.error || null }, text);
  }

  function attachmentsEl(m) {
    var atts = m.attachments || [];
    if (!atts.length) return null;
    var ul = h('ul', { className: 'attachments' });
    atts.forEach(function (a) {
      var label = a.type + (a.name || a.title ? ': ' + (a.name || a.title) : '');
      var safe = typeof a.url === 'string' && /^https?:\/\//i.test(a.url);
      ul.appendChild(h('li', null, safe
        ? h('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer' }, label)
        : h('span', null, label)));
    });
    return ul;
  }

  function buttonsEl(m) {
    var bs = m.buttons || [];
    if (!bs.length) return null;
    var div = h('div', { className: 'msg-buttons', 'aria-label': 'Buttons offered' });
    bs.forEach(function (b) { div.appendChild(h('span', { className: 'chip' }, b.label)); });
    return div;
  }

  function messageEl(m) {
    var kind = senderClass(m);
    var cls = 'msg msg-' + kind + (m.private ? ' msg-private' : '') +
      (m.delivery && m.delivery.status === 'failed' ? ' msg-failed' : '');
    var who = (m.sender && m.sender.name) || (kind === 'customer' && state.conv ? contactName(state.conv) : kind);
    var head = h('div', { className: 'msg-head' },
      h('span', { className: 'msg-who' }, who),
      m.channel ? badge(m.channel, m.connector ? 'via ' + m.connector : '') : null,
      m.connector ? h('span', { className: 'msg-connector muted' }, m.connector) : null,
      m.private ? h('span', { className: 'note-tag' }, 'Private note') : null,
      timeEl(m.created_at, function (d) { return fmtTime.format(d); }));
    var body = h('div', { className: 'msg-text' }, m.text || '');
    return h('li', { className: cls, dataset: { id: m.id } },
      h('div', { className: 'bubble' }, head, m.text ? body : null, attachmentsEl(m), buttonsEl(m),
        h('div', { className: 'msg-foot' }, deliveryEl(m))));
  }

  /** renderTimeline draws the messages with day separators. */
  function renderTimeline(forceScroll) {
    var tl = byId('timeline');
    var nearBottom = tl.scrollHeight - tl.scrollTop - tl.clientHeight < 80;
    clear(tl);
    var lastDay = null;
    state.messages.forEach(function (m) {
      var d = parseTime(m.created_at);
      if (d && (!lastDay || !sameDay(d, lastDay))) {
        tl.appendChild(h('li', { className: 'day', role: 'separator' }, fmtWeekday.format(d)));
        lastDay = d;
      }
      tl.appendChild(messageEl(m));
    });
    if (!state.messages.length) tl.appendChild(h('li', { className: 'day muted' }, 'No messages yet.'));
    if (forceScroll || nearBottom) tl.scrollTop = tl.scrollHeight;
  }

  /**
   * isStale reports whether next is an older copy of cur: the reply's 202
   * answer (queued) can arrive after the event that says it was sent or
   * failed. Delivery only moves forward: queued (more attempts later), then
   * sent, failed or received.
   */
  function isStale(next, cur) {
    var a = next.delivery || {}, b = cur.delivery || {};
    var done = function (d) { return d.status && d.status !== 'queued'; };
    if (done(b) && !done(a)) return true;
    return !done(a) && !done(b) && (a.attempts || 0) < (b.attempts || 0);
  }

  /** upsertMessage adds or replaces one message of the open timeline. */
  function upsertMessage(m) {
    if (!m || m.conversation_id !== state.selectedId || !state.conv) return;
    var i;
    for (i = 0; i < state.messages.length; i++) {
      if (state.messages[i].id === m.id) break;
    }
    if (i < state.messages.length) {
      if (isStale(m, state.messages[i])) return;
      state.messages[i] = m;
    } else {
      state.messages.push(m);
      state.messages.sort(function (a, b) {
        return (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0) ||
          (Number(a.id) - Number(b.id));
      });
    }
    renderTimeline(false);
  }

  // ---- actions -----------------------------------------------------------

  function sendReply(e) {
    if (e) e.preventDefault();
    var text = byId('reply-text').value;
    var id = state.selectedId;
    if (!id || !text.trim()) return;
    var body = { text: text, private: byId('reply-private').checked };
    if (byId('reply-via').value) body.via = byId('reply-via').value;
    var btn = byId('reply-send');
    btn.disabled = true;
    show(byId('reply-error'), false);
    api('POST', '/conversations/' + id + '/messages', body).then(function (m) {
      if (id !== state.selectedId) return;
      byId('reply-text').value = '';
      setPrivate(false);
      upsertMessage(m);
      renderTimeline(true);
    }, function (err) {
      byId('reply-error').textContent = 'Not sent: ' + errorText(err);
      show(byId('reply-error'), true);
    }).then(function () {
      btn.disabled = false;
      byId('reply-text').focus();
    });
  }

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

  function replyKeys(e) {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME
    // composition (Chinese, Japanese input) must not send.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendReply();
    }
  }

  function setStatus(status) {
    var id = state.selectedId;
    if (!id) return;
    api('POST', '/conversations/' + id + '/status', { status: status }).then(function (c) {
      if (id !== state.selectedId) return;
      state.conv = c;
      renderConversation();
      scheduleListRefresh();
    }, function (err) {
      banner('Could not set the status: ' + errorText(err));
    });
  }

  function assign(e) {
    e.preventDefault();
    var id = state.selectedId;
    if (!id) return;
    var who = byId('assign-input').value.trim();
    api('POST', '/conversations/' + id + '/assign', { assignee: who || null }).then(function (c) {
      if (id !== state.selectedId) return;
      state.conv = c;
      byId('assign-input').blur();
      renderConversation();
      scheduleListRefresh();
    }, function (err) {
      banner('Could not assign: ' + errorText(err));
    });
  }

  // ---- live updates ------------------------------------------------------

  var listTimer = null;
  var convTimer = null;

  function scheduleListRefresh() {
    if (listTimer !== null) return;
    listTimer = setTimeout(function () {
      listTimer = null;
      if (state.token) loadList(false, true);
    }, 400);
  }

  function scheduleConvRefresh() {
    if (convTimer !== null) return;
    convTimer = setTimeout(function () {
      convTimer = null;
      if (state.token && state.selectedId) loadConversation(false);
    }, 400);
  }

  function onEvent(ev) {
    var e;
    try { e = JSON.parse(ev.data); } catch (err) { return; }
    var type = e.type || ev.type;
    var convId = e.conversation_id || '';
    var data = e.data || {};
    switch (type) {
      case 'message.created':
      case 'message.updated':
        if (convId === state.selectedId) {
          if (data && data.id && data.conversation_id) upsertMessage(data);
          else scheduleConvRefresh();
          // An inbound message moves the identity's reply window.
          if (data.direction === 'in') scheduleConvRefresh();
        }
        scheduleListRefresh();
        break;
      case 'conversation.created':
        scheduleListRefresh();
        break;
      case 'conversation.updated':
        if (convId === state.selectedId) scheduleConvRefresh();
        scheduleListRefresh();
        break;
      case 'contact.updated':
        if (state.conv && state.conv.contact && (data.id === state.conv.contact.id || convId === state.selectedId)) {
          scheduleConvRefresh();
        }
        scheduleListRefresh();
        break;
      default:
    }
  }

  function setLive(text, cls) {
    var el = byId('live');
    el.textContent = text;
    el.className = 'live ' + (cls || '');
  }

  function startStream() {
    if (state.stream) state.stream.close();
    var stream = new SSE.EventStream({
      url: API + '/events',
      headers: function () { return { Authorization: 'Bearer ' + state.token }; },
      onEvent: onEvent,
      onState: function (s, info) {
        if (s === 'connecting') setLive('Connecting…', 'live-wait');
        else if (s === 'open') {
          setLive('Live', 'live-ok');
          // A first connection starts at "now": reload once so that nothing
          // that happened while the page loaded is missed. A resumed one
          // replays the gap itself.
          if (!info.resumed) {
            scheduleListRefresh();
            if (state.selectedId) scheduleConvRefresh();
          }
        } else if (s === 'waiting') {
          setLive('Reconnecting in ' + Math.ceil(info.delay / 1000) + ' s', 'live-bad');
          if (info.error) byId('live').title = errorText(info.error);
        } else if (s === 'closed') setLive('Offline', 'live-bad');
      },
      onAuthError: function (err) { signOut('Your token was not accepted: ' + err.message); }
    });
    state.stream = stream;
    stream.start();
  }

  // ---- wiring ------------------------------------------------------------

  var searchTimer = null;

  function wire() {
    byId('signin-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var t = byId('signin-token').value.trim();
      if (!t) {
        showSignIn('Paste a token first.');
        return;
      }
      state.token = t;
      try { sessionStorage.setItem(TOKEN_KEY, t); } catch (err) { /* storage off: this page only */ }
      startApp();
    });
    byId('signout').addEventListener('click', function () { signOut(''); });
    byId('banner-close').addEventListener('click', function () { banner(''); });

    byId('filters').addEventListener('submit', function (e) { e.preventDefault(); applyFilters(); });
    byId('filter-status').addEventListener('change', applyFilters);
    byId('filter-channel').addEventListener('change', applyFilters);
    byId('filter-q').addEventListener('input', function () {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(applyFilters, 300);
    });
    byId('load-more').addEventListener('click', function () { loadList(true); });
    byId('conv-list').addEventListener('keydown', listKeys);

    byId('back').addEventListener('click', function () { closeConversation(true); });
    Array.prototype.forEach.call(document.querySelectorAll('.seg-btn'), function (b) {
      b.addEventListener('click', function () { setStatus(b.dataset.status); });
    });
    byId('assign-form').addEventListener('submit', assign);
    byId('reply-form').addEventListener('submit', sendReply);
    byId('reply-text').addEventListener('keydown', replyKeys);
    byId('reply-private').addEventListener('change', function () {
      setPrivate(byId('reply-private').checked);
    });
    window.addEventListener('popstate', function () { selectFromPath(true); });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && document.body.classList.contains('has-conv') && window.matchMedia('(max-width: 800px)').matches) {
        closeConversation(true);
      }
    });
    // Reply windows close as time passes: redraw them every 30 s.
    setInterval(function () {
      if (state.conv) renderIdentities();
    }, 30000);
  }

  function main() {
    wire();
    state.token = readToken();
    if (state.token) startApp();
    else showSignIn('');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();
