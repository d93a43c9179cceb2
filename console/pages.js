// pages.js - sign in, EP picker, images, one image, vulnerabilities, export.
import { REPORT_TYPES, session, signIn, call, epParam, statistic, myEps, ApiError } from './api.js';
import { h, fmt, table, pager } from './dom.js';
import { filterBody } from './dashboard.js';

export function signin(main, go) {
  const err = h('p', { class: 'error', role: 'alert' });
  const inp = (name, label, attrs = {}) => h('label', {}, label, h('input', { name, required: true, ...attrs }));
  const form = h('form', { class: 'stack', id: 'signin' },
    inp('domain', 'Domain', { autocomplete: 'organization' }), inp('user', 'User', { autocomplete: 'username' }),
    inp('password', 'Password', { type: 'password', autocomplete: 'current-password' }),
    inp('project', 'Project'), inp('region', 'Region', { value: 'local-1' }),
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'), err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const d = Object.fromEntries(new FormData(form));
    try { await signIn(d); go('#/ep'); } catch (x) { err.textContent = x.status === 401 ? 'Wrong domain, user, password or project.' : x.message; }
  });
  main.replaceChildren(h('h1', {}, 'Sign in'), form);
  form.elements.domain.focus();
}

// The EPs offered are the caller's own (GET /v1.0/enterprise-projects);
// another EP id may still be typed in, and the server is asked about it
// (a reader is refused one it holds no grant for: 403 HSS.0013).
export async function epPicker(main, go) {
  const err = h('p', { class: 'error', role: 'alert' });
  main.replaceChildren(h('h1', {}, `Project ${session.project}: choose an enterprise project`), h('p', {}, 'Loading…'));
  let eps;
  try { eps = await myEps(); } catch (x) { main.lastChild.replaceWith(h('p', { class: 'error', role: 'alert' }, x.message)); return; }
  const cur = session.ep || 'all_granted_eps';
  const choice = (value, label, note) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'ep', value, checked: value === cur }), label, note ? h('span', { class: 'muted' }, note) : null);
  const typed = h('input', { name: 'other', id: 'ep-other', maxlength: 64, pattern: '[A-Za-z0-9_\\-]{1,64}', autocomplete: 'off' });
  const form = h('form', { class: 'stack', id: 'ep', dataset: { eps: eps.map((e) => e.id).join(',') } },
    h('fieldset', { class: 'one', id: 'ep-choices' }, h('legend', {}, `Your enterprise projects (${fmt(eps.length)})`),
      choice('all_granted_eps', 'all_granted_eps', ` every EP below${eps.length ? '' : ' (none)'}`),
      eps.map((e) => choice(e.id, e.id, e.name !== e.id ? ` (${e.name})` : null))),
    h('details', {}, h('summary', {}, 'Another EP id'),
      h('label', {}, 'EP id (the server checks your grant)', typed)),
    h('button', { class: 'primary', type: 'submit' }, 'Use'), err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ep = typed.value.trim() || form.elements.ep.value;
    err.textContent = '';
    try {
      // ask the server: an EP not held is 403 HSS.0013
      await call('POST', '/image/security-report/statistic', { params: { security_report_type: 'vulnerability',
        enterprise_project_id: ep }, body: { operate_all: true } });
      session.ep = ep; go('#/dashboard');
    } catch (x) {
      err.textContent = x.code === 'HSS.0013' ? `Denied: you hold no grant for EP "${ep}".` : x.message;
    }
  });
  main.replaceChildren(h('h1', {}, `Project ${session.project}: choose an enterprise project`), form);
  (form.querySelector('input[name=ep]:checked') || form.querySelector('input[name=ep]')).focus();
}

const LISTS = { registry: '/image/registries/images', cicd: '/image/cicd/images', local: '/image/local-repositories' };

