// test.js - the web console in a real browser (docs/console.md): Debian's
// chromium driven by playwright-core against a real imgsecd on an ephemeral
// port with generated data. Every count the page shows is compared with the
// statistic route's answer for the same body. Env: IMGSECD, IMGSEC_CLI,
// CONSOLE_DIR; CONSOLE_SHOTS (a directory: screenshots), CONSOLE_IMAGES.
'use strict';
const { chromium } = require('playwright-core');
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const IMAGES = Number(process.env.CONSOLE_IMAGES || 300);
const SHOTS = process.env.CONSOLE_SHOTS || '';
const TYPES = ['vulnerability', 'risk-config', 'malwares', 'apps', 'files', 'sensitive-info',
  'non-compliant-app', 'build-command-risks'];
let passed = 0, failed = 0;
const metrics = {};

function check(ok, what, detail = '') {
  if (ok) { passed++; } else { failed++; console.log(`FAIL ${what} ${detail}`); }
}
function eq(got, want, what) { check(JSON.stringify(got) === JSON.stringify(want), what, `got ${JSON.stringify(got)} want ${JSON.stringify(want)}`); }

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imgsec-console-'));
  const db = path.join(tmp, 'imgsec.db');
  const cli = (args, env = {}) => execFileSync(process.env.IMGSEC_CLI, args,
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  cli(['demo', '--db', db, '--project', 'demo', '--images', String(IMAGES), '--seed', '1', '--eps', '0,ep-dev,ep-prod']);
  cli(['user', 'add', '--db', db, '--domain', 'demo', '--name', 'alice', '--project', 'demo', '--role', 'admin', '--eps', 'all'], { IMGSEC_PASSWORD: 'demo-password' });
  cli(['user', 'add', '--db', db, '--domain', 'demo', '--name', 'bob', '--project', 'demo', '--role', 'reader', '--eps', '0'], { IMGSEC_PASSWORD: 'demo-password' });

  // the console's files, plus two symlinks that must never be served
  const cdir = path.join(tmp, 'console');
  fs.mkdirSync(cdir);
  for (const f of fs.readdirSync(process.env.CONSOLE_DIR)) fs.copyFileSync(path.join(process.env.CONSOLE_DIR, f), path.join(cdir, f));
  fs.writeFileSync(path.join(tmp, 'secret.js'), 'secret');
  fs.symlinkSync(path.join(tmp, 'secret.js'), path.join(cdir, 'out.js'));
  fs.symlinkSync('app.js', path.join(cdir, 'in.js'));

  const portFile = path.join(tmp, 'port');
  const srv = spawn(process.env.IMGSECD, ['--db', db, '--listen', '127.0.0.1:0', '--port-file', portFile,
    '--console-dir', cdir, '--region', 'local-1', '--access-log', path.join(tmp, 'access.log')], { stdio: ['ignore', 'inherit', 'inherit'] });
  let ctx;
  try {
    for (let i = 0; i < 600 && !fs.existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100));
    const base = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
    await staticChecks(base);
    const api = await apiClient(base);
    ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: '/usr/bin/chromium', headless: true, acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = [], refused = [];
    page.on('pageerror', (e) => { errors.push(String(e)); console.log(`page error: ${e}`); });
    page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource: the server responded/.test(m.text())) errors.push(m.text()); });
    page.on('response', (r) => { if (r.status() >= 400) refused.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`); });
    await browserChecks(page, base, api, tmp);
    // the refusals the test provokes, and only those: the wrong password,
    // the EP not held, the duplicate registry name
    eq(refused, ['401 POST /v3/auth/tokens', '409 POST /v5/demo/image/registries',
      '403 POST /v5/demo/image/security-report/statistic'], 'no failed loads but the three provoked');
    const bad = errors;
    eq(bad.slice(0, 3), [], 'no script errors, failed loads or CSP violations');
  } finally {
    if (ctx) await ctx.close();
    const exited = new Promise((r) => srv.on('exit', (code) => r(code)));
    srv.kill('SIGTERM');
    eq(await exited, 0, 'imgsecd exits 0 (no leak report under ASan)');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`console metrics: ${JSON.stringify(metrics)}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

async function staticChecks(base) {
  let r = await fetch(`${base}/`, { redirect: 'manual' });
  eq([r.status, r.headers.get('location')], [302, '/console/'], 'GET / redirects to the console');
  r = await fetch(`${base}/console`, { redirect: 'manual' });
  eq([r.status, r.headers.get('location')], [302, '/console/'], 'GET /console redirects to /console/');
  r = await fetch(`${base}/console/`);
  eq([r.status, r.headers.get('content-type')], [200, 'text/html; charset=utf-8'], 'index.html');
  check(/default-src 'self'/.test(r.headers.get('content-security-policy')) &&
    !/unsafe/.test(r.headers.get('content-security-policy')), 'strict CSP', r.headers.get('content-security-policy'));
  eq([r.headers.get('x-content-type-options'), r.headers.get('referrer-policy'), r.headers.get('cache-control')],
    ['nosniff', 'no-referrer', 'no-cache'], 'security headers');
  const etag = r.headers.get('etag');
  r = await fetch(`${base}/console/app.js`);
  eq([r.status, r.headers.get('content-type')], [200, 'text/javascript; charset=utf-8'], 'app.js type');
  r = await fetch(`${base}/console/style.css`);
  eq(r.headers.get('content-type'), 'text/css; charset=utf-8', 'style.css type');
  r = await fetch(`${base}/console/`, { headers: { 'If-None-Match': etag } });
  eq(r.status, 304, 'ETag revalidation');
  for (const p of ['/console/out.js', '/console/in.js', '/console/..%2fCMakeLists.txt', '/console/%2e%2e%2fsecret.js',
    '/console/.hidden.js', '/console/x.txt', '/console/nope.js', '/console/a/b.js'])
    eq((await fetch(`${base}${p}`)).status, 404, `refused ${p}`);
}

async function apiClient(base) {
  const token = async (user) => {
    const r = await fetch(`${base}/v3/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: user, password: 'demo-password',
        domain: { name: 'demo' } } } }, scope: { project: { id: 'demo' } } } }) });
    return r.headers.get('x-subject-token');
  };
  const t = await token('alice');
  const bob = await token('bob');
  const get = async (p) => (await fetch(`${base}/v5/demo${p}`, { headers: { 'X-Auth-Token': t, region: 'local-1' } })).json();
  const root = async (p, who = t) => (await fetch(`${base}${p}`, { headers: { 'X-Auth-Token': who } })).json();
  const stat = async (type, body, ep = 'all_granted_eps') => {
    const r = await fetch(`${base}/v5/demo/image/security-report/statistic?security_report_type=${type}&enterprise_project_id=${ep}`,
      { method: 'POST', headers: { 'X-Auth-Token': t, region: 'local-1', 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return (await r.json()).total_num;
  };
  return { get, stat, root, bob };
}

// page.waitForFunction evals a string, which the console's CSP refuses
// (rightly): poll with page.evaluate (the DevTools protocol) instead.
async function waitFor(page, fn, arg, { timeout = 30000 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

// Waits for the dashboard's counts of a generation after `after`; compares
// each card with the statistic route for the body the page used.
async function dashboardCompare(page, api, after, what, expect = '') {
  await waitFor(page, ([g, e]) => Number(document.getElementById('main').dataset.gen || 0) > g &&
    (document.getElementById('main').dataset.body || '').includes(e), [after, expect], { timeout: 60000 });
  const st = await page.evaluate(() => {
    const m = document.getElementById('main');
    return { gen: Number(m.dataset.gen), body: JSON.parse(m.dataset.body), countsMs: Number(m.dataset.countsMs),
      inputMs: Number(m.dataset.inputMs),
      counts: Object.fromEntries([...document.querySelectorAll('#counts .card')].map((c) => [c.dataset.type, Number(c.querySelector('.n').dataset.count)])) };
  });
  const want = {};
  for (const t of TYPES) want[t] = await api.stat(t, st.body);
  eq(st.counts, want, `dashboard counts = statistic (${what})`);
  return st;
}

async function browserChecks(page, base, api, tmp) {
  const t0 = Date.now();
  await page.goto(`${base}/`);
  await page.waitForSelector('#signin');
  metrics.first_load_cold_browser_ms = Date.now() - t0;
  // again with an empty cache, in the now running browser: the page load a
  // person sees (the browser's own start-up is not the console's)
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.clearBrowserCache');
  await page.goto('about:blank');
  await page.goto(`${base}/console/`);
  await page.waitForSelector('#signin');
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    return { load_event_ms: Math.round(n.loadEventEnd), dcl_ms: Math.round(n.domContentLoadedEventEnd),
      files: res.length + 1, bytes: res.reduce((a, r) => a + r.encodedBodySize, n.encodedBodySize),
      transfer_bytes: res.reduce((a, r) => a + r.transferSize, n.transferSize),
      slowest: res.map((r) => [r.name.split('/').pop(), Math.round(r.startTime), Math.round(r.responseEnd)]).sort((a, b) => b[2] - a[2]).slice(0, 3),
      html_ms: [Math.round(n.requestStart), Math.round(n.responseEnd)] };
  });
  Object.assign(metrics, nav);
  await shot(page, 'signin');

  // sign in: wrong password first
  await page.fill('[name=domain]', 'demo'); await page.fill('[name=user]', 'alice');
  await page.fill('[name=password]', 'wrong'); await page.fill('[name=project]', 'demo');
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#signin .error:not(:empty)');
  await page.fill('[name=password]', 'demo-password');
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#ep');
  check(!(await page.evaluate(() => location.href)).includes('token'), 'no token in the URL');
  await tokenNowhere(page, 'alice signed in');
  eq(await epChoices(page), ['all_granted_eps', ...(await api.root('/v1.0/enterprise-projects')).enterprise_projects.map((e) => e.id)],
    'EP picker offers all_granted_eps and exactly ListEnterpriseProject');
  eq(await epChoices(page), ['all_granted_eps', '0', 'ep-dev', 'ep-prod'], 'admin: every EP of the project');
  await shot(page, 'ep');
  // memory only: a reload forgets the token and asks to sign in again
  await page.reload();
  await page.waitForSelector('#signin');
  check(await page.evaluate(() => document.getElementById('nav').hidden), 'after a reload: signed out');
  await signInAs(page, 'alice');
  await page.click('#ep button[type=submit]');
  await page.waitForSelector('#counts');

  let st = await dashboardCompare(page, api, 0, 'no filter');
  check(st.counts.vulnerability > 0 && st.counts.apps > 0, 'demo data has records', JSON.stringify(st.counts));
  await waitFor(page, () => document.getElementById('main').dataset.chartGen, null, { timeout: 60000 });
  await shot(page, 'dashboard');
  const times = [];
  const steps = [
    ['has_vul=true', '"has_vul":true', () => page.selectOption('[name=has_vul]', 'true')],
    ['image_name', '"image_name":"service"', () => page.fill('[name=image_name]', 'service')],
    ['severity High', '"severity_level":"High"', () => page.selectOption('[name=severity_level]', 'High')],
    ['scan dates', '"end_latest_scan_time":1798761599999', async () => { await page.fill('[name=start_latest_scan_time]', '2024-01-01'); await page.fill('[name=end_latest_scan_time]', '2026-12-31'); }],
    ['vul_type + build level', '"build_command_risk_level":"high"', async () => { await page.selectOption('[name=vul_type]', 'linux_vul'); await page.selectOption('[name=build_command_risk_level]', 'high'); }],
    ['latest + image type', '"image_type":"private_image"', async () => { await page.check('[name=latest_version]'); await page.selectOption('[name=image_type]', 'private_image'); }],
  ];
  for (const [what, expect, act] of steps) {
    const g = st.gen;
    await act();
    st = await dashboardCompare(page, api, g, what, expect);
    times.push([st.countsMs, st.inputMs]);
  }
  metrics.dashboard_counts_ms = times.map((t) => t[0]);
  metrics.dashboard_input_to_counts_ms = times.map((t) => t[1]);
  await page.click('#filters button[type=reset]');
  st = await dashboardCompare(page, api, st.gen, 'cleared');
  eq(st.body, { operate_all: true }, 'clear filters gives the empty body');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.selectOption('[name=has_vul]', 'true'); // redraws the chart at the phone's width
  st = await dashboardCompare(page, api, st.gen, 'phone', '"has_vul":true');
  await waitFor(page, (g) => Number(document.getElementById('main').dataset.chartGen) === g, st.gen);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'dashboard-phone');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.selectOption('[name=has_vul]', '');
  st = await dashboardCompare(page, api, st.gen, 'desktop again', '');
  await waitFor(page, (g) => Number(document.getElementById('main').dataset.chartGen) === g, st.gen, { timeout: 60000 });
  await shot(page, 'dashboard-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // images: total, paging, open one
  await page.goto(`${base}/console/#/images?limit=20`);
  await page.waitForSelector('#image-total');
  const total = Number(await page.getAttribute('#image-total', 'data-total'));
  const apiList = await api.get('/image/registries/images?enterprise_project_id=all_granted_eps&limit=20');
  eq(total, apiList.total_num, 'image list total = ListRegistryImages');
  const registryImages = await api.stat('vulnerability', { operate_all: true, image_type: 'private_image' });
  check(total > 20, 'more than a page of registry images', String(total));
  await shot(page, 'images');
  await page.click('.pager button:has-text("Next")');
  await waitFor(page, () => /^21–40 of/.test(document.querySelector('.pager .range')?.textContent || ''));
  const firstOfPage2 = await page.textContent('tbody tr td a');
  const api2 = await api.get('/image/registries/images?enterprise_project_id=all_granted_eps&limit=20&offset=20');
  eq(firstOfPage2, String(api2.data_list[0].id), 'page 2 starts with the API page 2');
  void registryImages;
  await page.click('tbody tr td a');
  await page.waitForSelector('#findings [data-total]');
  const img = api2.data_list[0];
  await waitFor(page, () => [...document.querySelectorAll('.tabs button')].filter((b) => b.dataset.total !== undefined).length === 8, null, { timeout: 30000 });
  const tabTotals = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('.tabs button')].map((b) => [b.dataset.tab, Number(b.dataset.total)])));
  for (const t of ['vulnerability', 'malwares', 'apps', 'files', 'sensitive-info', 'non-compliant-app'])
    eq(tabTotals[t], await api.stat(t, { image_id_list: [String(img.id)] }), `image ${img.id} ${t} tab = statistic`);
  eq(tabTotals.vulnerability, img.vul_num, 'vulnerability tab = the list item vul_num');
  await shot(page, 'image');
  await page.click('.tabs button[data-tab=apps]');
  await waitFor(page, () => /apps records/.test(document.querySelector('#findings p')?.textContent || ''));

  // vulnerabilities
  await page.goto(`${base}/console/#/vulns`);
  await page.waitForSelector('#main [data-total]');
  const vt = Number(await page.getAttribute('#main [data-total]', 'data-total'));
  eq(vt, (await api.get('/images/vulnerabilities?image_type=registry&type=linux_vul&handle_status=unhandled&enterprise_project_id=all_granted_eps&limit=10')).total_num, 'vulnerability view = ListGeneralImageVuls');
  await page.click('tbody tr td a');
  await page.waitForSelector('#affected h2');
  await shot(page, 'vulns');

  // export with a filter set on the dashboard
  await page.goto(`${base}/console/#/dashboard`);
  await page.waitForSelector('#counts');
  await page.selectOption('[name=severity_level]', 'Medium');
  await waitFor(page, () => (document.getElementById('main').dataset.body || '').includes('Medium'));
  await page.goto(`${base}/console/#/export`);
  await page.selectOption('#export [name=type]', 'vulnerability');
  await page.waitForSelector('#export-count[data-count]');
  const shown = Number(await page.getAttribute('#export-count', 'data-count'));
  eq(shown, await api.stat('vulnerability', { operate_all: true, severity_level: 'Medium' }), 'export count = statistic');
  check(shown > 0 && shown < (await api.stat('vulnerability', { operate_all: true })), 'the export filter narrows', String(shown));
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#export button[type=submit]')]);
  const file = path.join(tmp, 'export.csv');
  await dl.saveAs(file);
  eq(csvRecords(fs.readFileSync(file, 'utf8')) - 1, shown, 'downloaded CSV rows = the count shown');
  eq(Number(await page.getAttribute('#export-state', 'data-records')), shown, 'task record_num = count');
  await shot(page, 'export');

  await registryChecks(page, base, api);

  // bob, a reader of EP 0 only: offered only EP 0, denied ep-prod
  await page.click('#signout');
  await page.waitForSelector('#signin');
  await signInAs(page, 'bob');
  eq(await epChoices(page), ['all_granted_eps', ...(await api.root('/v1.0/enterprise-projects', api.bob)).enterprise_projects.map((e) => e.id)],
    'reader: EP picker = its ListEnterpriseProject');
  eq(await epChoices(page), ['all_granted_eps', '0'], 'reader: only the EP it holds');
  await page.click('#ep summary');
  await page.fill('#ep-other', 'ep-prod');
  await page.click('#ep button[type=submit]');
  await page.waitForSelector('#ep .error:not(:empty)');
  check(/Denied/.test(await page.textContent('#ep .error')), 'reader denied an EP without grant');
  await shot(page, 'ep-denied');
  await page.fill('#ep-other', '');
  await page.check('#ep input[name=ep][value="0"]');
  await page.click('#ep button[type=submit]');
  await page.waitForSelector('#counts');
  const bobGen = await waitFor(page, () => document.getElementById('main').dataset.gen).then(() => true);
  check(bobGen, 'reader sees EP 0 dashboard');
  await page.goto(`${base}/console/#/registries`);
  await page.waitForSelector('#reg-summary[data-total]');
  eq(await page.$$eval('#registry-form, #registries button.delete, #reg-batch-delete', (x) => x.length), 0,
    'reader: no add, edit or delete controls');
  eq(Number(await page.getAttribute('#reg-summary', 'data-total')), (await api.get('/image/registries?limit=200')).total_num,
    'reader: registry count = ListRegistry');
  await tokenNowhere(page, 'bob signed in');
}

async function signInAs(page, user) {
  await page.fill('[name=domain]', 'demo'); await page.fill('[name=user]', user);
  await page.fill('[name=password]', 'demo-password'); await page.fill('[name=project]', 'demo');
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#ep');
}

// The EP ids the picker offers, in order.
async function epChoices(page) {
  await page.waitForSelector('#ep input[name=ep]');
  return page.$$eval('#ep input[name=ep]', (x) => x.map((i) => i.value));
}

// The token is in no URL, cookie, Web Storage or IndexedDB of the page.
async function tokenNowhere(page, what) {
  const st = await page.evaluate(async () => ({ local: localStorage.length, session: sessionStorage.length,
    cookie: document.cookie, dbs: (await indexedDB.databases()).length, url: location.href }));
  eq(st, { local: 0, session: 0, cookie: '', dbs: 0, url: st.url.replace(/token/gi, '') }, `token kept in memory only (${what})`);
  eq((await page.context().cookies()).length, 0, `no cookies (${what})`);
}

// Registries: add, edit, batch delete, delete in the page; each step
// compared with ListRegistry / ListRegistryStatistics; the password is
// never answered by the API nor shown by the page.
async function registryChecks(page, base, api) {
  const PW = 'Console-Registry-Pw-7f3a';
  const list = async () => api.get('/image/registries?limit=200');
  const summary = async () => {
    await page.waitForSelector('#reg-summary[data-total]');
    return page.evaluate(() => { const d = document.getElementById('reg-summary').dataset; return [Number(d.total), Number(d.success), Number(d.fail)]; });
  };
  const apiSummary = async () => { const st = await api.get('/image/registries/statistics'); return [(await list()).total_num, st.success_num, st.fail_num]; };
  const waitStatus = async (re) => waitFor(page, (r) => new RegExp(r).test(document.getElementById('reg-status')?.textContent || ''), re.source);
  const rows = async () => page.$$eval('#registries tbody tr', (x) => x.map((r) => r.dataset.name));

  await page.goto(`${base}/console/#/registries`);
  eq(await summary(), await apiSummary(), 'registries: counts = ListRegistry / ListRegistryStatistics (none)');
  eq((await list()).total_num, 0, 'no registry at first');
  const add = async (name, type, addr, user, pw) => {
    await page.fill('#registry-form [name=registry_name]', name);
    await page.selectOption('#registry-form [name=registry_type]', type);
    await page.fill('#registry-form [name=registry_addr]', addr);
    if (user) { await page.fill('#registry-form [name=registry_username]', user); await page.fill('#registry-form [name=registry_password]', pw); }
    await page.click('#registry-form button[type=submit]');
    await waitStatus(new RegExp(`^Added ${name}\\.`));
    await waitFor(page, (n) => [...document.querySelectorAll('#registries tbody tr')].some((r) => r.dataset.name === n), name);
  };
  await add('harbor-main', 'Harbor', 'harbor.example.com:8443', 'robot$scan', PW);
  await add('local-reg', 'Other', '127.0.0.1:5000', '', '');
  await add('jfrog-x', 'Jfrog', 'jfrog.example.com', 'ci', 'Another-Pw-1');
  let l = await list();
  eq(l.data_list.map((r) => [r.registry_name, r.registry_type, r.registry_addr, r.registry_username, r.protocol, r.status]),
    [['harbor-main', 'Harbor', 'harbor.example.com:8443', 'robot$scan', 'https', 'accessing'],
      ['local-reg', 'Other', '127.0.0.1:5000', '', 'https', 'accessing'],
      ['jfrog-x', 'Jfrog', 'jfrog.example.com', 'ci', 'https', 'accessing']], 'added registries are in ListRegistry');
  check(!JSON.stringify(l).includes(PW) && l.data_list.every((r) => !('registry_password' in r)), 'ListRegistry never answers the password');
  eq(await rows(), ['harbor-main', 'local-reg', 'jfrog-x'], 'page rows = ListRegistry items');
  eq(await summary(), await apiSummary(), 'registries: counts = API after adding 3');
  const text = await page.evaluate(() => document.body.innerText + [...document.querySelectorAll('input')].map((i) => i.value).join(' '));
  check(!text.includes(PW), 'the page never shows the password, nor keeps it in a field');
  // a refused add (a second harbor-main) says why and changes nothing
  await page.fill('#registry-form [name=registry_name]', 'harbor-main');
  await page.fill('#registry-form [name=registry_addr]', 'other.example.com');
  await page.click('#registry-form button[type=submit]');
  await waitFor(page, () => document.getElementById('reg-status').className === 'error');
  check(/409|HSS\.0001/.test(await page.textContent('#reg-status')), 'duplicate name refused', await page.textContent('#reg-status'));
  eq((await list()).total_num, 3, 'a refused add adds nothing');
  await page.fill('#registry-form [name=registry_name]', '');
  await page.fill('#registry-form [name=registry_addr]', '');
  await shot(page, 'registries');

  // edit: protocol and address change; name and type cannot
  await page.click('#registries tr[data-name="local-reg"] button.edit');
  check(await page.isDisabled('#registry-form [name=registry_name]'), 'edit: the name is not editable');
  await page.selectOption('#registry-form [name=protocol]', 'http');
  await page.fill('#registry-form [name=registry_addr]', '127.0.0.1:5001');
  await page.click('#registry-form button[type=submit]');
  await waitStatus(/^Saved local-reg\./);
  await waitFor(page, () => /127\.0\.0\.1:5001/.test(document.getElementById('registries')?.textContent || ''));
  l = await list();
  const local = l.data_list.find((r) => r.registry_name === 'local-reg');
  eq([local.protocol, local.registry_addr, local.registry_type], ['http', '127.0.0.1:5001', 'Other'], 'edit reached UpdateRegistry');

  // batch delete two, then delete the last one (each asks a second press)
  await page.check('#registries tr[data-name="harbor-main"] input[type=checkbox]');
  await page.check('#registries tr[data-name="jfrog-x"] input[type=checkbox]');
  await page.click('#reg-batch-delete');
  eq((await list()).total_num, 3, 'the first press of delete deletes nothing');
  await page.click('#reg-batch-delete');
  await waitStatus(/^Deleted 2 registries\./);
  await waitFor(page, () => document.querySelectorAll('#registries tbody tr').length === 1);
  eq((await list()).data_list.map((r) => r.registry_name), ['local-reg'], 'batch delete reached BatchDeleteRegistry');
  eq(await summary(), await apiSummary(), 'registries: counts = API after batch delete');
  // keyboard: focus the delete button and press Enter twice
  await page.focus('#registries tr[data-name="local-reg"] button.delete');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  await waitStatus(/^Deleted local-reg\./);
  await page.waitForSelector('#reg-none');
  eq((await list()).total_num, 0, 'delete reached DeleteRegistry');
  eq(await summary(), [0, 0, 0], 'registries: none left');
}

// Records of a CSV text (quoted fields may hold newlines).
function csvRecords(text) {
  let n = 0, q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') q = !q;
    else if (c === '\n' && !q) n++;
  }
  if (text.length && text[text.length - 1] !== '\n') n++;
  return n;
}

main().catch((e) => { console.log(`FAIL ${e.stack}`); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
