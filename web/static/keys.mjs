/* Keyboard shortcuts of the console. */

export const SHORTCUTS = [
  { key: 'j', action: 'next', help: 'Next conversation' },
  { key: 'k', action: 'previous', help: 'Previous conversation' },
  { key: 'r', action: 'reply', help: 'Reply to the customer' },
  { key: 'n', action: 'note', help: 'Write a private note' },
  { key: 'e', action: 'resolve', help: 'Resolve the conversation' },
  { key: 'a', action: 'assignMe', help: 'Assign to me' },
  { key: '?', action: 'help', help: 'Show the shortcuts' },
];

function typing(el) {
  if (!el) return false;
  const tag = (el.tagName || '').toUpperCase();
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || !!el.isContentEditable;
}

/**
 * shortcut returns the action of a keydown, or null: none while the agent
 * types in a field, with a modifier (except Shift for "?"), or while an
 * input method composes.
 */
export function shortcut(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || e.defaultPrevented) return null;
  if (typing(e.target)) return null;
  const s = SHORTCUTS.find((x) => x.key === e.key);
  return s ? s.action : null;
}