export async function images(main, go, q) {
  const kind = LISTS[q.get('kind')] ? q.get('kind') : 'registry';
  const offset = Number(q.get('offset')) || 0, limit = Number(q.get('limit')) || 20;
  const sortable = kind !== 'local';
  const p = { ...epParam(), offset, limit, image_name: q.get('image_name'), namespace: q.get('namespace'),
    scan_status: q.get('scan_status'), severity_level: q.get('severity_level'), has_vul: q.get('has_vul') };
  if (sortable && q.get('sort_key')) p.sort_key = q.get('sort_key');
  if (q.get('sort_dir')) p.sort_dir = q.get('sort_dir');
  const nav = (changes) => {
    const n = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) if (v === '' || v === undefined) n.delete(k); else n.set(k, v);
    go(`#/images?${n}`);
  };
  const sel = (name, values, label) => h('label', {}, label, h('select', { name,
    onchange: (e) => nav({ [name]: e.target.value, offset: 0 }) },
  values.map(([v, t]) => h('option', { value: v, selected: (q.get(name) || '') === v }, t))));
  const txt = (name, label) => h('label', {}, label, h('input', { type: 'search', name, value: q.get(name) || '',
    onchange: (e) => nav({ [name]: e.target.value, offset: 0 }) }));
  const bar = h('div', { class: 'bar', id: 'image-filters' },
    sel('kind', [['registry', 'registry'], ['cicd', 'CI/CD'], ['local', 'local']], 'List'),
    txt('image_name', 'Image name'), txt('namespace', 'Namespace'),
    sel('scan_status', [['', 'any'], ...['success', 'failed', 'unscan', 'scanning', 'download_failed', 'image_oversized'].map((v) => [v, v])], 'Scan status'),
    sel('severity_level', [['', 'any'], ...['High', 'Medium', 'Low', 'Security'].map((v) => [v, v])], 'Severity'),
    sel('has_vul', [['', 'any'], ['true', 'true'], ['false', 'false']], 'Has vulnerabilities'),
    sortable ? sel('sort_key', [['', 'id (ingest order)'], ['latest_scan_time', 'last scan time']], 'Sort by') : null,
    sel('sort_dir', [['', 'ascending'], ['desc', 'descending']], 'Direction'),
    sel('limit', [['10', '10'], ['20', '20'], ['50', '50'], ['200', '200']], 'Per page'));
  if (!q.get('limit')) bar.querySelector('[name=limit]').value = '20';
  main.replaceChildren(h('h1', {}, 'Images'), bar, h('p', {}, 'Loading…'));
  try {
    const j = await call('GET', LISTS[kind], { params: p });
    const shown = j.data_list.map((it) => ({ id: it.id, namespace: it.namespace, image_name: it.image_name,
      image_version: it.image_version, image_type: it.image_type === 'cicd' ? 'cicd' : it.image_type || 'local_image',
      scan_status: it.scan_status, severity_level: it.severity_level ?? '', vul_num: it.vul_num,
      unsafe_setting_num: it.unsafe_setting_num, malicious_file_num: it.malicious_file_num,
      latest_scan_time: it.latest_scan_time ? new Date(it.latest_scan_time).toISOString().slice(0, 16).replace('T', ' ') : '' }));
    const pg = pager(j.total_num, offset, limit, (o) => nav({ offset: o }));
    main.replaceChildren(h('h1', {}, 'Images'), bar, h('p', { id: 'image-total', 'data-total': j.total_num }, `${fmt(j.total_num)} images`),
      table(shown, { link: (it) => `#/image/${encodeURIComponent(it.id)}/${encodeURIComponent(it.image_type)}` }), pg);
  } catch (x) { main.lastChild.replaceWith(h('p', { class: 'error', role: 'alert' }, x.message)); }
}

