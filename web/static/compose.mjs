/* The reply box's canned replies: the "/" picker and what a send posts.
 * Pure functions, no DOM. */

/** PLACEHOLDERS are what the hub fills in a canned reply when it is sent. */
export const PLACEHOLDERS = ['{name}', '{ticket}', '{agent}'];

/**
 * slashQuery returns what the agent searches for when the reply box holds
 * only "/" and a word ("/ref" searches "ref", "/" everything), else null:
 * a "/" inside a sentence or a second line is just text.
 */
export function slashQuery(value) {
  const m = /^\/([^\s/]{0,50})$/.exec(String(value || ''));
  return m ? m[1] : null;
}

/** moveIndex is the picker's choice after an arrow key: it wraps around. */
export function moveIndex(i, n, dir) {
  if (n <= 0) return -1;
  if (i < 0 || i >= n) return dir > 0 ? 0 : n - 1;
  return (i + dir + n) % n;
}

/**
 * customerName is the name the hub puts for {name}: the contact's name,
 * else the newest identity's display name, else its username; '' when
 * there is none (the hub then says "customer" in their language).
 */
export function customerName(conv) {
  const contact = (conv && conv.contact) || {};
  if (contact.name && contact.name.trim()) return contact.name.trim();
  const ids = contact.identities || [];
  for (let i = ids.length - 1; i >= 0; i--) if (ids[i].display_name && ids[i].display_name.trim()) return ids[i].display_name.trim();
  for (let i = ids.length - 1; i >= 0; i--) if (ids[i].username && ids[i].username.trim()) return ids[i].username.trim();
  return '';
}

/**
 * fillPlaceholders fills the placeholders whose values are known (not
 * empty) and leaves the others as they are.
 */
export function fillPlaceholders(text, values) {
  return String(text).replace(/\{(name|ticket|agent)\}/g, (all, k) => (values[k] ? values[k] : all));
}

/**
 * replyBody is what a send posts for the text in the reply box. A canned
 * reply picked and sent unchanged goes as canned_id, so that the hub fills
 * its placeholders as it always does (an unknown name in the customer's
 * language); edited, it is the agent's text, which must not carry a
 * placeholder the console could not fill. Returns {body} or {error}.
 */
export function replyBody(text, canned, isPrivate) {
  if (canned && text === canned.shown) return { body: { canned_id: canned.id, private: isPrivate } };
  const left = PLACEHOLDERS.filter((p) => text.includes(p));
  if (canned && left.length) {
    return { error: 'Replace ' + left.join(', ') + ' before sending, or pick the canned reply again to let the hub fill it.' };
  }
  return { body: { text, private: isPrivate } };
}
