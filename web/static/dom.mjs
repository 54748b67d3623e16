/* DOM helpers of the console. API text goes into the page as text only
 * (textContent, text nodes), never parsed as HTML. */

/**
 * makeDom returns the helpers bound to one document:
 * h('p', {className: 'x'}, 'text', child...) builds an element; byId,
 * clear and show are what they say.
 */
export function makeDom(doc) {
  function h(tag, props, ...children) {
    const el = doc.createElement(tag);
    if (props) {
      for (const k of Object.keys(props)) {
        const v = props[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === 'className') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k === 'dataset') Object.keys(v).forEach((d) => { el.dataset[d] = v[d]; });
        else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === 'string' ? doc.createTextNode(c) : c);
    }
    return el;
  }
  return {
    h,
    byId: (id) => doc.getElementById(id),
    clear(el) { while (el.firstChild) el.removeChild(el.firstChild); },
    show(el, on) { el.hidden = !on; },
  };
}
