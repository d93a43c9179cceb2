// test.js - imgsecd against the official Huawei Cloud Node SDK.
//
// The SDK's own signer (AKSKSigner, via BasicCredentials) and its own HTTP
// client (HcClient from ClientBuilder) call a real imgsecd: the statistic
// and ingest routes must accept its signatures. Then requests the SDK
// signed are tampered with one element at a time (body, query, path, a
// signed header) and sent as they are, and the SDK signs with a wrong SK,
// an unknown AK and a stale date: each must be refused 401 APIGW.0301.
//
// usage: node test.js   with IMGSECD and IMGSEC_CLI (binaries) in the
// environment; NODE_PATH points at the node_modules the test command made.
'use strict';

const assert = require('assert');
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const querystring = require('querystring');

const core = require('@huaweicloud/huaweicloud-sdk-core');
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder');
// The package's main module also loads its v5 API, which fails to load in
// 3.1.172; the v3 client (Keystone tokens) is what this test needs.
const iam = require('@huaweicloud/huaweicloud-sdk-iam/v3/public-api');

const IMGSECD = process.env.IMGSECD;
const CLI = process.env.IMGSEC_CLI;
const REGION = 'conf-region-1';
const PROJECT = 'P1';
const STAT_URL = '/v5/{project_id}/image/security-report/statistic';
const INGEST_URL = '/v5/{project_id}/image/scan-results';

let failures = 0;
let passed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

