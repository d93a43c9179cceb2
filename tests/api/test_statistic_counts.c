/* test_statistic_counts.c - total_num against a reference evaluator.
 *
 * The test generates its own inventory with a fixed-seed PRNG (120 images
 * in project P1 over the EPs "0", "ep-a", "ep-b", and a copy of 40 of them
 * in project P2), ingests it over HTTP, keeps it in memory, and computes
 * every expected total_num with a deliberately plain evaluator written
 * from statistic.md and data-model.md alone (derived attributes included:
 * severity_level, risky, has_*, latest_version with ties to the greatest
 * id). Then it asks the server: each report type, each body field alone,
 * 300 random combinations, EP scopes and project isolation. Every
 * comparison is exact; mismatches are all listed before the test fails.
 */
#include "harness.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- vocabulary ---- */

enum { R_VUL, R_RC, R_MAL, R_APPS, R_FILES, R_SI, R_NCA, R_BUILD, NTYPES };
static const char *const TYPE_NAME[NTYPES] = {
    "vulnerability", "risk-config", "malwares", "apps", "files", "sensitive-info",
    "non-compliant-app", "build-command-risks"};
static const char *const DOC_KEY[NTYPES] = {
    "vulnerabilities", "risk_configs", "malwares", "apps", "files", "sensitive_info",
    "non_compliant_apps", "build_command_risks"};
static const char *const IMAGE_TYPES[] = {"private_image", "shared_image", "local_image",
                                          "instance_image", "harbor", "jfrog", "cicd"};
enum { N_IMAGE_TYPES = 7 };
static const char *const SCAN_STATUSES[] = {"unscan", "success", "scanning", "failed",
                                            "download_failed", "image_oversized"};
enum { N_SCAN_STATUSES = 6, ST_SUCCESS = 1, ST_UNSCAN = 0 };
/* record severities, by rank */
static const char *const SEV[] = {"unknown", "low", "medium", "high", "critical"};
enum { SEV_UNKNOWN, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL, N_SEV };
/* image severity_level */
static const char *const LEVELS[] = {"Security", "Low", "Medium", "High"};
enum { LV_NONE = -1, LV_SECURITY, LV_LOW, LV_MEDIUM, LV_HIGH };
static const char *const VUL_TYPES[] = {"linux_vul", "app_vul"};

static const char *const EPS[] = {"0", "ep-a", "ep-b"};
enum { N_EPS = 3 };
static const char *const PROJECTS[] = {"P1", "P2"};

/* pools: small on purpose, so names share substrings and lists overlap */
static const char *const NAMESPACES[] = {"shop", "shop-dev", "ops", "", "library"};
static const char *const NAMES[] = {"web", "web-api", "api-gateway", "nginx", "redis", "worker"};
static const char *const VERSIONS[] = {"1.0", "1.1", "1.10", "2.0", "2.0-rc1", "latest", "v3"};
static const char *const INSTANCE_IDS[] = {"", "inst-1", "inst-2"};
static const char *const INSTANCE_NAMES[] = {"", "harbor-prod", "harbor-dev", "jfrog-main",
                                             "prod"};
static const char *const CICDS[] = {"", "jenkins-main", "gitlab-ci-shop"};
enum { N_VUL_IDS = 12, N_RULES = 8, N_DIGESTS = 50 };
static const char *const RISK_NAMES[] = {"image runs as root", "root user in build stage",
                                         "curl piped to shell", "secrets in env",
                                         "apt-get without pinning", "uses sudo in RUN"};
enum { N_RISK_NAMES = 6 };

#define BASE_MS 1764000000000LL
#define MAXR 6

/* ---- the inventory ---- */

typedef struct {
    int vul_id, vul_type, sev;
} vrec;
typedef struct {
    int rule, name, level;
} brec;

typedef struct {
    int project, ep, type, status;
    const char *ns, *name, *version, *instance_id, *instance_name, *cicd;
    char image_id[80];
    long long size, upd, scan, containers;
    int n[NTYPES];
    vrec vul[MAXR];
    int rc_sev[MAXR], si_sev[MAXR];
    brec build[MAXR];
    /* from the server and derived */
    char id[32];
    long long idnum;
    int level; /* LV_* */
    bool latest;
} img;

enum { N_P1 = 120, N_COPY = 40, N_IMG = N_P1 + N_COPY, N_GROUPS = 16 };
static img IM[N_IMG];
static char VUL_ID[N_VUL_IDS][24], RULE_ID[N_RULES][16], DIGEST[N_DIGESTS][80];

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t rnd64(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}
static int rnd(int n)
{
    return (int)(rnd64() % (uint64_t)n);
}
#define PICK(arr) ((arr)[rnd((int)(sizeof(arr) / sizeof((arr)[0])))])

typedef struct {
    int type;
    const char *instance_id, *ns, *name;
} group;

/* The same latest_version group: project, type, instance, namespace, name. */
static bool same_group(const img *a, const img *b)
{
    return a->project == b->project && a->type == b->type &&
           strcmp(a->instance_id, b->instance_id) == 0 && strcmp(a->ns, b->ns) == 0 &&
           strcmp(a->name, b->name) == 0;
}

/* The same image identity: its group, the CI/CD name and the version. */
static bool same_identity(const img *a, const img *b)
{
    return same_group(a, b) && strcmp(a->cicd, b->cicd) == 0 &&
           strcmp(a->version, b->version) == 0;
}

