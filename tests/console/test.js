// test.js - the web console in a real browser (docs/console.md): Debian's
// chromium driven by playwright-core against a real imgsecd on an ephemeral
// port with generated data. Every count the page shows is compared with the
// statistic route's answer for the same body. Env: IMGSECD, IMGSEC_CLI,
// CONSOLE_DIR; CONSOLE_SHOTS (a directory: screenshots), CONSOLE_IMAGES;
// IMGSEC_FIXTURES (default ../shared/fixtures/scan). The scan pages need
// Debian's docker-registry and skopeo (scripts/deps.sh).
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
  // carol runs the registry scans, in a project of her own (no demo images)
  cli(['user', 'add', '--db', db, '--domain', 'demo', '--name', 'carol', '--project', 'scans', '--role', 'admin', '--eps', 'all'], { IMGSEC_PASSWORD: 'demo-password' });

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
  const token = async (user, project = 'demo') => {
    const r = await fetch(`${base}/v3/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: user, password: 'demo-password',
        domain: { name: 'demo' } } } }, scope: { project: { id: project } } } }) });
    return r.headers.get('x-subject-token');
  };
  const t = await token('alice');
  const bob = await token('bob');
  const carol = await token('carol', 'scans');
  const scans = async (p) => (await fetch(`${base}/v5/scans${p}`, { headers: { 'X-Auth-Token': carol } })).json();
  const get = async (p) => (await fetch(`${base}/v5/demo${p}`, { headers: { 'X-Auth-Token': t, region: 'local-1' } })).json();
  const root = async (p, who = t) => (await fetch(`${base}${p}`, { headers: { 'X-Auth-Token': who } })).json();
  const stat = async (type, body, ep = 'all_granted_eps') => {
    const r = await fetch(`${base}/v5/demo/image/security-report/statistic?security_report_type=${type}&enterprise_project_id=${ep}`,
      { method: 'POST', headers: { 'X-Auth-Token': t, region: 'local-1', 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return (await r.json()).total_num;
  };
  return { get, stat, root, bob, scans };
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
  eq(await page.$$eval('#registry-form, #registries button.delete, #reg-batch-delete, #scan-form', (x) => x.length), 0,
    'reader: no add, edit, delete or scan controls');
  eq(Number(await page.getAttribute('#reg-summary', 'data-total')), (await api.get('/image/registries?limit=200')).total_num,
    'reader: registry count = ListRegistry');
  await tokenNowhere(page, 'bob signed in');

  await scanChecks(page, base, api, tmp);
}

async function signInAs(page, user, project = 'demo') {
  await page.fill('[name=domain]', 'demo'); await page.fill('[name=user]', user);
  await page.fill('[name=password]', 'demo-password'); await page.fill('[name=project]', project);
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
  await shot(page, 'registries');
  if (SHOTS) {
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'registries-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'registries-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  // a refused add (a second harbor-main) says why and changes nothing
  await page.fill('#registry-form [name=registry_name]', 'harbor-main');
  await page.fill('#registry-form [name=registry_addr]', 'other.example.com');
  await page.click('#registry-form button[type=submit]');
  await waitFor(page, () => document.getElementById('reg-status').className === 'error');
  check(/409|HSS\.0001/.test(await page.textContent('#reg-status')), 'duplicate name refused', await page.textContent('#reg-status'));
  eq((await list()).total_num, 3, 'a refused add adds nothing');
  await page.fill('#registry-form [name=registry_name]', '');
  await page.fill('#registry-form [name=registry_addr]', '');
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

// Scans: a real docker-registry on loopback filled with skopeo (as
// tests/registry/test_scan_registry.py does); carol adds it in the page,
// syncs its image list, removes one tag from the registry's storage, scans
// every image and sees that one fail with the registry's reason; then a
// scan of a hung registry (SIGSTOP) is stopped from the page. Every number
// is compared with ListImageScanTask / ListRegistry.
async function scanChecks(page, base, api, tmp) {
  const fix = path.join(process.env.IMGSEC_FIXTURES || path.join(__dirname, '../../../shared/fixtures/scan'), 'images');
  const reg = await startRegistry(tmp);
  try {
    const env = { ...process.env, HOME: tmp, XDG_RUNTIME_DIR: path.join(tmp, 'run'), REGISTRY_AUTH_FILE: path.join(tmp, 'skopeo-auth.json'),
      DOCKER_CONFIG: path.join(tmp, 'no-docker-config') };
    fs.mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700, recursive: true });
    const push = (file, ref) => execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false',
      `docker-archive:${path.join(fix, file)}`, `docker://${reg.host}/${ref}`], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    push('gcr-hello-world-docker25.tar', 'gcr/hello:25');
    push('gcr-hello-world-docker25.tar', 'gcr/hello:gone');
    push('gcr-whiteout_image.tar', 'gcr/whiteout:1');
    push('scalibr-basic.tar', 'scalibr/basic:1');

    await page.click('#signout');
    await page.waitForSelector('#signin');
    await signInAs(page, 'carol', 'scans');
    await page.click('#ep button[type=submit]');
    await page.waitForSelector('#counts');
    await page.goto(`${base}/console/#/registries`);
    await page.waitForSelector('#task-list');
    await page.fill('#registry-form [name=registry_name]', 'loop');
    await page.selectOption('#registry-form [name=registry_type]', 'Harbor');
    await page.selectOption('#registry-form [name=protocol]', 'http');
    await page.fill('#registry-form [name=registry_addr]', reg.host);
    await page.click('#registry-form button[type=submit]');
    await page.waitForSelector('#registries tr[data-name="loop"]');

    // sync: the registry's 4 tags become the project's registry images
    await page.click('#sync-all');
    const doneTask = (kind, n) => waitFor(page, ([k, want]) => {
      const l = document.getElementById('task-list');
      const arts = [...document.querySelectorAll(`#task-list article[data-kind=${k}]`)];
      return l && l.dataset.running === '0' && arts.length === want && arts[0].dataset.status !== '' &&
        Number(arts[0].dataset.status) !== 0 && !(Number(arts[0].dataset.status) > 0 && Number(arts[0].dataset.status) < 100);
    }, [kind, n], { timeout: 300000 });
    await doneTask('sync', 1);
    let syncs = await api.scans('/image/tasks?type=image_sync&limit=200');
    eq([syncs.total_num, syncs.data_list[0].task_status, syncs.data_list[0].success_num, syncs.data_list[0].failed_num], [1, 100, 1, 0], 'sync task finished');
    const imgs = await api.scans('/image/registries/images?limit=200&enterprise_project_id=all_granted_eps');
    eq(imgs.data_list.map((i) => `${i.namespace}/${i.image_name}:${i.image_version}`).sort(),
      ['gcr/hello:25', 'gcr/hello:gone', 'gcr/whiteout:1', 'scalibr/basic:1'], 'the sync listed the 4 tags');
    // the page refreshes the registries when a task ends
    await waitFor(page, () => /success/.test(document.querySelector('#registries tr[data-name="loop"]')?.textContent || ''));
    const row = await page.$$eval('#registries tr[data-name="loop"] td', (x) => x.map((t) => t.textContent));
    const lr = (await api.scans('/image/registries?limit=200')).data_list[0];
    eq([lr.status, lr.images_num], ['success', 4], 'ListRegistry: the registry reached, 4 images');
    check(row.includes('success') && row.includes('4'), 'the page shows the registry reached with 4 images', JSON.stringify(row));

    // one tag gone from the registry after the sync: its scan fails with the registry's reason
    fs.rmSync(path.join(reg.dir, 'data/docker/registry/v2/repositories/gcr/hello/_manifests/tags/gone'), { recursive: true });
    await page.selectOption('#scan-form [name=scan_scope]', String(0x7fffffff));
    await page.click('#scan-form button[type=submit]');
    await doneTask('scan', 1);
    const scans = await api.scans('/image/tasks?type=image_scan&limit=200');
    const t = scans.data_list[0];
    eq([scans.total_num, t.task_status, t.total_num, t.success_num, t.failed_num, t.failed_images.length],
      [1, 100, 4, 3, 1, 1], 'ListImageScanTask: 4 scanned, 3 done, 1 failed');
    check(/404/.test(t.failed_images[0].failed_reason), 'the failure names the registry\'s 404', t.failed_images[0].failed_reason);
    const shown = await page.$eval(`#task-list article[data-task="${t.task_id}"]`, (a) => ({
      state: a.querySelector('.state').textContent, text: a.textContent,
      failed: [...a.querySelectorAll('.failed tbody tr')].map((r) => [...r.children].map((c) => c.textContent)) }));
    eq(shown.failed, [['loop', 'gcr/hello:gone', t.failed_images[0].failed_reason]], 'the page lists the failed image and why');
    check(shown.state === 'finished' && shown.text.includes(`${t.total_num} images: ${t.success_num} done, ${t.failed_num} failed`),
      'the page shows the task\'s counts', shown.text);
    await page.evaluate(() => document.getElementById('tasks').scrollIntoView());
    await shot(page, 'scans');

    // stop: the registry hangs, the scan waits on it, Stop in the page ends it
    process.kill(reg.proc.pid, 'SIGSTOP');
    try {
      await page.click('#scan-form button[type=submit]');
      await page.waitForSelector('#task-list article[data-kind=scan] button.stop');
      await page.click('#task-list article[data-kind=scan] button.stop');
      await waitFor(page, () => /^Stopping/.test(document.getElementById('reg-status').textContent));
      const s2 = (await api.scans('/image/tasks?type=image_scan&limit=200')).data_list.find((x) => x.task_id !== t.task_id);
      eq(s2.task_status, -1, 'StopImageScanTask reached: the task is stopped');
    } finally { process.kill(reg.proc.pid, 'SIGCONT'); }
    await waitFor(page, () => document.getElementById('task-list').dataset.running === '0', null, { timeout: 300000 });
    const st2 = await page.$$eval('#task-list article[data-kind=scan] .state', (x) => x.map((e) => e.textContent));
    eq(st2, ['stopped', 'finished'], 'the page shows the stopped and the finished scan');
  } finally { reg.proc.kill('SIGKILL'); }
}

async function freePort() {
  const net = require('net');
  return new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
}

// Debian's docker-registry as a plain process on a loopback port.
async function startRegistry(tmp) {
  const dir = path.join(tmp, 'registry');
  fs.mkdirSync(dir);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const cfg = path.join(dir, 'config.yml');
  fs.writeFileSync(cfg, `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: ${host}\n`);
  const proc = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`http://${host}/v2/`)).status === 200) return { proc, host, dir }; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error('docker-registry did not start');
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
