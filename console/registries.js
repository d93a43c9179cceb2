// registries.js - registries and scans (docs/console.md): the project's
// registries (ListRegistry, ListRegistryStatistics) with add, edit, delete
// and batch delete (AddRegistry, UpdateRegistry, DeleteRegistry,
// BatchDeleteRegistry); image sync and scan tasks (CreateImageSynchronizeTask,
// CreateManualImageScanTask), watched with ListImageScanTask until they end,
// with the images that failed and why; StopImageScanTask.
import { session, call } from './api.js';
import { h, fmt } from './dom.js';

const TYPES = ['Harbor', 'Jfrog', 'Other'];
const SCOPES = [[0x7fffffff, 'everything'], [0x000f0000, 'vulnerabilities'], [0x0000f000, 'baseline'],
  [0x00000f00, 'malicious files'], [0x000000f0, 'sensitive info'], [0x0000000f, 'software compliance']];
const POLL_MS = 700;

// A registry is the project's: an EP given is only checked (docs/api.md).
const ep = () => ({ enterprise_project_id: session.ep || '0' });
const time = (ms) => (ms ? new Date(ms).toISOString().slice(0, 16).replace('T', ' ') : '');
const isAdmin = () => (session.roles || []).includes('admin');
const canScan = () => (session.roles || []).some((r) => r === 'admin' || r === 'writer'); // the task routes' role
let page = 0; // the render generation: a poll of an older page stops

export async function registries(main, go) {
  const gen = ++page;
  main.dataset.page = 'registries';
  const status = h('p', { id: 'reg-status', role: 'status', 'aria-live': 'polite' });
  const summary = h('p', { id: 'reg-summary' }, 'Loading…');
  const listBox = h('div', { id: 'reg-list' });
  const form = registryForm(status, () => refresh());
  const tasks = h('section', { id: 'tasks', 'aria-labelledby': 'tasks-h' });
  main.replaceChildren(h('h1', {}, 'Registries and scans'), summary, listBox,
    isAdmin() ? form : h('p', {}, 'Adding, editing and deleting registries needs the admin role.'),
    status, tasks);

  async function refresh() {
    try {
      const [l, st] = await Promise.all([
        call('GET', '/image/registries', { params: { ...ep(), limit: 200 } }),
        call('GET', '/image/registries/statistics', { params: ep() })]);
      if (gen !== page) return;
      summary.dataset.total = l.total_num;
      summary.dataset.success = st.success_num;
      summary.dataset.fail = st.fail_num;
      summary.textContent = `${fmt(l.total_num)} ${l.total_num === 1 ? 'registry' : 'registries'}: ${fmt(st.success_num)} reached, ${fmt(st.fail_num)} failed, `
        + `${fmt(l.total_num - st.success_num - st.fail_num)} not yet reached.`;
      listBox.replaceChildren(registryTable(l.data_list, form, status, refresh));
    } catch (x) { summary.textContent = ''; status.textContent = x.message; status.className = 'error'; }
  }
  await refresh();
  scanTasks(tasks, gen, status, refresh);
  void go;
}

function registryTable(items, form, status, refresh) {
  if (!items.length) return h('p', { id: 'reg-none' }, 'No registry yet.');
  const admin = isAdmin();
  const sel = new Set();
  const batch = h('button', { type: 'button', id: 'reg-batch-delete', disabled: true, onclick: async () => {
    if (!confirmIn(batch, `Delete ${sel.size} registries?`)) return;
    await act(status, () => call('POST', '/image/registries/batch-delete', { params: ep(), body: { ids: [...sel] } }),
      `Deleted ${sel.size} registries.`, refresh);
  } }, 'Delete selected');
  const cols = ['registry_name', 'registry_type', 'protocol', 'registry_addr', 'api_version', 'registry_username',
    'namespace', 'status', 'fail_reason', 'images_num', 'latest_sync_time'];
  const table = h('div', { class: 'scroll' }, h('table', { id: 'registries' },
    h('caption', { class: 'sr' }, 'Registries (ListRegistry)'),
    h('thead', {}, h('tr', {}, admin ? h('th', { scope: 'col' }, h('span', { class: 'sr' }, 'select')) : null,
      h('th', { scope: 'col' }, 'name'), admin ? h('th', { scope: 'col' }, 'actions') : null,
      cols.slice(1).map((c) => h('th', { scope: 'col' }, c.replace(/^registry_/, ''))))),
    h('tbody', {}, items.map((r) => h('tr', { dataset: { id: r.id, name: r.registry_name } },
      admin ? h('td', {}, h('input', { type: 'checkbox', 'aria-label': `select ${r.registry_name}`, onchange: (e) => {
        if (e.target.checked) sel.add(r.id); else sel.delete(r.id);
        batch.disabled = !sel.size;
      } })) : null,
      h('td', {}, r.registry_name),
      admin ? h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'edit', onclick: () => form.edit(r) }, 'Edit', h('span', { class: 'sr' }, ` ${r.registry_name}`)),
        h('button', { type: 'button', class: 'delete', onclick: async (e) => {
          if (!confirmIn(e.currentTarget, `Delete ${r.registry_name}?`)) return;
          await act(status, () => call('DELETE', `/image/registries/${encodeURIComponent(r.id)}`, { params: ep() }),
            `Deleted ${r.registry_name}.`, refresh);
        } }, 'Delete', h('span', { class: 'sr' }, ` ${r.registry_name}`))) : null,
      cols.slice(1).map((c) => h('td', { class: typeof r[c] === 'number' && c !== 'latest_sync_time' ? 'num' : null },
        c === 'latest_sync_time' ? time(r[c]) : typeof r[c] === 'number' ? fmt(r[c]) : String(r[c] ?? ''))))))));
  return h('div', {}, table, admin ? h('div', { class: 'bar' }, batch) : null);
}