static void generate(void)
{
    for (int i = 0; i < N_VUL_IDS; i++)
        snprintf(VUL_ID[i], sizeof VUL_ID[i], "CVE-2024-%04d", 100 + i * 7);
    for (int i = 0; i < N_RULES; i++)
        snprintf(RULE_ID[i], sizeof RULE_ID[i], "DS%03d", i + 1);
    for (int i = 0; i < N_DIGESTS; i++)
        snprintf(DIGEST[i], sizeof DIGEST[i], "sha256:%016" PRIx64 "%016" PRIx64, rnd64(),
                 rnd64());
    group groups[N_GROUPS];
    for (int g = 0; g < N_GROUPS; g++) {
        groups[g].type = g % N_IMAGE_TYPES;
        groups[g].instance_id = PICK(INSTANCE_IDS);
        groups[g].ns = PICK(NAMESPACES);
        groups[g].name = PICK(NAMES);
    }
    for (int i = 0; i < N_P1; i++) {
        img *m = &IM[i];
        memset(m, 0, sizeof *m);
        m->project = 0;
        for (;;) {
            const group *g = &groups[rnd(N_GROUPS)];
            m->type = g->type;
            m->instance_id = g->instance_id;
            m->ns = g->ns;
            m->name = g->name;
            m->version = PICK(VERSIONS);
            m->cicd = PICK(CICDS);
            bool dup = false;
            for (int j = 0; j < i && !dup; j++)
                dup = same_identity(m, &IM[j]);
            if (!dup)
                break;
        }
        m->ep = rnd(N_EPS);
        m->status = rnd(2) ? ST_SUCCESS : rnd(N_SCAN_STATUSES);
        m->upd = BASE_MS + rnd(5) * 3600000LL; /* few distinct values: ties */
        m->scan = m->status == ST_UNSCAN ? 0 : BASE_MS + rnd(8) * 60000LL;
        m->size = rnd(4) == 0 ? 0 : (1 + rnd(6)) * 1000000007LL;
        m->containers = rnd(2) ? 0 : 1 + rnd(4);
        if (rnd(8) == 0)
            m->image_id[0] = '\0';
        else
            snprintf(m->image_id, sizeof m->image_id, "%s", DIGEST[rnd(N_DIGESTS)]);
        m->instance_name = PICK(INSTANCE_NAMES);
        bool clean = rnd(6) == 0; /* no severity-bearing record at all */
        for (int t = 0; t < NTYPES; t++) {
            bool bearing = t == R_VUL || t == R_RC || t == R_MAL || t == R_SI || t == R_BUILD;
            m->n[t] = (clean && bearing) ? 0 : rnd(MAXR + 1);
        }
        /* Severities up to a per-image cap, so every severity_level occurs;
         * a malware counts as high, so images capped below mostly have none. */
        int cap = rnd(N_SEV);
        if (cap < SEV_HIGH && rnd(4) != 0)
            m->n[R_MAL] = 0;
        for (int k = 0; k < m->n[R_VUL]; k++)
            m->vul[k] = (vrec){rnd(N_VUL_IDS), rnd(2), rnd(cap + 1)};
        for (int k = 0; k < m->n[R_RC]; k++)
            m->rc_sev[k] = rnd(cap + 1);
        for (int k = 0; k < m->n[R_SI]; k++)
            m->si_sev[k] = rnd(cap + 1);
        for (int k = 0; k < m->n[R_BUILD]; k++)
            m->build[k] = (brec){rnd(N_RULES), rnd(N_RISK_NAMES), rnd(cap + 1)};
    }
    for (int i = 0; i < N_COPY; i++) {
        IM[N_P1 + i] = IM[i];
        IM[N_P1 + i].project = 1;
    }
}

/* A severity as an ingest document may spell it (case-insensitive). */
static json_t *sev_json(int sev)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%s", SEV[sev]);
    switch (rnd(3)) {
    case 1:
        for (char *p = buf; *p; p++)
            *p = (char)(*p - 'a' + 'A');
        break;
    case 2:
        buf[0] = (char)(buf[0] - 'a' + 'A');
        break;
    default:
        break;
    }
    return json_string(buf);
}

static json_t *doc_json(const img *m)
{
    json_t *d = json_object();
    json_t *im = json_object();
    json_object_set_new(im, "image_type", json_string(IMAGE_TYPES[m->type]));
    json_object_set_new(im, "namespace", json_string(m->ns));
    json_object_set_new(im, "image_name", json_string(m->name));
    json_object_set_new(im, "image_version", json_string(m->version));
    json_object_set_new(im, "image_id", json_string(m->image_id));
    json_object_set_new(im, "image_digest", json_string(m->image_id));
    json_object_set_new(im, "image_size", json_integer(m->size));
    json_object_set_new(im, "latest_update_time", json_integer(m->upd));
    json_object_set_new(im, "latest_scan_time", json_integer(m->scan));
    json_object_set_new(im, "scan_status", json_string(SCAN_STATUSES[m->status]));
    json_object_set_new(im, "instance_id", json_string(m->instance_id));
    json_object_set_new(im, "instance_name", json_string(m->instance_name));
    json_object_set_new(im, "cicd_name", json_string(m->cicd));
    json_object_set_new(im, "container_num", json_integer(m->containers));
    json_object_set_new(d, "image", im);
    for (int t = 0; t < NTYPES; t++) {
        if (m->n[t] == 0 && rnd(2))
            continue; /* absent arrays are empty */
        json_t *a = json_array();
        for (int k = 0; k < m->n[t]; k++) {
            json_t *r = json_object();
            char buf[64];
            snprintf(buf, sizeof buf, "/opt/%s/f%d", m->name, k);
            switch (t) {
            case R_VUL:
                json_object_set_new(r, "vul_id", json_string(VUL_ID[m->vul[k].vul_id]));
                json_object_set_new(r, "vul_type", json_string(VUL_TYPES[m->vul[k].vul_type]));
                json_object_set_new(r, "severity", sev_json(m->vul[k].sev));
                json_object_set_new(r, "app_name", json_string("openssl"));
                json_object_set_new(r, "cvss_score", json_real(7.5));
                break;
            case R_RC:
                json_object_set_new(r, "check_name", json_string("ssh"));
                snprintf(buf, sizeof buf, "rule-%d", k);
                json_object_set_new(r, "check_rule_id", json_string(buf));
                json_object_set_new(r, "severity", sev_json(m->rc_sev[k]));
                json_object_set_new(r, "standard", json_string(k % 2 ? "cn_standard" : "hw_standard"));
                break;
            case R_MAL:
                json_object_set_new(r, "file_path", json_string(buf));
                json_object_set_new(r, "malware_name", json_string("EICAR"));
                break;
            case R_APPS:
                snprintf(buf, sizeof buf, "pkg-%d", k);
                json_object_set_new(r, "app_name", json_string(buf));
                json_object_set_new(r, "app_type", json_string("deb"));
                break;
            case R_FILES:
                json_object_set_new(r, "file_path", json_string(buf));
                json_object_set_new(r, "mode", json_string("0755"));
                break;
            case R_SI:
                json_object_set_new(r, "rule_id", json_string("aws-key"));
                json_object_set_new(r, "severity", sev_json(m->si_sev[k]));
                json_object_set_new(r, "file_path", json_string(buf));
                break;
            case R_NCA:
                snprintf(buf, sizeof buf, "banned-%d", k);
                json_object_set_new(r, "app_name", json_string(buf));
                break;
            default:
                json_object_set_new(r, "rule_id", json_string(RULE_ID[m->build[k].rule]));
                json_object_set_new(r, "risk_name", json_string(RISK_NAMES[m->build[k].name]));
                json_object_set_new(r, "risk_level", sev_json(m->build[k].level));
                json_object_set_new(r, "build_instruction", json_string("RUN x"));
                break;
            }
            json_array_append_new(a, r);
        }
        json_object_set_new(d, DOC_KEY[t], a);
    }
    return d;
}

