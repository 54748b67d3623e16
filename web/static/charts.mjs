/* Small SVG charts of the reports page, drawn by the console itself: no
 * library, no build step, no inline styles (colours come from classes in
 * app.css, so the strict CSP holds). A chart is first a plain tree
 * ({tag, attrs, children}), which the tests read without a browser;
 * render() turns it into SVG elements. */

const SVG_NS = 'http://www.w3.org/2000/svg';

/** node builds one node of a chart's tree. */
export function node(tag, attrs, ...children) {
  return { tag, attrs: attrs || {}, children: children.filter((c) => c !== null && c !== undefined && c !== false) };
}

/** niceMax rounds a maximum up to 1, 2 or 5 times a power of ten (at least 1). */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function round(v) { return Math.round(v * 10) / 10; }

/**
 * barChart draws bars of labels, each bar the stack of the series' values
 * at its index. opts: {title, width, height, byLabel (colour each bar by
 * its label's index instead of by series)}. Every bar segment carries a
 * <title> ("label · series: value") and data-value, and the chart an
 * aria-label, for readers of the page and for its tests.
 */
export function barChart(labels, series, opts) {
  const o = Object.assign({ width: 560, height: 220, title: '' }, opts);
  const m = { left: 36, right: 8, top: 10, bottom: 26 };
  const w = o.width - m.left - m.right;
  const hgt = o.height - m.top - m.bottom;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const y = (v) => m.top + hgt - (v / max) * hgt;
  const band = labels.length ? w / labels.length : w;
  const bw = Math.max(2, Math.min(48, band * 0.7));
  const kids = [node('title', null, o.title)];
  // Counts are whole: a half-way line only when it is a whole number.
  for (const v of Number.isInteger(max / 2) ? [0, max / 2, max] : [0, max]) {
    kids.push(node('line', { class: 'grid', x1: m.left, x2: m.left + w, y1: round(y(v)), y2: round(y(v)) }));
    kids.push(node('text', { class: 'axis', x: m.left - 4, y: round(y(v) + 4), 'text-anchor': 'end' }, String(Math.round(v * 100) / 100)));
  }
  const every = Math.max(1, Math.ceil(labels.length / 10));
  labels.forEach((label, i) => {
    const x = m.left + i * band + (band - bw) / 2;
    let base = 0;
    series.forEach((s, si) => {
      const v = s.values[i] || 0;
      if (v <= 0) return;
      kids.push(node('rect', {
        class: 'bar s' + ((o.byLabel ? i : si) % 8), x: round(x), y: round(y(base + v)), width: round(bw),
        height: round(y(base) - y(base + v)), 'data-value': v,
      }, node('title', null, label + (s.name ? ' · ' + s.name : '') + ': ' + v)));
      base += v;
    });
    if (i % every === 0) {
      kids.push(node('text', { class: 'axis', x: round(x + bw / 2), y: o.height - 8, 'text-anchor': 'middle' }, label));
    }
  });
  return node('svg', {
    class: 'chart', viewBox: '0 0 ' + o.width + ' ' + o.height, role: 'img', 'aria-label': o.title,
    preserveAspectRatio: 'xMidYMid meet',
  }, ...kids);
}

/** render builds the SVG elements of a chart's tree in doc. */
export function render(doc, tree) {
  if (typeof tree === 'string') return doc.createTextNode(tree);
  const el = doc.createElementNS(SVG_NS, tree.tag);
  for (const k of Object.keys(tree.attrs)) el.setAttribute(k, String(tree.attrs[k]));
  for (const c of tree.children) el.appendChild(render(doc, c));
  return el;
}

/** count tells how many nodes of a tree have the tag (for tests). */
export function count(tree, tag) {
  if (typeof tree === 'string') return 0;
  return (tree.tag === tag ? 1 : 0) + tree.children.reduce((s, c) => s + count(c, tag), 0);
}
