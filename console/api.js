// api.js - the session and the HTTP calls. The token lives in this
// module's memory only (docs/design.md "The web console"): never in a URL,
// a cookie or Web Storage; a reload or a new tab asks to sign in again.
// Every call sends it as X-Auth-Token. Every number the pages show comes
// from these calls, the same routes a script would use (docs/api.md).

export const REPORT_TYPES = ['vulnerability', 'risk-config', 'malwares', 'apps', 'files',
  'sensitive-info', 'non-compliant-app', 'build-command-risks'];

export const session = {};

export function clearSession() {
  for (const k of Object.keys(session)) delete session[k];
}

export class ApiError extends Error {
  constructor(status, code, msg) { super(`${status} ${code}: ${msg}`); this.status = status; this.code = code; }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// One call: path under /v5/{project} (or, with root, from the server's
// root), query params, optional JSON body.
export async function call(method, path, { params, body, raw, root } = {}) {
  const headers = { 'X-Auth-Token': session.token, region: session.region };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const url = `${root ? '' : `/v5/${encodeURIComponent(session.project)}`}${path}${query(params)}`;
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
  if (r.status === 401) { clearSession(); location.hash = '#/signin'; }
  if (!r.ok) {
    let code = '', msg = r.statusText;
    try { const e = await r.json(); code = e.error_code || ''; msg = e.error_msg || msg; } catch { /* not JSON */ }
    throw new ApiError(r.status, code, msg);
  }
  return raw ? r : r.json();
}

// The caller's EPs on the token's project (GET /v1.0/enterprise-projects,
// docs/api.md "Enterprise projects"): [{id, name}, ...].
export async function myEps() {
  const j = await call('GET', '/v1.0/enterprise-projects', { root: true, params: { limit: 1000 } });
  return j.enterprise_projects;
}

export function epParam() { return { enterprise_project_id: session.ep || '0' }; }

export async function statistic(type, body) {
  const j = await call('POST', '/image/security-report/statistic',
    { params: { security_report_type: type, ...epParam() }, body });
  return j.total_num;
}

export async function signIn({ domain, user, password, project, region }) {
  const body = { auth: { identity: { methods: ['password'], password: { user: { name: user, password,
    domain: { name: domain } } } }, scope: { project: { id: project } } } };
  const r = await fetch('/v3/auth/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  if (r.status !== 201) {
    let msg = r.statusText;
    try { msg = (await r.json()).error.message; } catch { /* not JSON */ }
    throw new ApiError(r.status, '', msg);
  }
  const j = await r.json();
  Object.assign(session, { token: r.headers.get('X-Subject-Token'), project: j.token.project.id,
    user: j.token.user.name, roles: j.token.roles.map((x) => x.name), region, ep: 'all_granted_eps' });
}

export async function signOut() {
  if (session.token)
    await fetch('/v3/auth/tokens', { method: 'DELETE', credentials: 'omit',
      headers: { 'X-Auth-Token': session.token, 'X-Subject-Token': session.token } }).catch(() => {});
  clearSession();
}