/* ---- derived attributes (data-model.md) ---- */

static int level_of(const img *m)
{
    if (m->status != ST_SUCCESS)
        return LV_NONE;
    int max = -1;
    for (int k = 0; k < m->n[R_VUL]; k++)
        if (m->vul[k].sev > max)
            max = m->vul[k].sev;
    for (int k = 0; k < m->n[R_RC]; k++)
        if (m->rc_sev[k] > max)
            max = m->rc_sev[k];
    for (int k = 0; k < m->n[R_SI]; k++)
        if (m->si_sev[k] > max)
            max = m->si_sev[k];
    for (int k = 0; k < m->n[R_BUILD]; k++)
        if (m->build[k].level > max)
            max = m->build[k].level;
    if (m->n[R_MAL] > 0 && SEV_HIGH > max)
        max = SEV_HIGH;
    if (max < 0)
        return LV_SECURITY;
    if (max >= SEV_HIGH)
        return LV_HIGH;
    if (max == SEV_MEDIUM)
        return LV_MEDIUM;
    return LV_LOW;
}

static void derive(void)
{
    for (int i = 0; i < N_IMG; i++) {
        img *m = &IM[i];
        m->level = level_of(m);
        m->latest = true;
        for (int j = 0; j < N_IMG; j++) {
            const img *o = &IM[j];
            if (j == i || !same_group(o, m))
                continue;
            if (o->upd > m->upd || (o->upd == m->upd && o->idnum > m->idnum))
                m->latest = false;
        }
    }
}

/* ---- a query and the reference evaluator ---- */

typedef struct {
    int operate_all;             /* -1 absent, 0, 1 */
    int n_ids;                   /* -1 absent */
    const char *ids[8];
    int image_type, scan_status; /* -1 absent */
    const char *ns, *name, *version, *instance_name, *cicd, *image_id, *instance_id;
    int latest;                  /* -1, 0, 1 */
    long long size, us, ue, ss, se; /* -1 absent */
    int has_mal, has_vul, has_unsafe, has_cont, risky; /* -1, 0, 1 */
    int level;                   /* -1 or LV_* */
    int vul_type;                /* -1 */
    int n_vul_ids;               /* -1 absent, 0 = [] */
    const char *vul_ids[8];
    int blevel;                  /* -1 or SEV_LOW..SEV_CRITICAL */
    const char *bname;
    int n_rules;                 /* -1 absent, 0 = [] */
    const char *rules[8];
} query;

static void q_init(query *q)
{
    memset(q, 0, sizeof *q);
    q->operate_all = 1;
    q->n_ids = q->image_type = q->scan_status = q->latest = -1;
    q->size = q->us = q->ue = q->ss = q->se = -1;
    q->has_mal = q->has_vul = q->has_unsafe = q->has_cont = q->risky = -1;
    q->level = q->vul_type = q->n_vul_ids = q->blevel = q->n_rules = -1;
}