// One image's findings: a tab per report type, each the per-image list route.
const TABS = [
  ['vulnerability', (id) => `/image/${id}/vulnerabilities`],
  ['risk-config', () => '/image/baseline/risk-configs', true],
  ['malwares', (id) => `/image/${id}/malwares`],
  ['apps', (id) => `/image/${id}/apps`],
  ['files', (id) => `/image/${id}/files`],
  ['sensitive-info', (id) => `/image/${id}/sensitive`],
  ['non-compliant-app', (id) => `/image/${id}/non-compliant-app`],
  ['build-command-risks', () => '/image/build-command-risks', true],
];

export async function image(main, go, q, id, type) {
  const tab = TABS.find((t) => t[0] === q.get('tab')) || TABS[0];
  const offset = Number(q.get('offset')) || 0, limit = 20;
  const params = (t, extra) => ({ ...epParam(), image_type: type, ...(t[2] ? { image_id: id } : {}), ...extra });
  const eid = encodeURIComponent(id);
  const tabs = h('div', { class: 'tabs', role: 'tablist' }, TABS.map((t) => h('button', { type: 'button', role: 'tab',
    'aria-selected': String(t === tab), dataset: { tab: t[0] },
    onclick: () => go(`#/image/${eid}/${encodeURIComponent(type)}?tab=${t[0]}`) }, t[0])));
  const panel = h('div', { role: 'tabpanel', id: 'findings' }, 'Loading…');
  main.replaceChildren(h('h1', {}, `Image ${id} (${type})`), tabs, panel);
  // tab labels get each list's total (limit 10: the smallest page every list takes)
  TABS.forEach(async (t, i) => {
    try {
      const j = await call('GET', t[1](eid), { params: params(t, { limit: 10 }) });
      tabs.children[i].textContent = `${t[0]} (${fmt(j.total_num)})`;
      tabs.children[i].dataset.total = j.total_num;
    } catch { /* shown in the panel when opened */ }
  });
  try {
    const j = await call('GET', tab[1](eid), { params: params(tab, { offset, limit }) });
    panel.replaceChildren(h('p', { 'data-total': j.total_num }, `${fmt(j.total_num)} ${tab[0]} records`),
      table(j.data_list), pager(j.total_num, offset, limit, (o) => go(`#/image/${eid}/${encodeURIComponent(type)}?tab=${tab[0]}&offset=${o}`)));
  } catch (x) { panel.replaceChildren(h('p', { class: 'error', role: 'alert' }, x.message)); }
}

export async function vulns(main, go, q) {
  const p = { ...epParam(), image_type: q.get('image_type') || 'registry', type: q.get('type') || 'linux_vul',
    handle_status: 'unhandled', vul_id: q.get('vul_id') || '', offset: Number(q.get('offset')) || 0, limit: 20 };
  const nav = (ch) => { const n = new URLSearchParams(q); for (const [k, v] of Object.entries(ch)) n.set(k, v); go(`#/vulns?${n}`); };
  const sel = (name, values, label) => h('label', {}, label, h('select', { name, onchange: (e) => nav({ [name]: e.target.value, offset: 0 }) },
    values.map((v) => h('option', { value: v, selected: p[name] === v }, v))));
  const bar = h('div', { class: 'bar' }, sel('image_type', ['registry', 'local', 'cicd'], 'Images'),
    sel('type', ['linux_vul', 'app_vul'], 'Type'),
    h('label', {}, 'Vulnerability id contains', h('input', { type: 'search', value: p.vul_id, onchange: (e) => nav({ vul_id: e.target.value, offset: 0 }) })));
  const out = h('div', {}, 'Loading…');
  main.replaceChildren(h('h1', {}, 'Vulnerabilities across images'), bar, out);
  try {
    const j = await call('GET', '/images/vulnerabilities', { params: p });
    const rows = j.data_list.map((v) => ({ vul_id: v.vul_id, severity_level: v.severity_level, image_num: v.image_num,
      max_cvss_score: v.max_cvss_score ?? '', solution_detail: v.solution_detail ?? '' }));
    const affected = h('section', { id: 'affected' });
    out.replaceChildren(h('p', { 'data-total': j.total_num }, `${fmt(j.total_num)} vulnerabilities (ListGeneralImageVuls)`),
      table(rows, { link: (r) => `#/vulns?${new URLSearchParams({ ...Object.fromEntries(q), affect: r.vul_id })}` }),
      pager(j.total_num, p.offset, 20, (o) => nav({ offset: o })), affected);
    const vul = q.get('affect');
    if (vul) {
      const a = await call('GET', '/vulnerability/images', { params: { ...epParam(), is_handled: false, vul_id: vul,
        type: p.type, image_type: p.image_type, limit: 200 } });
      affected.replaceChildren(h('h2', {}, `Images affected by ${vul}: ${fmt(a.total_num)} (ListVulAffectImages)`),
        table(a.data_list.map((x) => ({ image_name: x.image_name, image_version: x.image_version, organization: x.organization,
          repair_necessity: x.repair_necessity, image_type: x.image_type, image_id: x.image_id }))));
    }
  } catch (x) { out.replaceChildren(h('p', { class: 'error', role: 'alert' }, x.message)); }
}

