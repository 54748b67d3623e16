/* Formatting of times, names and API errors. Pure functions: every one
 * that depends on the time takes "now". */

const fmtTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fmtDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const fmtDate = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
export const fmtFull = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export const fmtWeekday = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'short', day: 'numeric' });

export function clock(d) { return fmtTime.format(d); }

export function parseTime(s) {
  if (!s) return null;
  const d = new Date(s);
  return isNaN(d.getTime()) ? null : d;
}

export function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** shortTime: 14:02 today, "Mar 3" this year, else the full date. */
export function shortTime(d, now) {
  if (sameDay(d, now)) return fmtTime.format(d);
  if (d.getFullYear() === now.getFullYear()) return fmtDay.format(d);
  return fmtDate.format(d);
}

/** clockOrDate: "14:02" today, else "Mar 3, 14:02". */
export function clockOrDate(d, now) {
  return sameDay(d, now) ? fmtTime.format(d) : fmtDay.format(d) + ', ' + fmtTime.format(d);
}

/** ago says how long ago d was, shortly: "<1 min", "5 min", "3 h", "2 d". */
export function ago(d, now) {
  const s = Math.max(0, Math.floor((now.getTime() - d.getTime()) / 1000));
  if (s < 60) return '<1 min';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return Math.floor(s / 3600) + ' h';
  return Math.floor(s / 86400) + ' d';
}

/** query builds "?a=1&b=2" from the non-empty values of params. */
export function query(params) {
  const parts = [];
  for (const k of Object.keys(params)) {
    const v = params[k];
    if (v === undefined || v === null || v === '') continue;
    parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
  }
  return parts.length ? '?' + parts.join('&') : '';
}

export function errorText(err) {
  if (!err) return 'Unknown error.';
  if (err.code && err.code !== 'network') return err.message + ' (' + err.code + ')';
  return err.message || String(err);
}

/** channelsOf lists a contact's channels, each once, in identity order. */
export function channelsOf(contact) {
  const out = [];
  for (const i of (contact && contact.identities) || []) {
    if (out.indexOf(i.channel) < 0) out.push(i.channel);
  }
  return out;
}

/** identityName names an identity; WeChat gives no names, only an OpenID. */
export function identityName(ident, titles) {
  if (ident.display_name) return ident.display_name;
  if (ident.username) return ident.username;
  const ext = ident.external_id || '';
  return ((titles && titles[ident.channel]) || ident.channel) + ' user ' + (ext.length > 10 ? '…' + ext.slice(-6) : ext);
}

export function contactName(conv, titles) {
  const contact = (conv && conv.contact) || {};
  if (contact.name) return contact.name;
  const ids = contact.identities || [];
  for (const i of ids) {
    if (i.display_name) return i.display_name;
    if (i.username) return i.username;
  }
  if (ids.length) return identityName(ids[0], titles);
  return 'Contact ' + (contact.id || '?');
}

/** ticket is the number the customer was told: "#7". */
export function ticket(conv) { return '#' + conv.id; }

/** reachability describes whether and until when an identity can be answered. */
export function reachability(ident, now) {
  if (ident.reachable === false) {
    return { ok: false, text: ident.unreachable_reason ? 'unreachable: ' + ident.unreachable_reason : 'unreachable' };
  }
  const until = parseTime(ident.reply_until);
  if (!until) return { ok: true, text: 'reachable' };
  if (until.getTime() <= now.getTime()) return { ok: false, text: 'window closed' };
  return { ok: true, text: 'can reply until ' + clockOrDate(until, now) };
}
