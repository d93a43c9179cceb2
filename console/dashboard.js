// dashboard.js - the report dashboard: the eight statistic counts for the
// filter body side by side, and the image-severity breakdown of each (the
// same body plus severity_level, per level), redrawn as the filter changes.
import { REPORT_TYPES, session, statistic } from './api.js';
import { h, s, fmt, debounce } from './dom.js';

export const SEVERITIES = ['High', 'Medium', 'Low', 'Security'];
const IMAGE_TYPES = ['private_image', 'shared_image', 'local_image', 'instance_image', 'harbor', 'jfrog', 'cicd'];
const SCAN_STATUS = ['unscan', 'success', 'scanning', 'failed', 'download_failed', 'image_oversized'];
const FLAGS = ['has_vul', 'has_malicious_file', 'has_unsafe_setting', 'has_container', 'risky'];
const TEXT = [['namespace', 65535], ['image_name', 65535], ['image_version', 65535], ['instance_name', 128],
  ['cicd_name', 128], ['image_id', 128], ['instance_id', 128]];
const DATES = [['start_latest_update_time', 'end_latest_update_time', 'Last update'],
  ['start_latest_scan_time', 'end_latest_scan_time', 'Last scan']];

const list = (v) => v.split(/[\s,]+/).filter(Boolean);

// The statistic body of the filter form's values (session.filters).
export function filterBody(f = session.filters || {}) {
  const b = { operate_all: true };
  for (const [k] of TEXT) if (f[k]) b[k] = f[k];
  for (const k of ['image_type', 'scan_status', 'severity_level', 'vul_type', 'build_command_risk_level',
    'build_command_risk_name']) if (f[k]) b[k] = f[k];
  for (const k of FLAGS) if (f[k] === 'true' || f[k] === 'false') b[k] = f[k] === 'true';
  if (f.latest_version) b.latest_version = true;
  if (f.image_size !== undefined && f.image_size !== '') b.image_size = Math.round(Number(f.image_size) * 1048576);
  for (const [start, end] of DATES) {
    if (f[start]) b[start] = Date.parse(`${f[start]}T00:00:00Z`);
    if (f[end]) b[end] = Date.parse(`${f[end]}T23:59:59.999Z`);
  }
  if (f.vul_id_list) b.vul_id_list = list(f.vul_id_list);
  if (f.build_command_rule_id_list) b.build_command_rule_id_list = list(f.build_command_rule_id_list);
  return b;
}

const opt = (values, label = 'any') => [h('option', { value: '' }, label), ...values.map((v) => h('option', { value: v }, v))];