export function exporter(main) {
  const err = h('p', { class: 'error', role: 'alert' });
  const count = h('p', { id: 'export-count' });
  const prog = h('progress', { max: 100, value: 0 });
  const state = h('p', { id: 'export-state', 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', id: 'export' },
    h('label', {}, 'Report type', h('select', { name: 'type' }, REPORT_TYPES.map((t) => h('option', { value: t }, t)))),
    h('label', {}, 'Format', h('select', { name: 'format' }, h('option', { value: 'csv' }, 'CSV'), h('option', { value: 'xlsx' }, 'Excel (xlsx)'))),
    count, h('button', { class: 'primary', type: 'submit' }, 'Export'), prog, state, err);
  const body = filterBody();
  const shownBody = h('p', {}, 'Filter (set on the dashboard): ', h('code', { id: 'export-body' }, JSON.stringify(body)));
  let total = 0;
  const recount = async () => {
    count.textContent = 'Counting…';
    try {
      total = await statistic(form.elements.type.value, body);
      count.textContent = `${fmt(total)} records will be exported (the dashboard's filter).`;
      count.dataset.count = total;
    } catch (x) { count.textContent = ''; err.textContent = x.message; }
  };
  form.elements.type.addEventListener('change', recount);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = ''; state.textContent = 'Creating the task…'; prog.value = 0;
    try {
      const t = await call('POST', '/image/security-report/export-tasks', { params: epParam(),
        body: { ...body, security_report_type: form.elements.type.value, export_size: Math.max(1, total),
          file_format: form.elements.format.value } });
      let st;
      for (;;) {
        st = await call('GET', `/export-task/${encodeURIComponent(t.task_id)}`, { params: epParam() });
        prog.value = st.progress || 0;
        state.textContent = `${st.task_status}, ${st.progress}%`;
        if (st.task_status !== 'running' && st.task_status !== 'waiting') break;
        await new Promise((r) => setTimeout(r, 400));
      }
      if (st.task_status !== 'success') throw new Error(`export ${st.task_status}: ${st.failure_reason}`);
      const r = await call('GET', `/download/${encodeURIComponent(st.file_id)}`, { params: epParam(), raw: true });
      const url = URL.createObjectURL(await r.blob());
      const a = h('a', { href: url, download: st.file_name, id: 'export-download' }, `Download ${st.file_name}`);
      state.replaceChildren(`Done: ${fmt(st.record_num)} records. `, a);
      state.dataset.records = st.record_num;
      a.click();
    } catch (x) { if (!(x instanceof ApiError) || x.status !== 401) err.textContent = x.message; }
  });
  main.replaceChildren(h('h1', {}, 'Export'), shownBody, form);
  recount();
}