// A destructive button asks once: the first press arms it (its text says
// what a second press does), a second press within 5 s acts. No modal
// dialog, so it works by keyboard as any button does.
const labels = new WeakMap();
function confirmIn(btn, question) {
  const disarm = () => { delete btn.dataset.armed; btn.replaceChildren(...labels.get(btn)); };
  if (btn.dataset.armed) { disarm(); return true; }
  labels.set(btn, [...btn.childNodes]);
  btn.dataset.armed = '1';
  btn.textContent = `${question} Press again`;
  setTimeout(() => { if (btn.dataset.armed) disarm(); }, 5000);
  return false;
}

async function act(status, fn, done, after) {
  status.className = '';
  status.textContent = 'Working…';
  try { await fn(); status.textContent = done; await after(); } catch (x) { status.className = 'error'; status.textContent = x.message; }
}

// The add / edit form. Edit sends only the fields changed; the password
// field is empty (it is never answered) and, filled in, replaces the
// username and password together.
function registryForm(status, refresh) {
  const inp = (name, label, attrs = {}) => h('label', {}, label, h('input', { name, autocomplete: 'off', ...attrs }));
  const sel = (name, label, values) => h('label', {}, label, h('select', { name }, values.map((v) => h('option', { value: v }, v))));
  const legend = h('legend', {}, 'Add a registry');
  const cancel = h('button', { type: 'button', hidden: true, onclick: () => reset() }, 'Cancel edit');
  const form = h('form', { id: 'registry-form', class: 'grid-form' }, h('fieldset', {}, legend,
    inp('registry_name', 'Name', { required: true, maxlength: 128 }),
    sel('registry_type', 'Type', TYPES),
    sel('protocol', 'Protocol', ['https', 'http']),
    inp('registry_addr', 'Address (HOST or HOST:PORT)', { required: true, maxlength: 256, pattern: '[A-Za-z0-9.\\-_:\\[\\]]+' }),
    sel('api_version', 'API version', ['V2', 'V1']),
    inp('namespace', 'Namespace (optional)', { maxlength: 128 }),
    inp('registry_username', 'Username (optional)', { maxlength: 128 }),
    inp('registry_password', 'Password', { type: 'password', maxlength: 128, autocomplete: 'new-password' }),
    h('div', { class: 'bar' }, h('button', { class: 'primary', type: 'submit' }, 'Add'), cancel)));
  const el = form.elements;
  let editing = null;
  function reset() {
    editing = null;
    form.reset();
    legend.textContent = 'Add a registry';
    form.querySelector('button[type=submit]').textContent = 'Add';
    el.registry_name.disabled = el.registry_type.disabled = false;
    el.registry_password.placeholder = '';
    cancel.hidden = true;
  }
  form.edit = (r) => {
    editing = r;
    for (const k of ['registry_name', 'registry_type', 'protocol', 'registry_addr', 'api_version', 'namespace', 'registry_username'])
      el[k].value = r[k] || '';
    el.registry_password.value = '';
    el.registry_password.placeholder = 'unchanged';
    el.registry_name.disabled = el.registry_type.disabled = true; // Update cannot change them
    legend.textContent = `Edit ${r.registry_name}`;
    form.querySelector('button[type=submit]').textContent = 'Save';
    cancel.hidden = false;
    el.registry_addr.focus();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (k) => el[k].value.trim();
    const body = {};
    if (!editing) {
      for (const k of ['registry_name', 'registry_type', 'protocol', 'registry_addr', 'api_version', 'namespace'])
        if (v(k)) body[k] = v(k);
      if (v('registry_username') || el.registry_password.value) {
        body.registry_username = v('registry_username');
        body.registry_password = el.registry_password.value;
      }
    } else {
      for (const k of ['protocol', 'registry_addr', 'api_version', 'namespace'])
        if (v(k) && v(k) !== (editing[k] || '')) body[k] = v(k);
      if (el.registry_password.value) {
        body.registry_username = v('registry_username');
        body.registry_password = el.registry_password.value;
      }
    }
    const name = editing ? editing.registry_name : body.registry_name;
    el.registry_password.value = ''; // not kept in the page once sent
    await act(status, async () => {
      if (editing) await call('PUT', `/image/registries/${encodeURIComponent(editing.id)}`, { params: ep(), body });
      else await call('POST', '/image/registries', { params: ep(), body });
      reset();
    }, editing ? `Saved ${name}.` : `Added ${name}.`, refresh);
  });
  return form;
}

