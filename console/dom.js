// dom.js - building elements without innerHTML (text is always text).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false)
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n ?? ''));

export function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// A table of items: columns = the primitive fields of the first items.
export function table(items, { link } = {}) {
  const cols = [];
  for (const it of items.slice(0, 5))
    for (const [k, v] of Object.entries(it))
      if (!cols.includes(k) && (v === null || typeof v !== 'object')) cols.push(k);
  return h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map((it) => h('tr', {}, cols.map((c, i) => {
      const v = it[c];
      const cell = h('td', { class: typeof v === 'number' ? 'num' : null },
        typeof v === 'number' ? fmt(v) : String(v ?? ''));
      if (i === 0 && link) { const a = h('a', { href: link(it) }, cell.textContent); cell.textContent = ''; cell.append(a); }
      return cell;
    }))))));
}

// Offset/limit paging buttons; onPage(offset).
export function pager(total, offset, limit, onPage) {
  const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
  return h('div', { class: 'bar pager' },
    h('button', { type: 'button', disabled: offset <= 0, onclick: () => onPage(Math.max(0, offset - limit)) }, '‹ Previous'),
    h('span', { class: 'range' }, total ? `${fmt(offset + 1)}–${fmt(Math.min(total, offset + limit))} of ${fmt(total)}` : '0 of 0'),
    h('button', { type: 'button', disabled: offset >= last, onclick: () => onPage(offset + limit) }, 'Next ›'));
}