static json_t *str_array(const char *const *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static char *q_body(const query *q)
{
    json_t *b = json_object();
    if (q->operate_all >= 0)
        json_object_set_new(b, "operate_all", json_boolean(q->operate_all));
    if (q->n_ids >= 0)
        json_object_set_new(b, "image_id_list", str_array(q->ids, q->n_ids));
    if (q->image_type >= 0)
        json_object_set_new(b, "image_type", json_string(IMAGE_TYPES[q->image_type]));
    if (q->scan_status >= 0)
        json_object_set_new(b, "scan_status", json_string(SCAN_STATUSES[q->scan_status]));
    static const struct {
        const char *key;
        size_t off;
    } strs[] = {
        {"namespace", offsetof(query, ns)},
        {"image_name", offsetof(query, name)},
        {"image_version", offsetof(query, version)},
        {"instance_name", offsetof(query, instance_name)},
        {"cicd_name", offsetof(query, cicd)},
        {"image_id", offsetof(query, image_id)},
        {"instance_id", offsetof(query, instance_id)},
        {"build_command_risk_name", offsetof(query, bname)},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        const char *v = *(const char *const *)((const char *)q + strs[i].off);
        if (v)
            json_object_set_new(b, strs[i].key, json_string(v));
    }
    if (q->latest >= 0)
        json_object_set_new(b, "latest_version", json_boolean(q->latest));
    static const struct {
        const char *key;
        size_t off;
    } ints[] = {
        {"image_size", offsetof(query, size)},
        {"start_latest_update_time", offsetof(query, us)},
        {"end_latest_update_time", offsetof(query, ue)},
        {"start_latest_scan_time", offsetof(query, ss)},
        {"end_latest_scan_time", offsetof(query, se)},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        long long v = *(const long long *)((const char *)q + ints[i].off);
        if (v >= 0)
            json_object_set_new(b, ints[i].key, json_integer(v));
    }
    static const struct {
        const char *key;
        size_t off;
    } tris[] = {
        {"has_malicious_file", offsetof(query, has_mal)},
        {"has_vul", offsetof(query, has_vul)},
        {"has_unsafe_setting", offsetof(query, has_unsafe)},
        {"has_container", offsetof(query, has_cont)},
        {"risky", offsetof(query, risky)},
    };
    for (size_t i = 0; i < sizeof tris / sizeof tris[0]; i++) {
        int v = *(const int *)((const char *)q + tris[i].off);
        if (v >= 0)
            json_object_set_new(b, tris[i].key, json_boolean(v));
    }
    if (q->level >= 0)
        json_object_set_new(b, "severity_level", json_string(LEVELS[q->level]));
    if (q->vul_type >= 0)
        json_object_set_new(b, "vul_type", json_string(VUL_TYPES[q->vul_type]));
    if (q->n_vul_ids >= 0)
        json_object_set_new(b, "vul_id_list", str_array(q->vul_ids, q->n_vul_ids));
    if (q->blevel >= 0)
        json_object_set_new(b, "build_command_risk_level", json_string(SEV[q->blevel]));
    if (q->n_rules >= 0)
        json_object_set_new(b, "build_command_rule_id_list", str_array(q->rules, q->n_rules));
    char *txt = h_json_text(b);
    json_decref(b);
    return txt;
}

static bool has_sub(const char *hay, const char *needle)
{
    return !needle || strstr(hay, needle) != NULL;
}

static bool exact_or_empty(const char *val, const char *want)
{
    return !want || !*want || strcmp(val, want) == 0;
}

static bool tri_ok(int want, bool have)
{
    return want < 0 || (want == 1) == have;
}

static bool in_list(const char *v, const char *const *list, int n)
{
    if (n <= 0)
        return true; /* absent or [] filters nothing */
    for (int i = 0; i < n; i++)
        if (strcmp(v, list[i]) == 0)
            return true;
    return false;
}

static bool selected(const query *q, const img *m)
{
    if (q->operate_all != 1) {
        bool hit = false;
        for (int i = 0; i < q->n_ids && !hit; i++)
            hit = strcmp(q->ids[i], m->id) == 0 || strcmp(q->ids[i], m->image_id) == 0;
        if (!hit)
            return false;
    }
    if (q->image_type >= 0 && q->image_type != m->type)
        return false;
    if (q->scan_status >= 0 && q->scan_status != m->status)
        return false;
    if (!has_sub(m->ns, q->ns) || !has_sub(m->name, q->name) || !has_sub(m->version, q->version) ||
        !has_sub(m->instance_name, q->instance_name) || !has_sub(m->cicd, q->cicd))
        return false;
    if (!exact_or_empty(m->image_id, q->image_id) ||
        !exact_or_empty(m->instance_id, q->instance_id))
        return false;
    if (q->latest == 1 && !m->latest)
        return false;
    if (q->size >= 0 && m->size > q->size)
        return false;
    if ((q->us >= 0 && m->upd < q->us) || (q->ue >= 0 && m->upd > q->ue))
        return false;
    if ((q->ss >= 0 && m->scan < q->ss) || (q->se >= 0 && m->scan > q->se))
        return false;
    if (!tri_ok(q->has_mal, m->n[R_MAL] > 0) || !tri_ok(q->has_vul, m->n[R_VUL] > 0) ||
        !tri_ok(q->has_unsafe, m->n[R_RC] > 0) || !tri_ok(q->has_cont, m->containers > 0) ||
        !tri_ok(q->risky, m->level == LV_LOW || m->level == LV_MEDIUM || m->level == LV_HIGH))
        return false;
    if (q->level >= 0 && q->level != m->level)
        return false;
    return true;
}

static long long records(const query *q, const img *m, int type)
{
    long long n = 0;
    if (type == R_VUL) {
        for (int k = 0; k < m->n[R_VUL]; k++)
            if ((q->vul_type < 0 || q->vul_type == m->vul[k].vul_type) &&
                in_list(VUL_ID[m->vul[k].vul_id], q->vul_ids, q->n_vul_ids))
                n++;
        return n;
    }
    if (type == R_BUILD) {
        for (int k = 0; k < m->n[R_BUILD]; k++)
            if ((q->blevel < 0 || q->blevel == m->build[k].level) &&
                has_sub(RISK_NAMES[m->build[k].name], q->bname) &&
                in_list(RULE_ID[m->build[k].rule], q->rules, q->n_rules))
                n++;
        return n;
    }
    return m->n[type];
}

typedef struct {
    const char *label;
    int project;
    bool eps[N_EPS];
    const char *ep_param; /* enterprise_project_id or NULL */
    char **token;
} scope;

static long long expect(const query *q, const scope *sc, int type)
{
    long long total = 0;
    for (int i = 0; i < N_IMG; i++) {
        const img *m = &IM[i];
        if (m->project == sc->project && sc->eps[m->ep] && selected(q, m))
            total += records(q, m, type);
    }
    return total;
}

/* ---- the server ---- */

static srv_t S;
static char *T_ADMIN, *T_ADMIN0, *T_READER, *T_P2;

static const scope SC_ADMIN_ALL = {"admin all_granted_eps", 0, {true, true, true}, "all_granted_eps", &T_ADMIN};
static const scope SC_ADMIN_DEFAULT = {"admin default EP", 0, {true, false, false}, NULL, &T_ADMIN};
static const scope SC_ADMIN_EPA = {"admin ep-a", 0, {false, true, false}, "ep-a", &T_ADMIN};
static const scope SC_ADMIN_EPB = {"admin ep-b", 0, {false, false, true}, "ep-b", &T_ADMIN};
static const scope SC_ADMIN0_ALL = {"admin(eps 0) all_granted_eps", 0, {true, true, true}, "all_granted_eps", &T_ADMIN0};
static const scope SC_ADMIN0_EPB = {"admin(eps 0) ep-b", 0, {false, false, true}, "ep-b", &T_ADMIN0};
static const scope SC_READER_ALL = {"reader all_granted_eps", 0, {true, true, false}, "all_granted_eps", &T_READER};
static const scope SC_READER_DEFAULT = {"reader default EP", 0, {true, false, false}, NULL, &T_READER};
static const scope SC_READER_0 = {"reader EP 0", 0, {true, false, false}, "0", &T_READER};
static const scope SC_READER_EPA = {"reader ep-a", 0, {false, true, false}, "ep-a", &T_READER};
static const scope SC_P2_ALL = {"P2 admin all_granted_eps", 1, {true, true, true}, "all_granted_eps", &T_P2};

static const scope *const ALL_SCOPES[] = {
    &SC_ADMIN_ALL, &SC_ADMIN_DEFAULT, &SC_ADMIN_EPA, &SC_ADMIN_EPB, &SC_ADMIN0_ALL, &SC_ADMIN0_EPB,
    &SC_READER_ALL, &SC_READER_DEFAULT, &SC_READER_0, &SC_READER_EPA, &SC_P2_ALL,
};
enum { N_SCOPES = sizeof ALL_SCOPES / sizeof ALL_SCOPES[0] };

static int g_mismatches;

/* Asks the server and compares; prints and counts a mismatch. */
static void compare(const query *q, const scope *sc, int type, const char *label)
{
    char *body = q_body(q);
    long long want = expect(q, sc, type);
    stat_res st = api_stat(&S, *sc->token, PROJECTS[sc->project], TYPE_NAME[type], sc->ep_param,
                           body);
    if (st.status != 200 || st.total != want) {
        g_mismatches++;
        if (g_mismatches <= 40)
            print_error("[%s] %s, %s, body %s: want %lld, got %ld %s\n", label, sc->label,
                        TYPE_NAME[type], body, want, st.status, st.body);
    }
    free(body);
}

static void compare_all_types(const query *q, const scope *sc, const char *label)
{
    for (int t = 0; t < NTYPES; t++)
        compare(q, sc, t, label);
}

static void assert_no_mismatch(void)
{
    int n = g_mismatches;
    g_mismatches = 0;
    if (n)
        print_error("%d mismatch(es) against the reference evaluator\n", n);
    assert_int_equal(n, 0);
}

static int ingest_all(void)
{
    for (int p = 0; p < 2; p++) {
        for (int e = 0; e < N_EPS; e++) {
            int idx[N_IMG], n = 0;
            size_t cap = 1 << 16, len = 0;
            char *body = malloc(cap);
            if (!body)
                abort();
            body[0] = '\0';
            for (int i = 0; i < N_IMG; i++) {
                if (IM[i].project != p || IM[i].ep != e)
                    continue;
                json_t *d = doc_json(&IM[i]);
                char *line = h_json_text(d);
                json_decref(d);
                size_t l = strlen(line);
                while (len + l + 2 > cap) {
                    cap *= 2;
                    body = realloc(body, cap);
                    if (!body)
                        abort();
                }
                memcpy(body + len, line, l);
                len += l;
                body[len++] = '\n';
                body[len] = '\0';
                free(line);
                idx[n++] = i;
            }
            if (n == 0) {
                free(body);
                continue;
            }
            http_resp r;
            api_ingest(&S, p == 0 ? T_ADMIN : T_P2, PROJECTS[p], EPS[e], body, true, &r);
            free(body);
            json_t *images = json_object_get(r.json, "images");
            if (r.status != 200 || (int)json_array_size(images) != n) {
                fprintf(stderr, "ingest %s/%s: %ld %.2000s\n", PROJECTS[p], EPS[e], r.status,
                        r.body);
                http_resp_free(&r);
                return -1;
            }
            for (int k = 0; k < n; k++) {
                img *m = &IM[idx[k]];
                json_t *o = json_array_get(images, (size_t)k);
                const char *id = json_string_value(json_object_get(o, "id"));
                const char *nm = json_string_value(json_object_get(o, "image_name"));
                const char *ver = json_string_value(json_object_get(o, "image_version"));
                json_t *rec = json_object_get(o, "records");
                long long want = 0;
                for (int t = 0; t < NTYPES; t++)
                    want += m->n[t];
                char *end = NULL;
                long long num = id ? strtoll(id, &end, 10) : -1;
                if (!id || !end || *end || num < 0 || strlen(id) >= sizeof m->id || !nm ||
                    strcmp(nm, m->name) != 0 || !ver || strcmp(ver, m->version) != 0 ||
                    !json_is_integer(rec) || json_integer_value(rec) != want) {
                    fprintf(stderr, "ingest %s/%s: entry %d does not match its document: %s\n",
                            PROJECTS[p], EPS[e], k, h_json_text(o));
                    http_resp_free(&r);
                    return -1;
                }
                snprintf(m->id, sizeof m->id, "%s", id);
                m->idnum = num;
            }
            http_resp_free(&r);
        }
    }
    /* ids are distinct within a project */
    for (int i = 0; i < N_IMG; i++)
        for (int j = i + 1; j < N_IMG; j++)
            if (IM[i].project == IM[j].project && strcmp(IM[i].id, IM[j].id) == 0) {
                fprintf(stderr, "images %d and %d got the same id %s\n", i, j, IM[i].id);
                return -1;
            }
    derive();
    return 0;
}

static int setup(void **state)
{
    (void)state;
    generate();
    if (srv_start(&S) != 0)
        return -1;
    T_ADMIN = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    T_ADMIN0 = user_token(&S, "acme", "root0", "root0-pw-1", "P1", "admin", "0");
    T_READER = user_token(&S, "acme", "rita", "rita-pw-2", "P1", "reader", "0,ep-a");
    T_P2 = user_token(&S, "acme", "pat", "pat-pw-3", "P2", "admin", "all");
    if (!T_ADMIN || !T_ADMIN0 || !T_READER || !T_P2)
        return -1;
    return ingest_all();
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADMIN);
    free(T_ADMIN0);
    free(T_READER);
    free(T_P2);
    T_ADMIN = T_ADMIN0 = T_READER = T_P2 = NULL;
    return srv_stop(&S, true);
}