function filterForm(onChange) {
  const f = session.filters || (session.filters = {});
  const bind = (el, name) => {
    el.name = name;
    if (el.type === 'checkbox') el.checked = !!f[name]; else el.value = f[name] ?? '';
    return el;
  };
  const field = (label, el, name) => h('label', {}, label, bind(el, name));
  const form = h('form', { id: 'filters', 'aria-label': 'Image filter' },
    h('fieldset', {}, h('legend', {}, 'Image'),
      field('Image type', h('select', {}, opt(IMAGE_TYPES)), 'image_type'),
      field('Scan status', h('select', {}, opt(SCAN_STATUS)), 'scan_status'),
      field('Severity level', h('select', {}, opt(SEVERITIES)), 'severity_level'),
      field('Size at most (MiB)', h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' }), 'image_size'),
      h('label', { class: 'check' }, bind(h('input', { type: 'checkbox' }), 'latest_version'), 'Latest versions only')),
    h('fieldset', {}, h('legend', {}, 'Text (substring; ids exact)'),
      TEXT.map(([k, max]) => field(k.replace(/_/g, ' '), h('input', { type: 'search', maxlength: max }), k))),
    h('fieldset', {}, h('legend', {}, 'Derived flags'),
      FLAGS.map((k) => field(k.replace(/_/g, ' '), h('select', {}, opt(['true', 'false'])), k))),
    DATES.map(([a, b, legend]) => h('fieldset', {}, h('legend', {}, `${legend} (UTC, inclusive)`),
      field('from', h('input', { type: 'date' }), a), field('to', h('input', { type: 'date' }), b))),
    h('fieldset', {}, h('legend', {}, 'Vulnerability records'),
      field('Type', h('select', {}, opt(['linux_vul', 'app_vul'])), 'vul_type'),
      field('vul_id_list (comma separated)', h('input', { type: 'text' }), 'vul_id_list')),
    h('fieldset', {}, h('legend', {}, 'Build-command records'),
      field('Risk level', h('select', {}, opt(['critical', 'high', 'medium', 'low'])), 'build_command_risk_level'),
      field('Risk name', h('input', { type: 'search', maxlength: 128 }), 'build_command_risk_name'),
      field('Rule ids (comma separated)', h('input', { type: 'text' }), 'build_command_rule_id_list')),
    h('button', { type: 'reset' }, 'Clear filters'));
  const read = () => {
    for (const el of form.elements) if (el.name) f[el.name] = el.type === 'checkbox' ? el.checked : el.value;
    onChange();
  };
  form.addEventListener('input', read);
  form.addEventListener('change', read);
  form.addEventListener('reset', () => setTimeout(read));
  form.addEventListener('submit', (e) => e.preventDefault());
  return form;
}

function chart(rows, boxWidth) {
  // rows: [{type, total, bySev: {High: n, ...}}]; one bar per type, stacked by image severity.
  // Drawn at the box's width, so the text keeps its size on a phone.
  const W = Math.min(900, Math.max(320, Math.round(boxWidth) || 760));
  const rowH = 26, left = W < 500 ? 132 : 170, top = 8, width = W - left - 70;
  const max = Math.max(1, ...rows.map((r) => r.total));
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${top + rows.length * rowH + 6}`, role: 'img',
    'aria-label': 'Records per report type by image severity level' });
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    svg.append(s('text', { x: left - 8, y: y + 15, 'text-anchor': 'end' }, r.type));
    let x = left;
    const none = r.total - SEVERITIES.reduce((a, k) => a + r.bySev[k], 0);
    for (const [k, n] of [...SEVERITIES.map((k) => [k, r.bySev[k]]), ['none', none]]) {
      const w = (n / max) * width;
      if (w > 0) svg.append(s('rect', { x, y: y + 3, width: w, height: rowH - 8, class: `sev-${k}` },
        s('title', {}, `${r.type}, ${k === 'none' ? 'no level' : k}: ${fmt(n)}`)));
      x += w;
    }
    svg.append(s('text', { x: x + 6, y: y + 15 }, fmt(r.total)));
  });
  return svg;
}

export function dashboard(main) {
  const cards = h('div', { class: 'cards', id: 'counts', 'aria-live': 'polite' },
    REPORT_TYPES.map((t) => h('div', { class: 'card', dataset: { type: t } },
      h('div', { class: 't' }, t), h('div', { class: 'n', 'data-count': '' }, '…'))));
  const chartBox = h('div', { id: 'chart' });
  const err = h('p', { class: 'error', role: 'alert' });
  const legend = h('div', { class: 'legend' }, [...SEVERITIES, 'none'].map((k) =>
    h('span', {}, h('span', { class: `sw sev-${k}` }), k === 'none' ? 'no level (not scanned)' : k)));
  let gen = 0;
  let inputAt = performance.now();
  async function update() {
    const mine = ++gen, body = filterBody(), t0 = performance.now();
    cards.classList.add('busy');
    err.textContent = '';
    try {
      const counts = await Promise.all(REPORT_TYPES.map((t) => statistic(t, body)));
      if (mine !== gen) return;
      REPORT_TYPES.forEach((t, i) => {
        const n = cards.querySelector(`[data-type="${t}"] .n`);
        n.textContent = fmt(counts[i]);
        n.dataset.count = counts[i];
      });
      cards.classList.remove('busy');
      const t1 = performance.now();
      main.dataset.countsMs = (t1 - t0).toFixed(1);
      main.dataset.inputMs = (t1 - inputAt).toFixed(1);
      main.dataset.body = JSON.stringify(body);
      main.dataset.gen = mine;
      const levels = body.severity_level ? [body.severity_level] : SEVERITIES;
      const sev = await Promise.all(REPORT_TYPES.map((t) => Promise.all(SEVERITIES.map((k) =>
        levels.includes(k) ? statistic(t, { ...body, severity_level: k }) : 0))));
      if (mine !== gen) return;
      chartBox.replaceChildren(chart(REPORT_TYPES.map((t, i) => ({ type: t, total: counts[i],
        bySev: Object.fromEntries(SEVERITIES.map((k, j) => [k, sev[i][j]])) })), chartBox.clientWidth));
      main.dataset.chartGen = mine;
    } catch (e) {
      if (mine === gen) { err.textContent = e.message; main.dataset.gen = mine; }
    }
  }
  const later = debounce(update, 50);
  const form = filterForm(() => { inputAt = performance.now(); later(); });
  main.replaceChildren(h('h1', {}, 'Report dashboard'),
    h('div', { class: 'layout' }, h('aside', {}, form),
      h('section', { 'aria-label': 'Counts' },
        h('p', {}, `Records an export of each report type would hold, over the images the filter selects (EP ${session.ep}).`),
        err, cards, h('h2', {}, 'By image severity level'), legend, chartBox)));
  update();
}
