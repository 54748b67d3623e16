/* Tongdao agent console: customers' and agents' files (issue 14).
 *
 * Renders a message's attachments: images as thumbnails (click to enlarge),
 * audio and video in the browser's players, a voice note's transcript, and
 * a download link for every stored file; a file still being fetched or one
 * that failed says so. Files are read from /api/v1/attachments/{id} with the
 * agent's token (never from a platform's URL) and shown through blob: URLs.
 * The reply box gets an attach button, drag-and-drop and paste; send()
 * posts the reply as multipart/form-data.
 *
 * makeMedia takes what it needs ({h, doc, win, fetch, token, readError}), so
 * console.mjs wires it with two hooks and the tests run it in a fake DOM.
 */

const API = '/api/v1';
const MAX_FILES = 10;

/** sizeText formats a byte count for people. */
export function sizeText(n) {
  if (!(n > 0)) return '';
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return Math.round(n / 1024) + ' KB';
  return (n / (1024 * 1024)).toFixed(1) + ' MB';
}

/** kindOf is what to show a stored attachment as: image, audio, video or file. */
export function kindOf(a) {
  const ct = String(a.content_type || '').toLowerCase();
  if (a.thumbnail_url || (ct.startsWith('image/') && !ct.includes('svg'))) return 'image';
  if (ct.startsWith('audio/')) return 'audio';
  if (ct.startsWith('video/')) return 'video';
  return 'file';
}

/** hubURL reports whether url is one of the hub's own attachment routes. */
export function hubURL(url) {
  return typeof url === 'string' && /^\/api\/v1\/attachments\/[1-9][0-9]*(\/thumbnail)?$/.test(url);
}