/* ---- tests ---- */

/* The generated data exercises what it must, or the other tests prove little. */
static void test_dataset_covers_cases(void **state)
{
    (void)state;
    int types[N_IMAGE_TYPES] = {0}, statuses[N_SCAN_STATUSES] = {0}, levels[4] = {0};
    int none = 0, latest = 0, not_latest = 0, tie_decided = 0, cont[2] = {0}, zero[NTYPES] = {0};
    for (int i = 0; i < N_P1; i++) {
        const img *m = &IM[i];
        types[m->type]++;
        statuses[m->status]++;
        if (m->level == LV_NONE)
            none++;
        else
            levels[m->level]++;
        m->latest ? latest++ : not_latest++;
        cont[m->containers > 0]++;
        for (int t = 0; t < NTYPES; t++)
            zero[t] += m->n[t] == 0;
        for (int j = 0; j < N_P1; j++)
            if (j != i && same_group(&IM[j], m) && IM[j].upd == m->upd && m->latest)
                tie_decided++;
    }
    for (int k = 0; k < N_IMAGE_TYPES; k++)
        assert_true(types[k] > 0);
    for (int k = 0; k < N_SCAN_STATUSES; k++)
        assert_true(statuses[k] > 0);
    for (int k = 0; k < 4; k++)
        assert_true(levels[k] > 0);
    assert_true(none > 0);
    assert_true(latest > 0 && not_latest > 0);
    assert_true(tie_decided > 0); /* some group's latest won a tie by id */
    assert_true(cont[0] > 0 && cont[1] > 0);
    for (int t = 0; t < NTYPES; t++)
        assert_true(zero[t] > 0 && zero[t] < N_P1);
}