function cli(dir, args, password) {
  const env = Object.assign({}, process.env);
  if (password) env.IMGSEC_PASSWORD = password;
  return execFileSync(CLI, args, { env, cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function startServer(dir, db) {
  const portFile = path.join(dir, 'port');
  const log = fs.openSync(path.join(dir, 'imgsecd.log'), 'a');
  const env = Object.assign({}, process.env, { IMGSEC_AUTH_FAIL_LIMIT: '0' });
  const proc = spawn(IMGSECD, ['--db', db, '--listen', '127.0.0.1:0', '--region', REGION,
                               '--port-file', portFile], { env, stdio: ['ignore', log, log] });
  for (let i = 0; i < 500; i++) {
    if (fs.existsSync(portFile)) {
      const port = parseInt(fs.readFileSync(portFile, 'utf8'), 10);
      if (port > 0) return { proc, port };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  proc.kill('SIGTERM');
  throw new Error('imgsecd did not start');
}

function client(endpoint, ak, sk) {
  const cred = new core.BasicCredentials().withAk(ak).withSk(sk).withProjectId(PROJECT);
  return new ClientBuilder((c) => c).withCredential(cred).withEndpoint(endpoint).build();
}

function statOptions(extra) {
  return Object.assign({
    method: 'POST',
    url: STAT_URL,
    pathParams: {},
    queryParams: { security_report_type: 'vulnerability', enterprise_project_id: '0' },
    headers: { region: REGION },
    contentType: 'application/json',
    data: { operate_all: true },
  }, extra || {});
}

// { ok: the SDK's answer } for an accepted call, { err: its error } for a refused one.
async function sdkCall(c, options) {
  try {
    return { ok: await c.sendRequest(options) };
  } catch (e) {
    return { err: e };
  }
}

function assertRefused(res, what) {
  assert.ok(res.err, `${what}: accepted, should be refused`);
  assert.strictEqual(res.err.httpStatusCode, 401, `${what}: status`);
  assert.strictEqual(res.err.errorCode, 'APIGW.0301', `${what}: error_code`);
}

// Sends a request exactly as given (already signed by the SDK).
function rawSend(port, method, target, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch (e) { /* not JSON */ }
        resolve({ status: res.statusCode, json, text: data });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Has the SDK sign a request (its own buildRequest + AKSKSigner) and
// returns what would go on the wire: method, target, headers, body.
async function signedWire(c, options) {
  const r = await c.buildRequest(options);
  const u = new URL(r.endpoint);
  const qs = querystring.stringify(r.queryParams || {});
  const headers = Object.assign({}, r.headers);
  const body = r.data === undefined ? undefined
    : (typeof r.data === 'string' ? r.data : JSON.stringify(r.data));
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  return { method: r.method, target: u.pathname + (qs ? `?${qs}` : ''), headers, body };
}

// X-Sdk-Date in the SDK's own format (it signs a date the caller gives as is).
function sdkDate(ms) {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

// POST /v3/auth/tokens through the official IAM client pointed at imgsecd.
async function iamToken(endpoint, ak, sk, password) {
  const c = iam.IamClient.newBuilder()
    .withCredential(new core.GlobalCredentials().withAk(ak).withSk(sk).withDomainId('acme'))
    .withEndpoint(endpoint).build();
  const domain = new iam.PwdPasswordUserDomain().withName('acme');
  const user = new iam.PwdPasswordUser().withDomain(domain).withName('alice').withPassword(password);
  const ident = new iam.PwdIdentity().withMethods([iam.PwdIdentityMethodsEnum.PASSWORD])
    .withPassword(new iam.PwdPassword().withUser(user));
  const scope = new iam.AuthScope().withProject(new iam.AuthScopeProject().withId(PROJECT));
  const body = new iam.KeystoneCreateUserTokenByPasswordRequestBody()
    .withAuth(new iam.PwdAuth().withIdentity(ident).withScope(scope));
  return c.keystoneCreateUserTokenByPassword(new iam.KeystoneCreateUserTokenByPasswordRequest().withBody(body));
}

function headerName(headers, lower) {
  return Object.keys(headers).find((k) => k.toLowerCase() === lower);
}

async function main() {
  assert.ok(IMGSECD && CLI, 'IMGSECD and IMGSEC_CLI must be set');
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'imgsec-conf-'));
  const db = path.join(dir, 'imgsec.db');
  cli(dir, ['user', 'add', '--db', db, '--domain', 'acme', '--name', 'alice', '--project', PROJECT,
            '--role', 'writer', '--eps', 'all'], 'conformance-password');
  const out = cli(dir, ['key', 'create', '--db', db, '--domain', 'acme', '--name', 'alice']);
  const ak = /^AK: ([A-Z0-9]{20})$/m.exec(out)[1];
  const sk = /^SK: ([A-Za-z0-9]{40})$/m.exec(out)[1];
  const { proc, port } = await startServer(dir, db);
  const endpoint = `http://127.0.0.1:${port}`;
  const good = client(endpoint, ak, sk);
  try {
    await check('SDK statistic call is accepted', async () => {
      const res = await good.sendRequest(statOptions());
      assert.strictEqual(res.httpStatusCode, 200);
      assert.strictEqual(res.total_num, 0);
    });
    const doc = {
      image: { image_type: 'private_image', namespace: 'conf', image_name: 'web',
               image_version: '1.0', scan_status: 'success' },
      vulnerabilities: [{ vul_id: 'CVE-2024-0001', vul_type: 'linux_vul', severity: 'HIGH',
                          app_name: 'openssl', app_version: '3.0.0' }],
    };
    await check('SDK ingest call (JSON) is accepted', async () => {
      const res = await good.sendRequest({
        method: 'POST', url: INGEST_URL, pathParams: {}, queryParams: { enterprise_project_id: '0' },
        headers: { region: REGION }, contentType: 'application/json', data: doc,
      });
      assert.strictEqual(res.httpStatusCode, 200, JSON.stringify(res));
      assert.strictEqual(res.images.length, 1);
    });
    await check('the statistic then counts what the SDK ingested', async () => {
      const res = await good.sendRequest(statOptions());
      assert.strictEqual(res.total_num, 1);
    });
    await check('SDK ingest call (NDJSON, UNSIGNED-PAYLOAD) is accepted', async () => {
      const ndjson = JSON.stringify(Object.assign({}, doc, {
        image: Object.assign({}, doc.image, { image_version: '2.0' }) })) + '\n';
      const res = await good.sendRequest({
        method: 'POST', url: INGEST_URL, pathParams: {}, queryParams: {},
        headers: { region: REGION }, contentType: 'application/x-ndjson', data: ndjson,
      });
      assert.strictEqual(res.httpStatusCode, 200, JSON.stringify(res));
    });
    await check('query values that need escaping are accepted', async () => {
      const res = await good.sendRequest(statOptions({
        queryParams: { security_report_type: 'vulnerability', enterprise_project_id: 'all_granted_eps',
                       'x y': 'a b*c~d/é' },
      }));
      assert.strictEqual(res.total_num, 2);
    });

    // The SDK-signed wire request is accepted as is (the baseline of the tampering).
    await check('an SDK-signed request sent unchanged is accepted', async () => {
      const w = await signedWire(good, statOptions());
      const res = await rawSend(port, w.method, w.target, w.headers, w.body);
      assert.strictEqual(res.status, 200, res.text);
    });
    const tamper = [
      ['altered body', (w) => { w.body = JSON.stringify({ operate_all: false, image_id_list: ['1'] });
                                w.headers['content-length'] = Buffer.byteLength(w.body); }],
      ['altered query', (w) => { w.target = w.target.replace('vulnerability', 'malwares'); }],
      ['added query parameter', (w) => { w.target += '&x=1'; }],
      ['altered path', (w) => { w.target = w.target.replace('/v5/P1/', '/v5/P2/'); }],
      ['signed header removed', (w) => { delete w.headers[headerName(w.headers, 'x-project-id')]; }],
      ['signed header altered', (w) => { w.headers[headerName(w.headers, 'region')] = 'other'; }],
      ['signature altered', (w) => {
        const k = headerName(w.headers, 'authorization');
        w.headers[k] = w.headers[k].replace(/Signature=(.)/, (m, c) => `Signature=${c === '0' ? '1' : '0'}`);
      }],
    ];
    for (const [what, mutate] of tamper) {
      await check(`${what}: 401 APIGW.0301`, async () => {
        const w = await signedWire(good, statOptions());
        mutate(w);
        const res = await rawSend(port, w.method, w.target, w.headers, w.body);
        assert.strictEqual(res.status, 401, res.text);
        assert.strictEqual(res.json && res.json.error_code, 'APIGW.0301', res.text);
      });
    }
    await check('wrong SK: 401 APIGW.0301', async () => {
      assertRefused(await sdkCall(client(endpoint, ak, sk.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))),
                                  statOptions()), 'wrong SK');
    });
    await check('unknown AK: 401 APIGW.0301', async () => {
      assertRefused(await sdkCall(client(endpoint, 'ABCDEFGHIJKLMNOPQRST', sk), statOptions()), 'unknown AK');
    });
    for (const minutes of [-16, 16]) {
      await check(`date ${minutes} minutes off: 401 APIGW.0301`, async () => {
        const d = sdkDate(Date.now() + minutes * 60000);
        assertRefused(await sdkCall(good, statOptions({ headers: { region: REGION, 'X-Sdk-Date': d } })),
                      'stale date');
      });
    }
    await check('date 10 minutes off is still accepted', async () => {
      const d = sdkDate(Date.now() - 10 * 60000);
      const res = await good.sendRequest(statOptions({ headers: { region: REGION, 'X-Sdk-Date': d } }));
      assert.strictEqual(res.httpStatusCode, 200);
    });
    await check('IAM SDK: a token from /v3/auth/tokens works on the statistic route', async () => {
      const res = await iamToken(endpoint, ak, sk, 'conformance-password');
      assert.strictEqual(res.httpStatusCode, 201);
      assert.strictEqual(res.token.project.id, PROJECT);
      const token = res['X-Subject-Token'];
      assert.ok(/^[A-Za-z0-9_-]{43}$/.test(token), token);
      const r = await rawSend(port, 'POST', '/v5/P1/image/security-report/statistic?security_report_type=vulnerability',
                              { 'X-Auth-Token': token, region: REGION, 'content-type': 'application/json' },
                              '{"operate_all":true}');
      assert.strictEqual(r.status, 200, r.text);
      assert.strictEqual(r.json.total_num, 2); // the JSON and the NDJSON image, EP 0
    });
    await check('IAM SDK: a wrong password is 401 in the Keystone shape', async () => {
      try {
        await iamToken(endpoint, ak, sk, 'wrong-password');
        assert.fail('accepted');
      } catch (e) {
        assert.strictEqual(e.httpStatusCode, 401);
        assert.strictEqual(e.errorCode, 401); // Keystone's error.code
      }
    });
    await check('a deleted key is refused at once', async () => {
      cli(dir, ['key', 'del', '--db', db, '--ak', ak]);
      assertRefused(await sdkCall(good, statOptions()), 'deleted key');
    });
    await check('the server log holds no SK and no signature', async () => {
      const log = fs.readFileSync(path.join(dir, 'imgsecd.log'), 'utf8');
      assert.ok(!log.includes(sk), 'SK in the log');
      assert.ok(!/Signature=/.test(log), 'Authorization in the log');
      assert.ok(!log.includes('CVE-2024-0001'), 'a request body in the log');
    });
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
  console.log(`${passed} passed, ${failures} failed`);
  if (failures === 0) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL ${e.stack || e}`); process.exit(1); });
