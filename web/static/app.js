/* Tongdao agent console: the entry module (index.html loads it with
 * type="module"). The console itself is console.mjs; this file hands it the
 * browser. sse.js (a classic script, loaded first) provides TongdaoSSE. */
import { start } from './console.mjs';

start({
  document,
  window,
  fetch: (url, init) => window.fetch(url, init),
  setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  clearTimeout: (t) => window.clearTimeout(t),
  setInterval: (fn, ms) => window.setInterval(fn, ms),
  EventStream: window.TongdaoSSE.EventStream,
  readError: window.TongdaoSSE.readError,
});