static void test_report_types_operate_all(void **state)
{
    (void)state;
    query q;
    q_init(&q);
    for (size_t s = 0; s < N_SCOPES; s++)
        compare_all_types(&q, ALL_SCOPES[s], "operate_all");
    assert_no_mismatch();
}

/* The first non-empty image_id of P1 from image `from` on. */
static const char *some_image_id(int from)
{
    for (int i = from; i < N_P1; i++)
        if (IM[i].image_id[0])
            return IM[i].image_id;
    return "none";
}

static void test_each_field_alone(void **state)
{
    (void)state;
    const scope *sc = &SC_ADMIN_ALL;
    query q;
#define ALONE(setter, lbl)                                                                     \
    do {                                                                                       \
        q_init(&q);                                                                            \
        setter;                                                                                \
        compare_all_types(&q, sc, (lbl));                                                      \
    } while (0)

    for (int k = 0; k < N_IMAGE_TYPES; k++)
        ALONE(q.image_type = k, "image_type");
    for (int k = 0; k < N_SCAN_STATUSES; k++)
        ALONE(q.scan_status = k, "scan_status");
    static const char *ns_vals[] = {"shop", "shop-dev", "op", "-", "library", "", "Shop", "zz"};
    for (size_t k = 0; k < sizeof ns_vals / sizeof *ns_vals; k++)
        ALONE(q.ns = ns_vals[k], "namespace");
    static const char *name_vals[] = {"web", "web-api", "api", "-", "e", "", "WEB", "redis"};
    for (size_t k = 0; k < sizeof name_vals / sizeof *name_vals; k++)
        ALONE(q.name = name_vals[k], "image_name");
    static const char *ver_vals[] = {"1.", "1.1", "2.0", "rc", "latest", "v", "0", ""};
    for (size_t k = 0; k < sizeof ver_vals / sizeof *ver_vals; k++)
        ALONE(q.version = ver_vals[k], "image_version");
    static const char *iname_vals[] = {"harbor", "prod", "-", "jfrog-main", "", "PROD"};
    for (size_t k = 0; k < sizeof iname_vals / sizeof *iname_vals; k++)
        ALONE(q.instance_name = iname_vals[k], "instance_name");
    static const char *cicd_vals[] = {"jenkins", "ci", "gitlab-ci-shop", "", "-main"};
    for (size_t k = 0; k < sizeof cicd_vals / sizeof *cicd_vals; k++)
        ALONE(q.cicd = cicd_vals[k], "cicd_name");
    const char *iid_vals[] = {some_image_id(0), some_image_id(40), IM[5].image_id,
                              "", "sha256:", "sha256:nope"};
    for (size_t k = 0; k < sizeof iid_vals / sizeof *iid_vals; k++)
        ALONE(q.image_id = iid_vals[k], "image_id");
    static const char *inst_vals[] = {"inst-1", "inst-2", "", "inst", "inst-9"};
    for (size_t k = 0; k < sizeof inst_vals / sizeof *inst_vals; k++)
        ALONE(q.instance_id = inst_vals[k], "instance_id");
    ALONE(q.latest = 1, "latest_version true");
    ALONE(q.latest = 0, "latest_version false");
    static const long long sizes[] = {0, 1, 1000000007LL, 3000000020LL, 3000000021LL,
                                      6000000042LL, 9223372036854775807LL};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        ALONE(q.size = sizes[k], "image_size");
    static const long long upd[] = {0, BASE_MS, BASE_MS + 3600000LL, BASE_MS + 3600001LL,
                                    BASE_MS + 4 * 3600000LL};
    for (size_t k = 0; k < sizeof upd / sizeof *upd; k++) {
        ALONE(q.us = upd[k], "start_latest_update_time");
        ALONE(q.ue = upd[k], "end_latest_update_time");
    }
    static const long long scan[] = {0, 1, BASE_MS, BASE_MS + 60000LL, BASE_MS + 7 * 60000LL};
    for (size_t k = 0; k < sizeof scan / sizeof *scan; k++) {
        ALONE(q.ss = scan[k], "start_latest_scan_time");
        ALONE(q.se = scan[k], "end_latest_scan_time");
    }
    for (int v = 0; v < 2; v++) {
        ALONE(q.has_mal = v, "has_malicious_file");
        ALONE(q.has_vul = v, "has_vul");
        ALONE(q.has_unsafe = v, "has_unsafe_setting");
        ALONE(q.has_cont = v, "has_container");
        ALONE(q.risky = v, "risky");
    }
    for (int k = 0; k < 4; k++)
        ALONE(q.level = k, "severity_level");
    for (int k = 0; k < 2; k++)
        ALONE(q.vul_type = k, "vul_type");
    ALONE((q.n_vul_ids = 0), "vul_id_list []");
    ALONE((q.n_vul_ids = 1, q.vul_ids[0] = VUL_ID[3]), "vul_id_list 1");
    ALONE((q.n_vul_ids = 3, q.vul_ids[0] = VUL_ID[0], q.vul_ids[1] = VUL_ID[5],
           q.vul_ids[2] = VUL_ID[11]),
          "vul_id_list 3");
    ALONE((q.n_vul_ids = 2, q.vul_ids[0] = "CVE-0000-0000", q.vul_ids[1] = VUL_ID[7]),
          "vul_id_list with unknown");
    for (int k = SEV_LOW; k <= SEV_CRITICAL; k++)
        ALONE(q.blevel = k, "build_command_risk_level");
    static const char *bn_vals[] = {"root", "in", "shell", "secrets in env", "sudo", "zzz",
                                    "image runs as root", "ROOT"};
    for (size_t k = 0; k < sizeof bn_vals / sizeof *bn_vals; k++)
        ALONE(q.bname = bn_vals[k], "build_command_risk_name");
    ALONE((q.n_rules = 0), "build_command_rule_id_list []");
    ALONE((q.n_rules = 1, q.rules[0] = RULE_ID[2]), "build_command_rule_id_list 1");
    ALONE((q.n_rules = 3, q.rules[0] = RULE_ID[0], q.rules[1] = RULE_ID[4], q.rules[2] = "DS999"),
          "build_command_rule_id_list 3");
    /* the starting set alone: ids, image_ids (shared by several images), unknowns */
    ALONE((q.operate_all = -1, q.n_ids = 1, q.ids[0] = IM[7].id), "image_id_list id");
    ALONE((q.operate_all = 0, q.n_ids = 3, q.ids[0] = IM[1].id, q.ids[1] = IM[50].id,
           q.ids[2] = IM[99].id),
          "image_id_list 3 ids");
    ALONE((q.operate_all = -1, q.n_ids = 1, q.ids[0] = some_image_id(2)),
          "image_id_list image_id");
    ALONE((q.operate_all = -1, q.n_ids = 4, q.ids[0] = some_image_id(10),
           q.ids[1] = IM[11].id, q.ids[2] = "no-such-image", q.ids[3] = IM[N_P1 + 3].id),
          "image_id_list mixed, with a P2 id");
    ALONE((q.operate_all = 1, q.n_ids = 1, q.ids[0] = IM[7].id), "operate_all wins over the list");
#undef ALONE
    assert_no_mismatch();
}