export function makeMedia(env) {
  const { h, doc, win } = env;
  const blobs = new Map(); // hub URL → Promise of a blob: URL
  let chosen = []; // files chosen for the next reply
  let chipsEl = null;

  /** blobURL reads a hub file with the token and returns a blob: URL for it. */
  function blobURL(url) {
    if (!hubURL(url)) return Promise.reject(new Error('not a hub file'));
    if (!blobs.has(url)) {
      const p = env.fetch(url, { method: 'GET', headers: { Authorization: 'Bearer ' + env.token() }, cache: 'no-store' })
        .then((res) => {
          if (!res.ok) throw new Error('HTTP ' + res.status);
          return res.blob();
        })
        .then((b) => win.URL.createObjectURL(b));
      p.catch(() => blobs.delete(url));
      blobs.set(url, p);
    }
    return blobs.get(url);
  }

  /** into sets attr of el to the blob: URL of url once it is read. */
  function into(el, attr, url) {
    blobURL(url).then((u) => { el[attr] = u; }, () => { el.classList.add('media-broken'); });
    return el;
  }

  function label(a) {
    const what = a.type === 'image' ? 'Photo' : a.type === 'audio' ? 'Voice note or audio' : a.type === 'video' ? 'Video' : 'File';
    return a.name ? what + ': ' + a.name : what;
  }

  function download(a) {
    const link = h('a', { className: 'media-download', href: '#' }, 'Download' + (a.size ? ' (' + sizeText(a.size) + ')' : ''));
    link.addEventListener('click', (e) => {
      e.preventDefault();
      blobURL(a.url).then((u) => {
        const tmp = h('a', { href: u, download: a.name || 'file' });
        doc.body.appendChild(tmp);
        tmp.click();
        tmp.remove();
      }, () => { link.textContent = 'Download failed'; });
    });
    return link;
  }

  function enlarge(a) {
    const img = into(h('img', { className: 'media-full', alt: label(a) }), 'src', a.url);
    const close = h('button', { type: 'button', className: 'btn media-close' }, 'Close');
    const box = h('div', { className: 'media-overlay', role: 'dialog', 'aria-label': label(a), tabIndex: -1 },
      h('div', { className: 'media-overlay-inner' }, img, h('div', { className: 'media-overlay-bar' }, download(a), close)));
    const done = () => { box.remove(); doc.removeEventListener('keydown', onKey); };
    const onKey = (e) => { if (e.key === 'Escape') done(); };
    close.addEventListener('click', done);
    box.addEventListener('click', (e) => { if (e.target === box) done(); });
    doc.addEventListener('keydown', onKey);
    doc.body.appendChild(box);
    box.focus();
  }

  function storedEl(a) {
    const kind = kindOf(a);
    const parts = [];
    if (kind === 'image' && hubURL(a.thumbnail_url || a.url)) {
      const thumb = into(h('img', { className: 'media-thumb', alt: label(a) }), 'src', a.thumbnail_url || a.url);
      const btn = h('button', { type: 'button', className: 'media-open', title: 'Enlarge' }, thumb);
      btn.addEventListener('click', () => enlarge(a));
      parts.push(btn);
    } else if (kind === 'audio') {
      parts.push(into(h('audio', { controls: true, preload: 'none', className: 'media-audio', 'aria-label': label(a) }), 'src', a.url));
    } else if (kind === 'video') {
      parts.push(into(h('video', { controls: true, preload: 'none', className: 'media-video', 'aria-label': label(a) }), 'src', a.url));
    } else {
      parts.push(h('span', { className: 'media-name' }, label(a)));
    }
    parts.push(download(a));
    return parts;
  }

  /** attachmentEl renders one attachment as the API gives it. */
  function attachmentEl(a) {
    const li = h('li', { className: 'media media-' + (a.state || 'outside') });
    const state = a.state;
    if (state === 'stored' && hubURL(a.url)) {
      for (const p of storedEl(a)) li.appendChild(p);
    } else if (state === 'pending' || (a.id === null && state === null && !a.url && a.type !== 'link')) {
      li.appendChild(h('span', { className: 'media-pending' }, label(a) + ' — fetching…'));
    } else if (state === 'failed') {
      li.appendChild(h('span', { className: 'media-failed' }, label(a) + ' — not available' + (a.error ? ': ' + a.error : '')));
    } else {
      const text = a.type + (a.name || a.title ? ': ' + (a.name || a.title) : '');
      const safe = typeof a.url === 'string' && /^https?:\/\//i.test(a.url);
      li.appendChild(safe ? h('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer' }, text) : h('span', null, text));
    }
    if (a.transcript) li.appendChild(h('p', { className: 'media-transcript' }, '“' + a.transcript + '”'));
    return li;
  }

  /** attachmentsEl renders a message's attachments (null when none). */
  function attachmentsEl(m) {
    const atts = m.attachments || [];
    if (!atts.length) return null;
    const ul = h('ul', { className: 'attachments' });
    for (const a of atts) ul.appendChild(attachmentEl(a));
    return ul;
  }

  // ---- the reply box ------------------------------------------------------

  function renderChips() {
    if (!chipsEl) return;
    while (chipsEl.firstChild) chipsEl.removeChild(chipsEl.firstChild);
    chosen.forEach((f, i) => {
      const rm = h('button', { type: 'button', className: 'chip-remove', 'aria-label': 'Remove ' + f.name }, '×');
      rm.addEventListener('click', () => { chosen.splice(i, 1); renderChips(); });
      chipsEl.appendChild(h('li', { className: 'chip' }, f.name + (f.size ? ' (' + sizeText(f.size) + ')' : ''), rm));
    });
    chipsEl.hidden = chosen.length === 0;
  }

  function add(list) {
    for (const f of Array.from(list || [])) {
      if (chosen.length < MAX_FILES) chosen.push(f);
    }
    renderChips();
  }

  /**
   * attachTo wires the reply box's attach button and file input, the list
   * of chosen files, drag-and-drop onto the form and paste into the text
   * box (the elements are index.html's).
   */
  function attachTo({ form, text, button, input, list }) {
    chipsEl = list;
    button.addEventListener('click', () => input.click());
    input.addEventListener('change', () => { add(input.files); input.value = ''; });
    form.addEventListener('dragover', (e) => { e.preventDefault(); form.classList.add('reply-drop'); });
    form.addEventListener('dragleave', () => form.classList.remove('reply-drop'));
    form.addEventListener('drop', (e) => {
      e.preventDefault();
      form.classList.remove('reply-drop');
      if (e.dataTransfer) add(e.dataTransfer.files);
    });
    text.addEventListener('paste', (e) => {
      const files = e.clipboardData && e.clipboardData.files;
      if (files && files.length) { e.preventDefault(); add(files); }
    });
  }

  /** files are the files chosen for the next reply. */
  function files() { return chosen.slice(); }

  function clearFiles() { chosen = []; renderChips(); }

  /**
   * send posts a reply with the chosen files as multipart/form-data and
   * resolves with the stored message; it rejects as the console's api()
   * does (an Error with code and status).
   */
  function send(convId, body) {
    const form = new win.FormData();
    if (body.text) form.append('text', body.text);
    if (body.private) form.append('private', 'true');
    if (body.via) form.append('via', body.via);
    for (const f of chosen) form.append('file', f, f.name);
    const init = { method: 'POST', headers: { Authorization: 'Bearer ' + env.token(), Accept: 'application/json' }, body: form, cache: 'no-store' };
    return env.fetch(API + '/conversations/' + convId + '/messages', init).then((res) => {
      if (!res.ok) return env.readError(res).then((err) => { throw err; });
      return res.json();
    });
  }

  return { attachmentsEl, attachTo, files, clearFiles, send };
}