// ---- scan tasks ----

const running = (t) => t.task_status >= 0 && t.task_status < 100;
const stateText = (t) => (t.task_status === 100 ? 'finished' : t.task_status === -1 ? 'stopped'
  : t.task_status === -2 ? 'timed out' : t.task_status === -3 ? 'failed' : `running, ${t.task_status}%`);

// onChange: a task started or ended since the last look (a sync changes
// the registries' status and image counts).
function scanTasks(box, gen, status, onChange) {
  const scope = h('select', { name: 'scan_scope' }, SCOPES.map(([v, t]) => h('option', { value: v }, t)));
  const start = h('form', { id: 'scan-form', class: 'bar' },
    h('label', {}, 'Scan for', scope),
    h('button', { class: 'primary', type: 'submit' }, 'Scan all registry images'),
    h('button', { type: 'button', id: 'sync-all', onclick: () => act(status,
      () => call('POST', '/image/image-sync/tasks', { params: ep(), body: { sync_all_registries: true } }),
      'Image sync started.', poll) }, 'Sync image lists from all registries'));
  start.addEventListener('submit', (e) => {
    e.preventDefault();
    act(status, () => call('POST', '/image/image-scan/tasks', { params: { ...ep(), global_image_type: 'registry' },
      body: { is_all: true, scan_scope: Number(scope.value), rate_limit: 0 } }), 'Scan started.', poll);
  });
  const list = h('div', { id: 'task-list' }, 'Loading…');
  box.replaceChildren(h('h2', { id: 'tasks-h' }, 'Image sync and scan tasks'),
    canScan() ? start : h('p', {}, 'Starting and stopping tasks needs the writer or admin role.'), list);
  let timer = 0, seen = null;
  async function poll() {
    clearTimeout(timer);
    if (gen !== page || !box.isConnected) return;
    try {
      const [scans, syncs] = await Promise.all(['image_scan', 'image_sync'].map((type) =>
        call('GET', '/image/tasks', { params: { ...ep(), type, limit: 200 } })));
      if (gen !== page) return;
      const all = [...scans.data_list.map((t) => ({ ...t, kind: 'scan' })), ...syncs.data_list.map((t) => ({ ...t, kind: 'sync' }))]
        .sort((a, b) => (b.begin_time || 0) - (a.begin_time || 0));
      list.dataset.scans = scans.total_num;
      list.dataset.syncs = syncs.total_num;
      list.dataset.running = all.filter(running).length;
      list.replaceChildren(all.length ? taskTable(all, status, poll) : h('p', {}, 'No task yet.'));
      const sig = all.map((t) => `${t.task_id}:${t.task_status}`).join(',');
      if (seen !== null && sig !== seen) onChange();
      seen = sig;
      if (all.some(running)) timer = setTimeout(poll, POLL_MS);
    } catch (x) { list.replaceChildren(h('p', { class: 'error', role: 'alert' }, x.message)); }
  }
  poll();
}

function taskTable(tasks, status, poll) {
  return h('div', {}, tasks.map((t) => h('article', { class: 'task', dataset: { task: t.task_id, kind: t.kind, status: t.task_status } },
    h('h3', {}, `${t.kind === 'scan' ? 'Scan' : 'Sync'} ${t.task_name || t.task_id}`),
    h('p', {}, h('progress', { max: 100, value: Math.max(0, Math.min(100, t.task_status)), 'aria-label': 'progress' }), ' ',
      h('span', { class: 'state' }, stateText(t)),
      ` · started ${time(t.begin_time)}${t.end_time ? `, ended ${time(t.end_time)}` : ''}`,
      ` · ${fmt(t.total_num)} ${t.kind === 'sync' ? 'registries' : 'images'}: ${fmt(t.success_num)} done, ${fmt(t.failed_num)} failed`,
      t.risky_num ? `, ${fmt(t.risky_num)} risky` : '',
      t.remain_min && running(t) ? ` · about ${fmt(t.remain_min)} min left` : '', ' ',
      t.kind === 'scan' && running(t) && canScan() ? h('button', { type: 'button', class: 'stop', onclick: () => act(status,
        () => call('PUT', `/image/image-scan/tasks/${encodeURIComponent(t.task_id)}/stop`, { params: ep() }), 'Stopping the scan.', poll) }, 'Stop') : null),
    t.failed_reason ? h('p', { class: 'error' }, `Task failed: ${t.failed_reason}`) : null,
    (t.failed_images || []).length ? h('details', { class: 'failed', open: true }, h('summary', {}, `Failed images (${fmt(t.failed_images.length)})`),
      h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, ['registry', 'image', 'failed_reason'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, t.failed_images.map((f) => h('tr', {},
          h('td', {}, f.registry_name || f.registry_id || ''),
          h('td', {}, `${f.namespace ? `${f.namespace}/` : ''}${f.image_name}:${f.image_version}`),
          h('td', { class: 'reason' }, f.failed_reason || ''))))))) : null)));
}