/* A random filter of kind k into q. */
static void random_filter(query *q, int k)
{
    static const char *ns_vals[] = {"shop", "op", "-dev", "s", "library", ""};
    static const char *name_vals[] = {"web", "api", "-", "nginx", "e", "r", ""};
    static const char *ver_vals[] = {"1.", "2.0", "rc", "latest", "v", "0", "1"};
    static const char *iname_vals[] = {"harbor", "prod", "-", "jfrog-main", ""};
    static const char *cicd_vals[] = {"jenkins", "ci", "gitlab-ci-shop", "", "n"};
    static const char *inst_vals[] = {"", "inst-1", "inst-2", "inst-9"};
    static const char *bn_vals[] = {"root", "in", "shell", "secrets in env", "sudo", "e", "run"};
    switch (k) {
    case 0: q->image_type = rnd(N_IMAGE_TYPES); break;
    case 1: q->scan_status = rnd(N_SCAN_STATUSES); break;
    case 2: q->ns = PICK(ns_vals); break;
    case 3: q->name = PICK(name_vals); break;
    case 4: q->version = PICK(ver_vals); break;
    case 5: q->instance_name = PICK(iname_vals); break;
    case 6: q->cicd = PICK(cicd_vals); break;
    case 7: q->image_id = rnd(5) == 0 ? "" : IM[rnd(N_P1)].image_id; break;
    case 8: q->instance_id = PICK(inst_vals); break;
    case 9: q->latest = rnd(2); break;
    case 10: q->size = rnd(3) == 0 ? (long long)rnd(7) * 1000000007LL : (long long)(rnd64() % 7000000000ULL); break;
    case 11:
    case 12: {
        long long a = BASE_MS + rnd(6) * 3600000LL - (rnd(4) == 0 ? 1 : 0);
        long long b = BASE_MS + rnd(6) * 3600000LL;
        if (k == 11) { q->us = a; } else { q->ue = b; }
        if (q->us >= 0 && q->ue >= 0 && q->us > q->ue) { long long t = q->us; q->us = q->ue; q->ue = t; }
        break;
    }
    case 13:
    case 14: {
        long long v = rnd(5) == 0 ? 0 : BASE_MS + rnd(9) * 60000LL;
        if (k == 13) { q->ss = v; } else { q->se = v; }
        if (q->ss >= 0 && q->se >= 0 && q->ss > q->se) { long long t = q->ss; q->ss = q->se; q->se = t; }
        break;
    }
    case 15: q->has_mal = rnd(2); break;
    case 16: q->has_vul = rnd(2); break;
    case 17: q->has_unsafe = rnd(2); break;
    case 18: q->has_cont = rnd(2); break;
    case 19: q->risky = rnd(2); break;
    case 20: q->level = rnd(4); break;
    case 21: q->vul_type = rnd(2); break;
    case 22:
        q->n_vul_ids = rnd(5);
        for (int i = 0; i < q->n_vul_ids; i++)
            q->vul_ids[i] = rnd(6) == 0 ? "CVE-1999-0001" : VUL_ID[rnd(N_VUL_IDS)];
        break;
    case 23: q->blevel = SEV_LOW + rnd(4); break;
    case 24: q->bname = PICK(bn_vals); break;
    case 25:
        q->n_rules = rnd(4);
        for (int i = 0; i < q->n_rules; i++)
            q->rules[i] = rnd(6) == 0 ? "DS404" : RULE_ID[rnd(N_RULES)];
        break;
    default: /* the starting set */
        q->operate_all = rnd(5) == 0 ? 1 : rnd(2) ? 0 : -1;
        q->n_ids = 1 + rnd(5);
        for (int i = 0; i < q->n_ids; i++) {
            int which = rnd(10);
            const img *m = &IM[rnd(N_IMG)]; /* P2 ids too: never in P1's scope */
            q->ids[i] = which == 0 ? "no-such-image" : which < 6 ? m->id
                        : m->image_id[0] ? m->image_id : m->id;
        }
        break;
    }
}

enum { N_FILTER_KINDS = 27 };

static void test_random_combinations(void **state)
{
    (void)state;
    rng = 0xC0FFEE1234567ULL; /* its own fixed seed */
    static const scope *const scopes[] = {&SC_ADMIN_ALL, &SC_ADMIN_ALL, &SC_ADMIN_DEFAULT,
                                          &SC_ADMIN_EPA, &SC_READER_ALL, &SC_READER_EPA,
                                          &SC_READER_DEFAULT, &SC_ADMIN0_ALL, &SC_P2_ALL};
    for (int n = 0; n < 300; n++) {
        query q;
        q_init(&q);
        int k = 1 + rnd(5);
        bool used[N_FILTER_KINDS] = {false};
        bool vul_f = false, build_f = false;
        for (int i = 0; i < k; i++) {
            int kind;
            do
                kind = rnd(N_FILTER_KINDS);
            while (used[kind]);
            used[kind] = true;
            random_filter(&q, kind);
            vul_f |= kind == 21 || kind == 22;
            build_f |= kind >= 23 && kind <= 25;
        }
        int type = rnd(NTYPES);
        if (vul_f && rnd(10) < 7)
            type = R_VUL;
        else if (build_f && rnd(10) < 7)
            type = R_BUILD;
        const scope *sc = PICK(scopes);
        char label[32];
        snprintf(label, sizeof label, "combination %d", n);
        compare(&q, sc, type, label);
    }
    assert_no_mismatch();
}

static void test_ep_scoping(void **state)
{
    (void)state;
    query q;
    q_init(&q);
    /* The reader sees exactly EPs 0 and ep-a, which differ from every EP. */
    long long reader = 0, admin = 0;
    for (int t = 0; t < NTYPES; t++) {
        reader += expect(&q, &SC_READER_ALL, t);
        admin += expect(&q, &SC_ADMIN_ALL, t);
    }
    assert_true(reader > 0 && reader < admin);
    compare_all_types(&q, &SC_READER_ALL, "ep scope");
    compare_all_types(&q, &SC_READER_EPA, "ep scope");
    compare_all_types(&q, &SC_ADMIN_ALL, "ep scope");
    compare_all_types(&q, &SC_ADMIN0_ALL, "ep scope");
    compare_all_types(&q, &SC_ADMIN0_EPB, "ep scope");
    assert_no_mismatch();
    for (int t = 0; t < NTYPES; t++) {
        stat_res st = api_stat(&S, T_READER, "P1", TYPE_NAME[t], "ep-b", "{\"operate_all\":true}");
        assert_stat_error(st, 403, "HSS.0013", NULL, "reader asking ep-b");
    }
    /* EP scope is applied to image_id_list too: an id in ep-b is not seen by the reader. */
    for (int i = 0; i < N_P1; i++) {
        if (IM[i].ep != 2)
            continue;
        q_init(&q);
        q.operate_all = 0;
        q.n_ids = 1;
        q.ids[0] = IM[i].id;
        compare_all_types(&q, &SC_READER_ALL, "reader, id of an ep-b image");
        compare_all_types(&q, &SC_ADMIN_ALL, "admin, id of an ep-b image");
        break;
    }
    assert_no_mismatch();
}

static void test_project_isolation(void **state)
{
    (void)state;
    query q;
    q_init(&q);
    compare_all_types(&q, &SC_P2_ALL, "P2");
    /* P1's totals include none of the P2 copies (they would differ). */
    long long p1 = 0, p2 = 0;
    for (int t = 0; t < NTYPES; t++) {
        p1 += expect(&q, &SC_ADMIN_ALL, t);
        p2 += expect(&q, &SC_P2_ALL, t);
    }
    assert_true(p2 > 0 && p1 > p2);
    compare_all_types(&q, &SC_ADMIN_ALL, "P1 with P2 present");
    /* P2 image ids select nothing in P1, and the other way round. */
    q.operate_all = 0;
    q.n_ids = 3;
    q.ids[0] = IM[N_P1].id;
    q.ids[1] = IM[N_P1 + 1].id;
    q.ids[2] = IM[N_P1 + 2].id;
    compare_all_types(&q, &SC_ADMIN_ALL, "P2 ids asked in P1");
    q.ids[0] = IM[0].id;
    q.ids[1] = IM[1].id;
    q.ids[2] = IM[2].id;
    compare_all_types(&q, &SC_P2_ALL, "P1 ids asked in P2");
    /* latest_version is computed per project */
    q_init(&q);
    q.latest = 1;
    compare_all_types(&q, &SC_P2_ALL, "P2 latest_version");
    assert_no_mismatch();
    for (int t = 0; t < NTYPES; t++) {
        stat_res st = api_stat(&S, T_ADMIN, "P2", TYPE_NAME[t], "all_granted_eps",
                               "{\"operate_all\":true}");
        assert_stat_error(st, 403, "HSS.0010", NULL, "P1 token on P2");
        st = api_stat(&S, T_P2, "P1", TYPE_NAME[t], NULL, "{\"operate_all\":true}");
        assert_stat_error(st, 403, "HSS.0010", NULL, "P2 token on P1");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_covers_cases),
        cmocka_unit_test(test_report_types_operate_all),
        cmocka_unit_test(test_each_field_alone),
        cmocka_unit_test(test_random_combinations),
        cmocka_unit_test(test_ep_scoping),
        cmocka_unit_test(test_project_isolation),
    };
    int failed = cmocka_run_group_tests_name("statistic_counts", tests, setup, teardown);
    return failed + harness_failures();
}
