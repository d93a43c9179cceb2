/* gen.c - a deterministic generator of realistic ingest documents.
 *
 * Why it is shaped this way:
 *
 * - Determinism without global state. Every image i draws from its own
 *   xoshiro256** stream seeded from (seed, i), and every "repository" (the
 *   (type, instance, namespace, name) group that latest_version works on)
 *   derives its attributes from a stream seeded from (seed, group). So no
 *   value depends on time, addresses or the C library's rand(), and a
 *   document only depends on the documents before it through two small
 *   per-group counters (how many versions were made, the last push time).
 *
 * - Identity is unique by construction, not by checking. Group names are
 *   an injective function of the group number, the group fixes type,
 *   instance, CI/CD pipeline and namespace, and the j-th version of a group
 *   gets a tag that is an injective function of j ("latest" only for j=0).
 *   So no two documents ever share an identity and none replaces another.
 *
 * - Realistic skew. Repositories are picked with a power law (a few have
 *   dozens of versions, most one to three); 8% of versions copy the push
 *   time of the previous one, so latest_version has ties to break. Record
 *   totals are a mixture: a few clean images, a lognormal body (most
 *   images have tens) and a 0.5% log-uniform tail of 25-85x the mean (one
 *   image per block of 200, so small samples still see it), with the
 *   body mean solved so the overall mean is records_per_image. CVE ids are
 *   Zipf(1.1) over 50,000 ranks through a precomputed CDF.
 *
 * - Field names are never spelled here: records are filled positionally
 *   through record_kind_get(t)->fields, with local index enums that
 *   mirror model.c's tables (gen_new refuses to run if a table's length
 *   ever changes), and enum values come from the *_name() functions.
 *
 * - Speed. Strings are assembled with a tiny bounded builder in stack
 *   buffers (no snprintf, no heap), values go in with the jansson *_nocheck
 *   calls (everything generated is ASCII), and all work is linear in the
 *   number of records.
 */
#include "imgsec/gen.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/model.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- tunables ---- */
#define GEN_DEFAULT_RECORDS 40.0     /* records_per_image when 0 */
#define GEN_NAMES_MIN_DIVISOR 3      /* name pool = images / 3 + 1 ... */
#define GEN_NAMES_MAX 20000          /* ... at most this many */
#define GEN_NAME_SKEW 1.5            /* group = n * u^skew: low groups get more versions */
#define GEN_TIE_PCT 8                /* % of later versions that copy the previous push time */
#define GEN_CVE_POOL 50000
#define GEN_CVE_ZIPF_S 1.1
#define GEN_CVE_YEARS 12             /* CVE-2014 .. CVE-2025 */
#define GEN_RISK_RULES 300
#define GEN_BUILD_RULE_SKEW 0.9
#define GEN_TIME_START 1704067200000LL /* 2024-01-01T00:00:00Z, ms */
#define GEN_TIME_END 1798761600000LL   /* 2027-01-01T00:00:00Z, ms (exclusive) */
#define GEN_SIZE_MIN (5LL << 20)       /* 5 MiB */
#define GEN_SIZE_MAX (2LL << 30)       /* 2 GiB */
#define GEN_OVERSIZE_MIN (1536LL << 20) /* image_oversized images are >= 1.5 GiB */
#define GEN_LAYERS_MAX 12

/* Record totals (per image that has records): a mixture of clean images,
 * a lognormal body and a log-uniform tail; the cap is relative to the
 * requested mean over all images. */
#define GEN_P_CLEAN 0.04
#define GEN_TAIL_EVERY 200           /* one tail image per block of 200 (0.5%) */
#define GEN_P_TAIL (1.0 / GEN_TAIL_EVERY)
#define GEN_TAIL_LO 25.0
#define GEN_TAIL_HI 85.0
#define GEN_BODY_SIGMA 1.0
#define GEN_CAP 100.0
#define GEN_MALWARE_PCT 3            /* % of images with records that carry malware */

/* ---- PRNG: splitmix64 for seeding, xoshiro256** for streams ---- */

typedef struct {
    uint64_t s[4];
} rng;

/* The splitmix64 finaliser: a bijection of uint64_t. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define GOLDEN 0x9e3779b97f4a7c15ULL

enum { STREAM_IMAGE = 1, STREAM_GROUP, STREAM_ID, STREAM_TAIL };

static void rng_seed(rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    uint64_t x = mix64(seed ^ mix64(stream * GOLDEN)) + index * GOLDEN;
    for (int i = 0; i < 4; i++) {
        x += GOLDEN;
        r->s[i] = mix64(x);
    }
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t rng_below(rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline int64_t rng_range(rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* Uniform in [0, 1). */
static inline double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

static inline bool rng_pct(rng *r, unsigned pct) { return rng_below(r, 100) < pct; }

static double rng_normal(rng *r)
{
    double u1 = 1.0 - rng_unit(r); /* (0, 1] */
    double u2 = rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Index into weights[0..n) with probability proportional to its weight. */
static size_t rng_weighted(rng *r, const unsigned *weights, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += weights[i];
    uint64_t x = rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return n - 1;
}

/* First index whose cumulative weight exceeds u * cdf[n-1]. */
static size_t cdf_pick(const double *cdf, size_t n, double u)
{
    double x = u * cdf[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

#define PICK(r, table) ((table)[rng_below((r), COUNT_OF(table))])

/* ---- a bounded string builder over a caller's buffer ---- */

typedef struct {
    char *p;
    size_t n, cap; /* cap includes the NUL */
} sbuf;

#define SBUF(name, size) \
    char name##_mem[size]; \
    sbuf name = {name##_mem, 0, sizeof name##_mem}; \
    name##_mem[0] = '\0'

static void sb_reset(sbuf *b)
{
    b->n = 0;
    b->p[0] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    while (*s && b->n + 1 < b->cap)
        b->p[b->n++] = *s++;
    b->p[b->n] = '\0';
}

static void sb_ch(sbuf *b, char c)
{
    if (b->n + 1 < b->cap)
        b->p[b->n++] = c;
    b->p[b->n] = '\0';
}

/* Decimal, zero-padded to at least width digits. */
static void sb_uw(sbuf *b, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width && n < (int)sizeof tmp)
        tmp[n++] = '0';
    while (n)
        sb_ch(b, tmp[--n]);
}

static void sb_u(sbuf *b, uint64_t v) { sb_uw(b, v, 1); }

static void sb_hex(sbuf *b, uint64_t v, int digits)
{
    static const char HEX[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--)
        sb_ch(b, HEX[(v >> (4 * i)) & 15]);
}

/* "sha256:" and 64 hex digits; the first word given, the rest drawn. */
static void sb_sha256(sbuf *b, uint64_t first, rng *r, bool prefix)
{
    if (prefix)
        sb_str(b, "sha256:");
    sb_hex(b, first, 16);
    for (int i = 0; i < 3; i++)
        sb_hex(b, rng_next(r), 16);
}

/* ---- vocabulary ---- */

static const char *const NAMESPACES[] = {
    "shop", "payments", "platform", "data-eng", "infra", "security", "ml-team", "devops",
    "frontend", "backend", "mobile", "search-team", "analytics", "billing", "identity",
    "messaging", "media", "growth", "core", "sre", "qa", "research", "edge", "iot", "finance",
    "hr-apps", "marketing", "support", "logistics", "retail", "gaming", "bigdata", "ai-lab",
    "cloud-native", "middleware", "storage", "network", "observability", "release", "sandbox",
    "partner", "public-lib", "base-images", "tools", "legacy", "ops", "web-team", "api-team",
    "internal", "vendor"};

/* Image names are PREFIX-NOUN[-n]: no word holds a '-', so the name is an
 * injective function of the group number. */
static const char *const NAME_PREFIX[] = {
    "web", "api", "auth", "payment", "order", "cart", "user", "search", "catalog", "inventory",
    "billing", "notify", "gateway", "report", "media", "chat", "analytics", "ingest", "stream",
    "cache", "config", "metrics", "log", "audit", "admin", "portal", "mobile", "checkout",
    "shipping", "pricing", "review", "profile", "session", "upload", "image", "video", "mail",
    "sms", "ledger", "risk"};
static const char *const NAME_NOUN[] = {
    "service", "server", "worker", "api", "frontend", "backend", "proxy", "scheduler",
    "consumer", "producer", "cron", "job", "agent", "operator", "controller", "exporter",
    "collector", "sidecar", "bff", "ui", "db", "redis", "nginx", "node", "python", "java", "go",
    "runner", "daemon", "bridge", "adapter", "engine", "core", "manager", "sync", "batch",
    "loader", "processor", "router", "handler", "monitor", "watcher", "builder", "indexer",
    "crawler", "render", "relay", "store", "queue", "tasks"};

static const char *const TAG_SUFFIX[] = {"alpine", "slim", "bookworm", "jdk17", "ubi9", "distroless"};

/* Image types: mostly the three registries everybody has. */
static const unsigned TYPE_WEIGHT[IMAGE_TYPE_COUNT] = {
    [IMAGE_TYPE_PRIVATE] = 30, [IMAGE_TYPE_SHARED] = 12, [IMAGE_TYPE_LOCAL] = 25,
    [IMAGE_TYPE_INSTANCE] = 12, [IMAGE_TYPE_HARBOR] = 8, [IMAGE_TYPE_JFROG] = 7,
    [IMAGE_TYPE_CICD] = 6};

/* Enterprise registry instances, per instance-bearing type. */
#define INSTANCES_PER_TYPE 3
static const char *const INSTANCE_NAMES[][INSTANCES_PER_TYPE] = {
    {"swr-ee-prod", "swr-ee-test", "swr-ee-shared"},
    {"harbor-prod", "harbor-dev", "harbor-dr"},
    {"jfrog-artifactory", "jfrog-edge-sh", "jfrog-legacy"},
};

static const char *const CICD_NAMES[] = {
    "jenkins-main", "jenkins-release", "gitlab-ci-web", "gitlab-ci-api", "codearts-pipeline-01",
    "codearts-pipeline-02", "github-actions-build", "tekton-nightly", "argo-workflows", "drone-ci"};

static const unsigned STATUS_WEIGHT[SCAN_STATUS_COUNT] = {
    [SCAN_STATUS_UNSCAN] = 3, [SCAN_STATUS_SUCCESS] = 85, [SCAN_STATUS_SCANNING] = 3,
    [SCAN_STATUS_FAILED] = 3, [SCAN_STATUS_DOWNLOAD_FAILED] = 3,
    [SCAN_STATUS_IMAGE_OVERSIZED] = 3};
/* % of images of a status that carry records: a successful scan has them,
 * a rescan in progress keeps half of the time the previous results. */
static const unsigned STATUS_RECORDS_PCT[SCAN_STATUS_COUNT] = {
    [SCAN_STATUS_SUCCESS] = 100, [SCAN_STATUS_SCANNING] = 50};

/* Packages. Pools are indexed by ecosystem; the first three are OS package
 * managers (one per image), the rest language ecosystems. */
enum { ECO_DEB, ECO_RPM, ECO_APK, ECO_PYTHON, ECO_NPM, ECO_JAR, ECO_GO, ECO_COUNT };
#define ECO_OS_COUNT 3
static const char *const ECO_NAMES[ECO_COUNT] = {"deb", "rpm", "apk", "python", "npm", "jar", "go"};
static const unsigned OS_WEIGHT[ECO_OS_COUNT] = {55, 20, 25};

static const char *const PKG_DEB[] = {
    "openssl", "libssl3", "libc6", "bash", "coreutils", "curl", "libcurl4", "zlib1g", "tar", "gzip",
    "perl-base", "libxml2", "libsqlite3-0", "openssh-client", "openssh-server", "libgnutls30",
    "libpcre2-8-0", "libsystemd0", "libudev1", "login", "passwd", "dpkg", "apt", "libexpat1",
    "libkrb5-3", "libldap-2.5-0", "libnghttp2-14", "libtiff6", "libpng16-16", "libjpeg62-turbo",
    "git", "wget", "ncurses-base", "libgcrypt20", "util-linux"};
static const char *const PKG_RPM[] = {
    "openssl-libs", "glibc", "bash", "coreutils", "curl", "libcurl", "zlib", "tar", "gzip", "perl",
    "libxml2", "sqlite-libs", "openssh", "gnutls", "pcre2", "systemd-libs", "shadow-utils", "rpm",
    "dnf", "expat", "krb5-libs", "openldap", "nghttp2", "libtiff", "libpng", "libjpeg-turbo", "git",
    "wget", "ncurses-libs", "libgcrypt", "util-linux", "python3", "vim-minimal", "sudo"};
static const char *const PKG_APK[] = {
    "musl", "busybox", "openssl", "libssl3", "libcrypto3", "zlib", "apk-tools", "alpine-baselayout",
    "ca-certificates", "curl", "libcurl", "expat", "libxml2", "sqlite-libs", "openssh", "pcre2",
    "ncurses-libs", "git", "nghttp2-libs", "libpng", "libjpeg-turbo", "tiff", "krb5-libs",
    "busybox-binsh", "ssl_client", "scanelf", "musl-utils", "libc-utils", "bash", "readline"};
static const char *const PKG_PYTHON[] = {
    "requests", "urllib3", "django", "flask", "jinja2", "werkzeug", "pyyaml", "cryptography",
    "numpy", "pandas", "pillow", "setuptools", "pip", "certifi", "idna", "charset-normalizer",
    "sqlalchemy", "celery", "redis", "boto3", "botocore", "paramiko", "lxml", "gunicorn", "uvicorn",
    "fastapi", "pydantic", "aiohttp", "protobuf", "grpcio"};
static const char *const PKG_NPM[] = {
    "lodash", "express", "axios", "react", "react-dom", "moment", "minimist", "node-fetch", "ws",
    "jsonwebtoken", "qs", "semver", "debug", "body-parser", "cookie", "tough-cookie",
    "follow-redirects", "path-to-regexp", "undici", "socket.io", "webpack", "babel-core",
    "uglify-js", "handlebars", "marked", "ejs", "mongoose", "passport", "yargs", "chalk"};
static const char *const PKG_JAR[] = {
    "log4j-core", "log4j-api", "spring-core", "spring-web", "spring-webmvc", "spring-beans",
    "jackson-databind", "jackson-core", "commons-text", "commons-collections", "commons-io",
    "guava", "netty-codec-http", "netty-handler", "tomcat-embed-core", "snakeyaml", "h2",
    "postgresql", "mysql-connector-java", "hibernate-core", "xstream", "fastjson", "shiro-core",
    "struts2-core", "okhttp", "bcprov-jdk15on", "logback-classic", "slf4j-api", "gson",
    "httpclient"};
static const char *const PKG_GO[] = {
    "golang.org/x/net", "golang.org/x/crypto", "golang.org/x/text", "golang.org/x/sys",
    "google.golang.org/grpc", "google.golang.org/protobuf", "github.com/gin-gonic/gin",
    "github.com/golang-jwt/jwt", "github.com/gorilla/websocket", "github.com/docker/docker",
    "github.com/containerd/containerd", "github.com/opencontainers/runc",
    "github.com/prometheus/client_golang", "github.com/sirupsen/logrus", "github.com/spf13/cobra",
    "gopkg.in/yaml.v3", "k8s.io/client-go", "k8s.io/apimachinery", "github.com/hashicorp/go-getter",
    "github.com/aws/aws-sdk-go", "stdlib", "github.com/go-git/go-git", "github.com/labstack/echo",
    "github.com/valyala/fasthttp", "github.com/gogo/protobuf", "github.com/emicklei/go-restful",
    "github.com/cloudflare/circl", "github.com/jackc/pgx", "go.etcd.io/etcd",
    "github.com/klauspost/compress"};

static const struct {
    const char *const *names;
    size_t n;
    const char *dir; /* where a package is found: a directory or "file:" */
} ECO_PKGS[ECO_COUNT] = {
    {PKG_DEB, COUNT_OF(PKG_DEB), "/var/lib/dpkg/status:"},
    {PKG_RPM, COUNT_OF(PKG_RPM), "/var/lib/rpm/rpmdb.sqlite:"},
    {PKG_APK, COUNT_OF(PKG_APK), "/lib/apk/db/installed:"},
    {PKG_PYTHON, COUNT_OF(PKG_PYTHON), "/usr/local/lib/python3.11/site-packages/"},
    {PKG_NPM, COUNT_OF(PKG_NPM), "/app/node_modules/"},
    {PKG_JAR, COUNT_OF(PKG_JAR), "/app/lib/"},
    {PKG_GO, COUNT_OF(PKG_GO), "/app/bin/server:"},
};

static const char *const LICENSES[] = {
    "MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0-only", "LGPL-2.1", "MPL-2.0", "ISC", "GPL-3.0"};

/* Baseline checks (risk_configs): rule r belongs to baseline r % n. */
static const char *const BASELINES[] = {
    "SSH", "Debian 12", "CentOS 7", "EulerOS 2.0", "Ubuntu 22.04", "Alpine 3", "Docker",
    "Nginx", "Tomcat", "MySQL 8", "Redis 7", "Password policy"};
static const char *const CHECK_TYPES[] = {
    "system", "system", "system", "system", "system", "system", "container", "middleware",
    "middleware", "database", "database", "account"};
static const char *const CHECK_SETTINGS[] = {
    "root login", "password authentication", "empty passwords", "X11 forwarding",
    "max auth tries", "login grace time", "core dumps", "ASLR", "IP forwarding",
    "ICMP redirects", "audit logging", "log rotation", "password minimum length",
    "password complexity", "password expiry", "account lockout", "umask", "world-writable files",
    "setuid binaries", "TLS 1.0", "server tokens", "directory listing", "default accounts",
    "remote root access", "protected mode"};
static const char *const CHECK_STATES[] = {
    "disabled", "enabled", "restricted", "configured", "set to a safe value", "removed",
    "limited to administrators", "enforced", "audited", "hardened", "turned off", "required"};

/* Secret detection rules (sensitive_info); the name is the rule with
 * spaces for dashes. */
static const struct {
    const char *rule;
    severity sev;
} SENSITIVE_RULES[] = {
    {"aws-access-key-id", SEVERITY_CRITICAL}, {"aws-secret-access-key", SEVERITY_CRITICAL},
    {"gcp-service-account", SEVERITY_CRITICAL}, {"azure-storage-key", SEVERITY_HIGH},
    {"huaweicloud-ak", SEVERITY_HIGH}, {"huaweicloud-sk", SEVERITY_CRITICAL},
    {"alibaba-access-key", SEVERITY_HIGH}, {"github-pat", SEVERITY_HIGH},
    {"github-oauth", SEVERITY_HIGH}, {"gitlab-pat", SEVERITY_HIGH},
    {"slack-token", SEVERITY_MEDIUM}, {"slack-webhook", SEVERITY_MEDIUM},
    {"stripe-secret-key", SEVERITY_CRITICAL}, {"twilio-api-key", SEVERITY_MEDIUM},
    {"sendgrid-api-key", SEVERITY_MEDIUM}, {"mailgun-api-key", SEVERITY_MEDIUM},
    {"npm-token", SEVERITY_HIGH}, {"pypi-upload-token", SEVERITY_HIGH},
    {"docker-config-auth", SEVERITY_HIGH}, {"private-key-rsa", SEVERITY_CRITICAL},
    {"private-key-ec", SEVERITY_CRITICAL}, {"private-key-openssh", SEVERITY_CRITICAL},
    {"pgp-private-key", SEVERITY_HIGH}, {"jwt-token", SEVERITY_MEDIUM},
    {"generic-password", SEVERITY_MEDIUM}, {"generic-api-key", SEVERITY_MEDIUM},
    {"generic-secret", SEVERITY_LOW}, {"database-url-password", SEVERITY_HIGH},
    {"mysql-password", SEVERITY_HIGH}, {"postgres-password", SEVERITY_HIGH},
    {"redis-password", SEVERITY_MEDIUM}, {"mongodb-uri", SEVERITY_HIGH},
    {"basic-auth-url", SEVERITY_MEDIUM}, {"kubeconfig-token", SEVERITY_CRITICAL},
    {"k8s-service-account-token", SEVERITY_HIGH}, {"ssh-password", SEVERITY_MEDIUM},
    {"htpasswd-hash", SEVERITY_LOW}, {"shadow-hash", SEVERITY_LOW},
    {"id-card-number", SEVERITY_UNKNOWN}, {"phone-number", SEVERITY_UNKNOWN},
};
static const char *const SECRET_DIRS[] = {
    "/app/", "/app/config/", "/etc/", "/root/", "/home/app/", "/opt/service/", "/usr/src/app/",
    "/var/lib/app/", "/srv/www/"};
static const char *const SECRET_FILES[] = {
    ".env", "config.yaml", "settings.py", "application.properties", "credentials", "id_rsa",
    "server.key", "docker-compose.yml", ".npmrc", ".pypirc", ".git-credentials", "config.json",
    "database.yml", "secrets.json", "kubeconfig"};

/* Malware: a family and where it usually hides, paired by index. */
static const char *const MALWARE_NAMES[] = {
    "CoinMiner.Linux.XMRig", "Trojan.Linux.Mirai", "Backdoor.Linux.Tsunami", "Trojan.Linux.Gafgyt",
    "Rootkit.Linux.Diamorphine", "Webshell.PHP.ChinaChopper", "Trojan.Linux.Kinsing",
    "Backdoor.Linux.Sysrv", "Miner.Linux.Kdevtmpfsi", "Trojan.Linux.TeamTNT"};
static const char *const MALWARE_DIRS[] = {
    "/usr/local/bin/", "/tmp/.x/", "/root/.cache/", "/usr/bin/", "/lib/modules/", "/var/www/html/",
    "/tmp/", "/var/tmp/", "/var/tmp/", "/dev/shm/"};
static const char *const MALWARE_FILES[] = {
    "xmrig", "mirai", "tsunami", ".sshd", "diamorphine.ko", "shell.php", "kinsing", "sysrv",
    "kdevtmpfsi", ".m"};

/* Files of interest. */
static const char *const FILE_DIRS[] = {
    "/usr/bin/", "/usr/sbin/", "/bin/", "/usr/local/bin/", "/etc/", "/opt/app/bin/", "/var/lib/",
    "/etc/cron.d/", "/root/"};
static const char *const FILE_NAMES[] = {
    "su", "passwd", "sudo", "mount", "ping", "chsh", "newgrp", "gpasswd", "crontab", "pkexec",
    "ssh-keysign", "Xorg", "nmap", "nc", "socat", "tcpdump", "python3", "perl", "busybox", "agent"};
static const char *const FILE_MODES[] = {"4755", "0755", "0777", "2755", "0644", "0600", "6755"};
static const char *const FILE_OWNERS[] = {"root", "app", "nobody", "1000", "www-data"};

static const char *const NONCOMPLIANT_REASONS[] = {
    "license GPL-3.0 is not allowed", "license AGPL-3.0 is not allowed",
    "version below the minimum allowed", "package is on the deny list", "end-of-life runtime",
    "unapproved registry source"};

/* Build command risks: rule i is DS(i+1). Several names share words
 * ("root", "secret", "latest", "curl") so substring filters match many. */
static const struct {
    const char *name;
    const char *instruction;
    severity level;
} BUILD_RULES[] = {
    {"image uses the latest tag", "FROM ubuntu:latest", SEVERITY_MEDIUM},
    {"image runs as root user", "USER root", SEVERITY_HIGH},
    {"no non-root user specified, container runs as root", "FROM node:18", SEVERITY_HIGH},
    {"port 22 exposed for ssh", "EXPOSE 22", SEVERITY_MEDIUM},
    {"ADD used instead of COPY", "ADD app.tar.gz /app/", SEVERITY_LOW},
    {"COPY --from references the current stage", "COPY --from=build /out /out", SEVERITY_MEDIUM},
    {"multiple ENTRYPOINT instructions", "ENTRYPOINT [\"/start.sh\"]", SEVERITY_MEDIUM},
    {"exposed port out of range", "EXPOSE 70000", SEVERITY_CRITICAL},
    {"WORKDIR path not absolute", "WORKDIR app", SEVERITY_HIGH},
    {"RUN uses sudo", "RUN sudo apt-get update", SEVERITY_CRITICAL},
    {"COPY with multiple sources needs a trailing slash", "COPY a.txt b.txt /dest",
     SEVERITY_CRITICAL},
    {"duplicate stage aliases", "FROM golang:1.22 AS build", SEVERITY_CRITICAL},
    {"RUN cd used instead of WORKDIR", "RUN cd /app && make", SEVERITY_MEDIUM},
    {"RUN uses both wget and curl",
     "RUN wget -q https://example.com/a && curl -O https://example.com/b", SEVERITY_LOW},
    {"yum clean all missing", "RUN yum install -y httpd", SEVERITY_LOW},
    {"multiple CMD instructions", "CMD [\"nginx\"]", SEVERITY_HIGH},
    {"package manager update run alone", "RUN apt-get update", SEVERITY_HIGH},
    {"dnf clean all missing", "RUN dnf install -y nginx", SEVERITY_LOW},
    {"zypper clean missing", "RUN zypper install -y curl", SEVERITY_LOW},
    {"apt-get install missing -y", "RUN apt-get install curl", SEVERITY_HIGH},
    {"deprecated MAINTAINER used", "MAINTAINER ops@example.com", SEVERITY_HIGH},
    {"multiple HEALTHCHECK instructions", "HEALTHCHECK CMD curl -f http://localhost/",
     SEVERITY_MEDIUM},
    {"apt-get dist-upgrade used", "RUN apt-get dist-upgrade -y", SEVERITY_HIGH},
    {"apk add missing --no-cache", "RUN apk add curl", SEVERITY_LOW},
    {"no HEALTHCHECK defined", "CMD [\"/app/server\"]", SEVERITY_LOW},
    {"apt-get missing --no-install-recommends", "RUN apt-get install -y python3", SEVERITY_LOW},
    {"zypper install missing -n", "RUN zypper install curl", SEVERITY_HIGH},
    {"secret passed in ENV", "ENV DB_PASSWORD=****", SEVERITY_CRITICAL},
    {"secret passed in build ARG", "ARG NPM_TOKEN=****", SEVERITY_HIGH},
    {"private key copied into image", "COPY id_rsa /root/.ssh/id_rsa", SEVERITY_CRITICAL},
    {"curl output piped to shell", "RUN curl -sSL https://get.example.com/install.sh | sh",
     SEVERITY_HIGH},
    {"wget output piped to shell", "RUN wget -qO- https://get.example.com/install.sh | bash",
     SEVERITY_HIGH},
    {"world-writable permissions set with chmod 777", "RUN chmod -R 777 /app", SEVERITY_HIGH},
    {"root password set during build", "RUN echo 'root:****' | chpasswd", SEVERITY_CRITICAL},
    {"sudo installed in image", "RUN apt-get install -y sudo", SEVERITY_MEDIUM},
    {"ssh server installed in image", "RUN apt-get install -y openssh-server", SEVERITY_MEDIUM},
    {"secret file copied into image", "COPY .env /app/.env", SEVERITY_HIGH},
    {"cloud credentials copied into image", "COPY credentials /root/.aws/credentials",
     SEVERITY_CRITICAL},
    {"base image pinned to latest tag", "FROM python:latest", SEVERITY_MEDIUM},
    {"base image not pinned by digest", "FROM nginx:1.25", SEVERITY_LOW},
    {"package versions not pinned in apt-get install", "RUN apt-get install -y curl wget",
     SEVERITY_LOW},
    {"package versions not pinned in pip install", "RUN pip install flask requests",
     SEVERITY_LOW},
    {"pip install without --no-cache-dir", "RUN pip install -r requirements.txt", SEVERITY_LOW},
    {"npm install used instead of npm ci", "RUN npm install", SEVERITY_LOW},
    {"git clone of an unpinned repository", "RUN git clone https://github.com/example/tool.git",
     SEVERITY_MEDIUM},
    {"remote file added with ADD from URL", "ADD https://example.com/app.tar.gz /tmp/",
     SEVERITY_MEDIUM},
    {"setuid bit set on binary", "RUN chmod u+s /usr/local/bin/tool", SEVERITY_HIGH},
    {"entrypoint escalates to root with su", "ENTRYPOINT [\"su\", \"root\", \"-c\", \"/start.sh\"]",
     SEVERITY_HIGH},
    {"curl TLS verification disabled", "RUN curl -k https://example.com/setup.sh -o setup.sh",
     SEVERITY_HIGH},
    {"pip trusted host disables TLS verification",
     "RUN pip install --trusted-host pypi.example.com flask", SEVERITY_MEDIUM},
    {"secret token written to file", "RUN echo $GITHUB_TOKEN > /root/.git-credentials",
     SEVERITY_CRITICAL},
    {"docker socket declared as VOLUME", "VOLUME /var/run/docker.sock", SEVERITY_CRITICAL},
    {"sensitive directory declared as VOLUME", "VOLUME /root", SEVERITY_MEDIUM},
    {"shell form used for ENTRYPOINT", "ENTRYPOINT /app/start.sh", SEVERITY_LOW},
    {"apk upgrade used", "RUN apk upgrade", SEVERITY_MEDIUM},
    {"debugging tools installed", "RUN apt-get install -y gdb strace tcpdump", SEVERITY_LOW},
    {"netcat installed in image", "RUN apk add netcat-openbsd", SEVERITY_MEDIUM},
    {"crontab configured in image", "RUN echo '* * * * * /app/job.sh' | crontab -",
     SEVERITY_MEDIUM},
    {"environment exposes secret key", "ENV SECRET_KEY=****", SEVERITY_CRITICAL},
    {"user switched back to root at end of build", "USER 0", SEVERITY_HIGH},
};

/* How an image's records split over the kinds: share of the total, and
 * the % of images that have the kind at all. Malware is drawn apart. */
static const unsigned KIND_WEIGHT[REPORT_TYPE_COUNT] = {
    [REPORT_VULNERABILITY] = 38, [REPORT_RISK_CONFIG] = 7, [REPORT_APPS] = 32,
    [REPORT_FILES] = 10, [REPORT_SENSITIVE_INFO] = 4, [REPORT_NON_COMPLIANT_APP] = 3,
    [REPORT_BUILD_COMMAND_RISKS] = 6};
static const unsigned KIND_PRESENT_PCT[REPORT_TYPE_COUNT] = {
    [REPORT_VULNERABILITY] = 100, [REPORT_RISK_CONFIG] = 70, [REPORT_APPS] = 100,
    [REPORT_FILES] = 60, [REPORT_SENSITIVE_INFO] = 35, [REPORT_NON_COMPLIANT_APP] = 25,
    [REPORT_BUILD_COMMAND_RISKS] = 65};

/* Field positions in model.c's tables (record_kind_get(t)->fields). */
enum { VF_ID, VF_TYPE, VF_SEVERITY, VF_APP_NAME, VF_APP_VERSION, VF_APP_PATH, VF_FIXED_VERSION,
       VF_CVSS, VF_DESCRIPTION, VF_SOLUTION, VF_URL, VF_COUNT };
enum { RF_CHECK_NAME, RF_RULE_ID, RF_RULE_NAME, RF_CHECK_TYPE, RF_STANDARD, RF_SEVERITY,
       RF_CURRENT, RF_SUGGEST, RF_COUNT };
enum { MF_PATH, MF_NAME, MF_SIZE, MF_MALWARE_NAME, MF_DESCRIPTION, MF_SHA256, MF_COUNT };
enum { AF_NAME, AF_VERSION, AF_TYPE, AF_PATH, AF_LAYER, AF_LICENSE, AF_PURL, AF_COUNT };
enum { FF_PATH, FF_NAME, FF_SIZE, FF_MODE, FF_OWNER, FF_COUNT };
enum { SF_RULE_ID, SF_NAME, SF_SEVERITY, SF_PATH, SF_POSITION, SF_CONTENT, SF_COUNT };
enum { NF_NAME, NF_VERSION, NF_PATH, NF_LAYER, NF_REASON, NF_COUNT };
enum { BF_RULE_ID, BF_RISK_NAME, BF_LEVEL, BF_INSTRUCTION, BF_REMEDIATION, BF_DESCRIPTION,
       BF_COUNT };

static const size_t KIND_NFIELDS[REPORT_TYPE_COUNT] = {
    [REPORT_VULNERABILITY] = VF_COUNT, [REPORT_RISK_CONFIG] = RF_COUNT,
    [REPORT_MALWARES] = MF_COUNT, [REPORT_APPS] = AF_COUNT, [REPORT_FILES] = FF_COUNT,
    [REPORT_SENSITIVE_INFO] = SF_COUNT, [REPORT_NON_COMPLIANT_APP] = NF_COUNT,
    [REPORT_BUILD_COMMAND_RISKS] = BF_COUNT};

/* ---- the generator ---- */

struct gen {
    uint64_t seed;
    size_t images, next;
    bool failed;             /* a document could not be built: gen_next ended early */
    const char *const *eps;
    size_t n_eps;
    double *ep_cdf;          /* n_eps: EP e weighs 1/(e+1) */
    double body_mu;          /* lognormal body of images that have records */
    double tail_lo, tail_hi; /* log-uniform tail */
    double cap;
    size_t n_names;
    uint32_t *versions;      /* per group: versions made so far */
    int64_t *last_time;      /* per group: push time of the last version */
    double cve_cdf[GEN_CVE_POOL];
    double build_cdf[COUNT_OF(BUILD_RULES)];
    const record_field *fields[REPORT_TYPE_COUNT];
};

static const char *const DEFAULT_EPS[] = {MODEL_DEFAULT_EP};

gen *gen_new(const gen_options *opt)
{
    if (!opt)
        return NULL;
    /* Field positions mirror model.c; refuse to produce wrong documents. */
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (record_kind_get((report_type)t)->nfields != KIND_NFIELDS[t])
            return NULL;

    gen *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->seed = opt->seed;
    g->images = opt->images;
    if (opt->eps && opt->n_eps) {
        g->eps = opt->eps;
        g->n_eps = opt->n_eps;
    } else {
        g->eps = DEFAULT_EPS;
        g->n_eps = 1;
    }
    size_t n_names = g->images / GEN_NAMES_MIN_DIVISOR + 1;
    g->n_names = n_names < GEN_NAMES_MAX ? n_names : GEN_NAMES_MAX;
    g->ep_cdf = malloc(g->n_eps * sizeof *g->ep_cdf);
    g->versions = calloc(g->n_names, sizeof *g->versions);
    g->last_time = calloc(g->n_names, sizeof *g->last_time);
    if (!g->ep_cdf || !g->versions || !g->last_time) {
        gen_free(g);
        return NULL;
    }

    double acc = 0;
    for (size_t e = 0; e < g->n_eps; e++)
        g->ep_cdf[e] = acc += 1.0 / (double)(e + 1);
    acc = 0;
    for (size_t r = 0; r < GEN_CVE_POOL; r++)
        g->cve_cdf[r] = acc += pow((double)(r + 1), -GEN_CVE_ZIPF_S);
    acc = 0;
    for (size_t r = 0; r < COUNT_OF(BUILD_RULES); r++)
        g->build_cdf[r] = acc += pow((double)(r + 1), -GEN_BUILD_RULE_SKEW);

    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        g->fields[t] = record_kind_get((report_type)t)->fields;

    /* Solve the mixture for the requested mean. Only some statuses carry
     * records, so those images carry proportionally more; malware adds a
     * few records to 3% of them (mean 2.5 each). */
    double mean = opt->records_per_image;
    if (!(mean > 0) || !isfinite(mean))
        mean = GEN_DEFAULT_RECORDS;
    double w_total = 0, w_records = 0;
    for (int s = 0; s < SCAN_STATUS_COUNT; s++) {
        w_total += STATUS_WEIGHT[s];
        w_records += STATUS_WEIGHT[s] * STATUS_RECORDS_PCT[s] / 100.0;
    }
    double malware_mean = GEN_MALWARE_PCT / 100.0 * 2.5;
    double m = mean * w_total / w_records - malware_mean; /* per image with records */
    if (m < 0.01)
        m = 0.01;
    g->tail_lo = GEN_TAIL_LO * m;
    g->tail_hi = GEN_TAIL_HI * m;
    double tail_mean = (g->tail_hi - g->tail_lo) / log(GEN_TAIL_HI / GEN_TAIL_LO);
    double p_body = 1.0 - GEN_P_CLEAN - GEN_P_TAIL;
    double body_mean = (m - GEN_P_TAIL * tail_mean) / p_body;
    g->body_mu = log(body_mean) - GEN_BODY_SIGMA * GEN_BODY_SIGMA / 2.0;
    g->cap = GEN_CAP * mean;
    return g;
}

void gen_free(gen *g)
{
    if (!g)
        return;
    free(g->ep_cdf);
    free(g->versions);
    free(g->last_time);
    free(g);
}

/* ---- building JSON ---- */

/* One document under construction; a failed allocation anywhere marks it
 * and the document is dropped at the end. */
typedef struct {
    bool oom;
} build;

static void put(build *b, json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new_nocheck(obj, key, v) != 0)
        b->oom = true;
}

static void put_s(build *b, json_t *obj, const char *key, const char *s)
{
    put(b, obj, key, json_string_nocheck(s));
}

static void put_sb(build *b, json_t *obj, const char *key, const sbuf *s)
{
    put(b, obj, key, json_stringn_nocheck(s->p, s->n));
}

static void put_i(build *b, json_t *obj, const char *key, int64_t v)
{
    put(b, obj, key, json_integer(v));
}

static json_t *new_record(build *b, json_t *arr)
{
    json_t *rec = json_object();
    if (!rec || json_array_append_new(arr, rec) != 0) {
        b->oom = true;
        return NULL;
    }
    return rec;
}

/* A severity as a scanner might spell it: mostly lower-case, sometimes
 * "HIGH" or "High", which ingest must normalise. */
static void put_severity(build *b, rng *r, json_t *obj, const char *key, severity s)
{
    const char *name = severity_name(s);
    uint64_t x = rng_below(r, 100);
    if (x >= 8) {
        put_s(b, obj, key, name);
        return;
    }
    char buf[16];
    size_t n = 0;
    for (; name[n] && n + 1 < sizeof buf; n++)
        buf[n] = (x < 5 || n == 0) ? (char)(name[n] - 'a' + 'A') : name[n];
    buf[n] = '\0';
    put_s(b, obj, key, buf);
}

/* A package version: 2.14.3, with a distro revision for OS packages. */
typedef struct {
    unsigned major, minor, patch, rev;
} pkg_version;

static pkg_version version_draw(rng *r)
{
    pkg_version v;
    v.major = (unsigned)(rng_below(r, 4) ? rng_below(r, 4) : rng_below(r, 30));
    v.minor = (unsigned)rng_below(r, 25);
    v.patch = (unsigned)rng_below(r, 40);
    v.rev = 1 + (unsigned)rng_below(r, 5);
    return v;
}

static void sb_version(sbuf *s, pkg_version v, int eco)
{
    sb_u(s, v.major);
    sb_ch(s, '.');
    sb_u(s, v.minor);
    sb_ch(s, '.');
    sb_u(s, v.patch);
    if (eco == ECO_DEB || eco == ECO_RPM) {
        sb_ch(s, '-');
        sb_u(s, v.rev);
        if (eco == ECO_RPM)
            sb_str(s, ".el9");
    } else if (eco == ECO_APK) {
        sb_str(s, "-r");
        sb_u(s, v.rev - 1);
    }
}

static void sb_app_path(sbuf *s, int eco, const char *name)
{
    sb_str(s, ECO_PKGS[eco].dir);
    sb_str(s, name);
    if (eco == ECO_JAR)
        sb_str(s, ".jar");
}

/* What the records of one image share. */
typedef struct {
    int os;                 /* ECO_DEB / ECO_RPM / ECO_APK */
    int lang;               /* a language ecosystem */
    size_t n_layers;
    char layers[GEN_LAYERS_MAX][72];
} image_ctx;

static const char *pick_layer(const image_ctx *c, rng *r)
{
    return c->layers[rng_below(r, c->n_layers)];
}

/* The n-th distinct pick of a pool, walking it with a stride coprime to
 * its size from a random start; past the pool's size names get a suffix. */
typedef struct {
    size_t start, stride, n;
} walk;

static walk walk_new(rng *r, size_t n)
{
    static const size_t PRIMES[] = {7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47};
    walk w = {rng_below(r, n), 1, n};
    for (int tries = 0; tries < 4; tries++) {
        size_t p = PICK(r, PRIMES);
        if (n % p != 0) {
            w.stride = p;
            break;
        }
    }
    return w;
}

static size_t walk_at(const walk *w, size_t j) { return (w->start + j * w->stride) % w->n; }

static void gen_vulnerabilities(gen *g, build *b, rng *r, const image_ctx *c, json_t *arr,
                                size_t n)
{
    const record_field *f = g->fields[REPORT_VULNERABILITY];
    SBUF(id, 32);
    SBUF(ver, 48);
    SBUF(fix, 48);
    SBUF(path, 160);
    SBUF(text, 200);
    for (size_t j = 0; j < n && !b->oom; j++) {
        json_t *rec = new_record(b, arr);
        if (!rec)
            break;
        size_t rank = cdf_pick(g->cve_cdf, GEN_CVE_POOL, rng_unit(r));
        uint64_t h = mix64(rank + 0x5eedULL); /* what is fixed per CVE */
        sb_reset(&id);
        sb_str(&id, "CVE-");
        sb_u(&id, 2014 + rank % GEN_CVE_YEARS);
        sb_ch(&id, '-');
        /* For a fixed year the number is injective in rank / years. */
        sb_uw(&id, 1000 + ((rank / GEN_CVE_YEARS) * 7919 + (rank % GEN_CVE_YEARS) * 1237) % 89000,
              4);
        put_sb(b, rec, f[VF_ID].name, &id);

        vul_type vt = rng_pct(r, 70) ? VUL_TYPE_LINUX : VUL_TYPE_APP;
        int eco = vt == VUL_TYPE_LINUX ? c->os : c->lang;
        put_s(b, rec, f[VF_TYPE].name, vul_type_name(vt));

        unsigned sp = (unsigned)(h % 100);
        severity sev = sp < 8 ? SEVERITY_CRITICAL : sp < 33 ? SEVERITY_HIGH
                     : sp < 73 ? SEVERITY_MEDIUM : sp < 93 ? SEVERITY_LOW : SEVERITY_UNKNOWN;
        put_severity(b, r, rec, f[VF_SEVERITY].name, sev);

        const char *app = ECO_PKGS[eco].names[(h >> 8) % ECO_PKGS[eco].n];
        put_s(b, rec, f[VF_APP_NAME].name, app);
        pkg_version v = version_draw(r);
        sb_reset(&ver);
        sb_version(&ver, v, eco);
        put_sb(b, rec, f[VF_APP_VERSION].name, &ver);
        if (vt == VUL_TYPE_APP) {
            sb_reset(&path);
            sb_app_path(&path, eco, app);
            put_sb(b, rec, f[VF_APP_PATH].name, &path);
        }
        if (sev != SEVERITY_UNKNOWN) {
            static const unsigned LO[] = {[SEVERITY_LOW] = 10, [SEVERITY_MEDIUM] = 40,
                                          [SEVERITY_HIGH] = 70, [SEVERITY_CRITICAL] = 90};
            static const unsigned SPAN[] = {[SEVERITY_LOW] = 30, [SEVERITY_MEDIUM] = 30,
                                            [SEVERITY_HIGH] = 20, [SEVERITY_CRITICAL] = 11};
            unsigned score = LO[sev] + (unsigned)((h >> 20) % SPAN[sev]);
            put(b, rec, f[VF_CVSS].name, json_real(score / 10.0));
        }
        if (rng_pct(r, 80)) { /* a fix exists */
            v.patch += 1 + (unsigned)rng_below(r, 5);
            sb_reset(&fix);
            sb_version(&fix, v, eco);
            put_sb(b, rec, f[VF_FIXED_VERSION].name, &fix);
            sb_reset(&text);
            sb_str(&text, "Upgrade ");
            sb_str(&text, app);
            sb_str(&text, " to ");
            sb_str(&text, fix.p);
            sb_str(&text, " or later.");
            put_sb(b, rec, f[VF_SOLUTION].name, &text);
        }
        sb_reset(&text);
        sb_str(&text, "https://nvd.nist.gov/vuln/detail/");
        sb_str(&text, id.p);
        put_sb(b, rec, f[VF_URL].name, &text);
    }
}

static void gen_risk_configs(gen *g, build *b, rng *r, json_t *arr, size_t n)
{
    const record_field *f = g->fields[REPORT_RISK_CONFIG];
    walk w = walk_new(r, GEN_RISK_RULES);
    SBUF(id, 32);
    SBUF(name, 128);
    for (size_t j = 0; j < n && !b->oom; j++) {
        json_t *rec = new_record(b, arr);
        if (!rec)
            break;
        size_t rule = walk_at(&w, j);
        uint64_t h = mix64(rule + 0xc0f1ULL);
        size_t base = rule % COUNT_OF(BASELINES);
        put_s(b, rec, f[RF_CHECK_NAME].name, BASELINES[base]);
        sb_reset(&id);
        sb_str(&id, "HSS-CR-");
        sb_uw(&id, rule + 1, 4);
        put_sb(b, rec, f[RF_RULE_ID].name, &id);
        sb_reset(&name);
        sb_str(&name, "Ensure ");
        sb_str(&name, CHECK_SETTINGS[(h >> 8) % COUNT_OF(CHECK_SETTINGS)]);
        sb_str(&name, " is ");
        sb_str(&name, CHECK_STATES[(h >> 16) % COUNT_OF(CHECK_STATES)]);
        put_sb(b, rec, f[RF_RULE_NAME].name, &name);
        put_s(b, rec, f[RF_CHECK_TYPE].name, CHECK_TYPES[base]);
        put_s(b, rec, f[RF_STANDARD].name, f[RF_STANDARD].enum_values[rule % 3 == 0]);
        unsigned sp = (unsigned)(h % 100);
        severity sev = sp < 5 ? SEVERITY_CRITICAL : sp < 30 ? SEVERITY_HIGH
                     : sp < 75 ? SEVERITY_MEDIUM : SEVERITY_LOW;
        put_severity(b, r, rec, f[RF_SEVERITY].name, sev);
        uint64_t good = (h >> 24) % 10;
        put_s(b, rec, f[RF_CURRENT].name, good < 5 ? "yes" : "0");
        put_s(b, rec, f[RF_SUGGEST].name, good < 5 ? "no" : "1");
    }
}

static void gen_malwares(gen *g, build *b, rng *r, json_t *arr, size_t n)
{
    const record_field *f = g->fields[REPORT_MALWARES];
    SBUF(path, 96);
    SBUF(sha, 72);
    for (size_t j = 0; j < n && !b->oom; j++) {
        json_t *rec = new_record(b, arr);
        if (!rec)
            break;
        size_t m = rng_below(r, COUNT_OF(MALWARE_NAMES));
        sb_reset(&path);
        sb_str(&path, MALWARE_DIRS[m]);
        sb_str(&path, MALWARE_FILES[m]);
        put_sb(b, rec, f[MF_PATH].name, &path);
        put_s(b, rec, f[MF_NAME].name, MALWARE_FILES[m]);
        put_i(b, rec, f[MF_SIZE].name, rng_range(r, 4096, 8 << 20));
        put_s(b, rec, f[MF_MALWARE_NAME].name, MALWARE_NAMES[m]);
        sb_reset(&sha);
        sb_sha256(&sha, rng_next(r), r, false);
        put_sb(b, rec, f[MF_SHA256].name, &sha);
    }
}

/* An app name: the walk's pick, with a suffix once the pool is exhausted. */
static void sb_pkg(sbuf *s, int eco, const walk *w, size_t j)
{
    sb_str(s, ECO_PKGS[eco].names[walk_at(w, j)]);
    if (j >= w->n) {
        sb_str(s, "-ext");
        sb_u(s, j / w->n);
    }
}

static void gen_apps(gen *g, build *b, rng *r, const image_ctx *c, json_t *arr, size_t n)
{
    const record_field *f = g->fields[REPORT_APPS];
    walk wos = walk_new(r, ECO_PKGS[c->os].n);
    walk wlang = walk_new(r, ECO_PKGS[c->lang].n);
    size_t jos = 0, jlang = 0;
    SBUF(name, 96);
    SBUF(ver, 48);
    SBUF(path, 192);
    for (size_t j = 0; j < n && !b->oom; j++) {
        json_t *rec = new_record(b, arr);
        if (!rec)
            break;
        bool os = rng_pct(r, 60);
        int eco = os ? c->os : c->lang;
        sb_reset(&name);
        if (os)
            sb_pkg(&name, eco, &wos, jos++);
        else
            sb_pkg(&name, eco, &wlang, jlang++);
        put_sb(b, rec, f[AF_NAME].name, &name);
        sb_reset(&ver);
        sb_version(&ver, version_draw(r), eco);
        put_sb(b, rec, f[AF_VERSION].name, &ver);
        put_s(b, rec, f[AF_TYPE].name, ECO_NAMES[eco]);
        if (!os) {
            sb_reset(&path);
            sb_app_path(&path, eco, name.p);
            put_sb(b, rec, f[AF_PATH].name, &path);
        }
        put_s(b, rec, f[AF_LAYER].name, pick_layer(c, r));
        put_s(b, rec, f[AF_LICENSE].name, PICK(r, LICENSES));
    }
}

static void gen_files(gen *g, build *b, rng *r, json_t *arr, size_t n)
{
    const record_field *f = g->fields[REPORT_FILES];
    SBUF(path, 96);
    for (size_t j = 0; j < n && !b->oom; j++) {
        json_t *rec = new_record(b, arr);
        if (!rec)
            break;
        const char *file = PICK(r, FILE_NAMES);
        sb_reset(&path);
        sb_str(&path, PICK(r, FILE_DIRS));
        sb_str(&path, file);
        put_sb(b, rec, f[FF_PATH].name, &path);
        put_s(b, rec, f[FF_NAME].name, file);
        put_i(b, rec, f[FF_SIZE].name, rng_range(r, 512, 16 << 20));
        put_s(b, rec, f[FF_MODE].name, PICK(r, FILE_MODES));
        put_s(b, rec, f[FF_OWNER].name, PICK(r, FILE_OWNERS));
    }
}

static void gen_sensitive_info(gen *g, build *b, rng *r, const image_ctx *c, json_t *arr,
                               size_t n)
{
    static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const record_field *f = g->fields[REPORT_SENSITIVE_INFO];
    SBUF(name, 64);
    SBUF(path, 96);
    SBUF(content, 32);
    for (size_t j = 0; j < n && !b->oom; j++) {
        json_t *rec = new_record(b, arr);
        if (!rec)
            break;
        size_t k = rng_below(r, COUNT_OF(SENSITIVE_RULES));
        const char *rule = SENSITIVE_RULES[k].rule;
        put_s(b, rec, f[SF_RULE_ID].name, rule);
        sb_reset(&name);
        for (const char *p = rule; *p; p++)
            sb_ch(&name, *p == '-' ? ' ' : *p);
        put_sb(b, rec, f[SF_NAME].name, &name);
        put_severity(b, r, rec, f[SF_SEVERITY].name, SENSITIVE_RULES[k].sev);
        sb_reset(&path);
        sb_str(&path, PICK(r, SECRET_DIRS));
        sb_str(&path, PICK(r, SECRET_FILES));
        put_sb(b, rec, f[SF_PATH].name, &path);
        put_s(b, rec, f[SF_POSITION].name, pick_layer(c, r));
        sb_reset(&content);
        for (int i = 0; i < 4; i++)
            sb_ch(&content, ALNUM[rng_below(r, sizeof ALNUM - 1)]);
        sb_str(&content, "****");
        put_sb(b, rec, f[SF_CONTENT].name, &content);
    }
}

static void gen_non_compliant_apps(gen *g, build *b, rng *r, const image_ctx *c, json_t *arr,
                                   size_t n)
{
    const record_field *f = g->fields[REPORT_NON_COMPLIANT_APP];
    SBUF(ver, 48);
    SBUF(path, 192);
    for (size_t j = 0; j < n && !b->oom; j++) {
        json_t *rec = new_record(b, arr);
        if (!rec)
            break;
        int eco = rng_pct(r, 50) ? c->os : c->lang;
        const char *app = ECO_PKGS[eco].names[rng_below(r, ECO_PKGS[eco].n)];
        put_s(b, rec, f[NF_NAME].name, app);
        sb_reset(&ver);
        sb_version(&ver, version_draw(r), eco);
        put_sb(b, rec, f[NF_VERSION].name, &ver);
        sb_reset(&path);
        sb_app_path(&path, eco, app);
        put_sb(b, rec, f[NF_PATH].name, &path);
        put_s(b, rec, f[NF_LAYER].name, pick_layer(c, r));
        put_s(b, rec, f[NF_REASON].name, PICK(r, NONCOMPLIANT_REASONS));
    }
}

static void gen_build_command_risks(gen *g, build *b, rng *r, json_t *arr, size_t n)
{
    const record_field *f = g->fields[REPORT_BUILD_COMMAND_RISKS];
    SBUF(id, 16);
    for (size_t j = 0; j < n && !b->oom; j++) {
        json_t *rec = new_record(b, arr);
        if (!rec)
            break;
        size_t k = cdf_pick(g->build_cdf, COUNT_OF(BUILD_RULES), rng_unit(r));
        sb_reset(&id);
        sb_str(&id, "DS");
        sb_uw(&id, k + 1, 3);
        put_sb(b, rec, f[BF_RULE_ID].name, &id);
        put_s(b, rec, f[BF_RISK_NAME].name, BUILD_RULES[k].name);
        put_severity(b, r, rec, f[BF_LEVEL].name, BUILD_RULES[k].level);
        put_s(b, rec, f[BF_INSTRUCTION].name, BUILD_RULES[k].instruction);
    }
}

/* ---- one image ---- */

/* What a group (repository) fixes for all its versions. */
typedef struct {
    image_type type;
    const char *namespace_;
    int instance;           /* index into INSTANCE_NAMES[type - INSTANCE], or -1 */
    const char *cicd;       /* or NULL */
    size_t ep;
    int tag_style;
    bool latest_first;      /* version 0 is tagged "latest" */
    unsigned major;
    const char *suffix;
} group;

static size_t pick_ep(const gen *g, rng *r)
{
    return cdf_pick(g->ep_cdf, g->n_eps, rng_unit(r));
}

static group group_get(const gen *g, size_t k)
{
    rng r;
    group gr;
    rng_seed(&r, g->seed, STREAM_GROUP, k);
    gr.type = (image_type)rng_weighted(&r, TYPE_WEIGHT, IMAGE_TYPE_COUNT);
    gr.namespace_ = gr.type == IMAGE_TYPE_LOCAL ? "" : PICK(&r, NAMESPACES);
    gr.instance = -1;
    gr.cicd = NULL;
    if (gr.type == IMAGE_TYPE_INSTANCE || gr.type == IMAGE_TYPE_HARBOR ||
        gr.type == IMAGE_TYPE_JFROG)
        gr.instance = (int)rng_below(&r, INSTANCES_PER_TYPE);
    if (gr.type == IMAGE_TYPE_CICD)
        gr.cicd = PICK(&r, CICD_NAMES);
    gr.ep = pick_ep(g, &r);
    gr.tag_style = (int)rng_below(&r, 20);
    gr.latest_first = rng_pct(&r, 25);
    gr.major = rng_pct(&r, 70) ? (unsigned)rng_below(&r, 4) : (unsigned)rng_below(&r, 20);
    gr.suffix = PICK(&r, TAG_SUFFIX);
    return gr;
}

/* The name of group k: injective in k. */
static void sb_group_name(sbuf *s, size_t k)
{
    size_t words = COUNT_OF(NAME_PREFIX) * COUNT_OF(NAME_NOUN);
    size_t w = k % words;
    sb_str(s, NAME_PREFIX[w % COUNT_OF(NAME_PREFIX)]);
    sb_ch(s, '-');
    sb_str(s, NAME_NOUN[w / COUNT_OF(NAME_PREFIX)]);
    if (k >= words) {
        sb_ch(s, '-');
        sb_u(s, k / words + 1);
    }
}

/* The tag of version j of a group: injective in j. */
static void sb_tag(sbuf *s, const group *gr, uint32_t j)
{
    if (j == 0 && gr->latest_first) {
        sb_str(s, "latest");
        return;
    }
    if (gr->tag_style >= 17) { /* 15%: build-N */
        sb_str(s, "build-");
        sb_u(s, j + 1);
        return;
    }
    if (gr->tag_style >= 13) /* 20%: v-prefixed */
        sb_ch(s, 'v');
    sb_u(s, gr->major);
    sb_ch(s, '.');
    sb_u(s, j / 10);
    sb_ch(s, '.');
    sb_u(s, j % 10);
    if (gr->tag_style < 3) { /* 15%: a variant suffix */
        sb_ch(s, '-');
        sb_str(s, gr->suffix);
    }
}

/* A uuid-looking instance id, fixed per instance (not per seed). */
static void sb_instance_id(sbuf *s, image_type t, int instance)
{
    uint64_t a = mix64((uint64_t)t * 131 + (uint64_t)instance + 0x1d5ULL);
    uint64_t b = mix64(a);
    sb_hex(s, a >> 32, 8);
    sb_ch(s, '-');
    sb_hex(s, (a >> 16) & 0xffff, 4);
    sb_ch(s, '-');
    sb_hex(s, a & 0xffff, 4);
    sb_ch(s, '-');
    sb_hex(s, b >> 48, 4);
    sb_ch(s, '-');
    sb_hex(s, b & 0xffffffffffffULL, 12);
}

/* Whether image i is the tail image of its block. Stratifying the tail
 * (exactly one candidate per block instead of a 0.5% coin per image)
 * keeps the mean of a few thousand images close to the request: the
 * tail carries a quarter of all records, and a Poisson count of tail
 * images would swing the mean by +-30%. */
static bool is_tail(const gen *g, size_t i)
{
    rng r;
    rng_seed(&r, g->seed, STREAM_TAIL, i / GEN_TAIL_EVERY);
    return i % GEN_TAIL_EVERY == rng_below(&r, GEN_TAIL_EVERY);
}

/* Total records of an image that has records: clean, body or tail. */
static size_t draw_total(const gen *g, rng *r, bool tail)
{
    double x;
    if (tail)
        x = g->tail_lo * exp(rng_unit(r) * log(g->tail_hi / g->tail_lo));
    else if (rng_unit(r) < GEN_P_CLEAN / (1.0 - GEN_P_TAIL))
        return 0;
    else
        x = exp(g->body_mu + GEN_BODY_SIGMA * rng_normal(r));
    if (x > g->cap)
        x = g->cap;
    /* Stochastic rounding keeps small means unbiased. */
    double fl = floor(x);
    return (size_t)fl + (rng_unit(r) < x - fl ? 1 : 0);
}

static void gen_records(gen *g, build *b, rng *r, bool tail, json_t *doc)
{
    size_t counts[REPORT_TYPE_COUNT] = {0};
    size_t total = draw_total(g, r, tail);
    unsigned weights[REPORT_TYPE_COUNT];
    bool any = false;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        weights[t] = rng_pct(r, KIND_PRESENT_PCT[t]) ? KIND_WEIGHT[t] : 0;
        any |= weights[t] > 0;
    }
    if (any) {
        /* A cumulative table makes the multinomial split O(total). */
        unsigned cum[REPORT_TYPE_COUNT], acc = 0;
        for (int t = 0; t < REPORT_TYPE_COUNT; t++)
            cum[t] = acc += weights[t];
        for (size_t i = 0; i < total; i++) {
            uint64_t x = rng_below(r, acc);
            int t = 0;
            while (x >= cum[t])
                t++;
            counts[t]++;
        }
    }
    if (rng_pct(r, GEN_MALWARE_PCT))
        counts[REPORT_MALWARES] = 1 + rng_below(r, 4);

    image_ctx c;
    c.os = (int)rng_weighted(r, OS_WEIGHT, ECO_OS_COUNT);
    c.lang = ECO_OS_COUNT + (int)rng_below(r, ECO_COUNT - ECO_OS_COUNT);
    c.n_layers = 3 + rng_below(r, GEN_LAYERS_MAX - 2);
    for (size_t i = 0; i < c.n_layers; i++) {
        sbuf s = {c.layers[i], 0, sizeof c.layers[i]};
        sb_sha256(&s, rng_next(r), r, true);
    }

    for (int t = 0; t < REPORT_TYPE_COUNT && !b->oom; t++) {
        if (!counts[t])
            continue;
        json_t *arr = json_array();
        put(b, doc, record_kind_get((report_type)t)->doc_key, arr);
        if (b->oom)
            break;
        size_t n = counts[t];
        switch ((report_type)t) {
        case REPORT_VULNERABILITY: gen_vulnerabilities(g, b, r, &c, arr, n); break;
        case REPORT_RISK_CONFIG: gen_risk_configs(g, b, r, arr, n); break;
        case REPORT_MALWARES: gen_malwares(g, b, r, arr, n); break;
        case REPORT_APPS: gen_apps(g, b, r, &c, arr, n); break;
        case REPORT_FILES: gen_files(g, b, r, arr, n); break;
        case REPORT_SENSITIVE_INFO: gen_sensitive_info(g, b, r, &c, arr, n); break;
        case REPORT_NON_COMPLIANT_APP: gen_non_compliant_apps(g, b, r, &c, arr, n); break;
        case REPORT_BUILD_COMMAND_RISKS: gen_build_command_risks(g, b, r, arr, n); break;
        case REPORT_TYPE_COUNT: break;
        }
    }
}

/* Ends the sequence early: NULL now and from every later call, so the
 * caller never sees a gap in it, and gen_failed tells why it ended. */
static json_t *gen_fail(gen *g, json_t *doc)
{
    json_decref(doc);
    g->failed = true;
    return NULL;
}

bool gen_failed(const gen *g)
{
    return !g || g->failed;
}

json_t *gen_next(gen *g, const char **ep)
{
    if (!g || g->failed || g->next >= g->images)
        return NULL;
    size_t i = g->next++;
    rng r;
    rng_seed(&r, g->seed, STREAM_IMAGE, i);
    build b = {false};

    /* The repository and which of its versions this is. */
    size_t k = (size_t)((double)g->n_names * pow(rng_unit(&r), GEN_NAME_SKEW));
    if (k >= g->n_names)
        k = g->n_names - 1;
    uint32_t j = g->versions[k]++;
    group gr = group_get(g, k);

    json_t *doc = json_object();
    json_t *img = json_object();
    put(&b, doc, "image", img);
    if (b.oom)
        return gen_fail(g, doc);
    SBUF(s, 128);

    put_s(&b, img, "image_type", image_type_name(gr.type));
    put_s(&b, img, "namespace", gr.namespace_);
    sb_group_name(&s, k);
    put_sb(&b, img, "image_name", &s);
    sb_reset(&s);
    sb_tag(&s, &gr, j);
    put_sb(&b, img, "image_version", &s);
    if (gr.instance >= 0) {
        sb_reset(&s);
        sb_instance_id(&s, gr.type, gr.instance);
        put_sb(&b, img, "instance_id", &s);
        put_s(&b, img, "instance_name",
              INSTANCE_NAMES[gr.type - IMAGE_TYPE_INSTANCE][gr.instance]);
    }
    if (gr.cicd)
        put_s(&b, img, "cicd_name", gr.cicd);

    /* image_id: the first word is a bijection of i, so ids never repeat. */
    rng idr;
    rng_seed(&idr, g->seed, STREAM_ID, i);
    sb_reset(&s);
    sb_sha256(&s, mix64(mix64(g->seed ^ STREAM_ID) + i), &idr, true);
    put_sb(&b, img, "image_id", &s);
    sb_reset(&s);
    sb_sha256(&s, rng_next(&idr), &idr, true);
    put_sb(&b, img, "image_digest", &s);

    scan_status status = (scan_status)rng_weighted(&r, STATUS_WEIGHT, SCAN_STATUS_COUNT);
    double lsize = log((double)GEN_SIZE_MIN) +
                   rng_unit(&r) * (log((double)GEN_SIZE_MAX) - log((double)GEN_SIZE_MIN));
    int64_t size = (int64_t)exp(lsize);
    if (status == SCAN_STATUS_IMAGE_OVERSIZED)
        size = rng_range(&r, GEN_OVERSIZE_MIN, GEN_SIZE_MAX);
    put_i(&b, img, "image_size", size);

    int64_t pushed;
    if (j > 0 && rng_pct(&r, GEN_TIE_PCT))
        pushed = g->last_time[k]; /* re-tagged at the same instant: a tie */
    else
        pushed = rng_range(&r, GEN_TIME_START, GEN_TIME_END - 1);
    g->last_time[k] = pushed;
    put_i(&b, img, "latest_update_time", pushed);
    int64_t scanned = status == SCAN_STATUS_UNSCAN
                          ? 0 : pushed + rng_range(&r, 60000, 30LL * 86400000);
    put_i(&b, img, "latest_scan_time", scanned);
    put_s(&b, img, "scan_status", scan_status_name(status));
    int64_t containers = 0;
    if (!rng_pct(&r, 60)) {
        double u = rng_unit(&r);
        containers = 1 + (int64_t)(50.0 * u * u * u);
        if (containers > 50)
            containers = 50;
    }
    put_i(&b, img, "container_num", containers);

    if (rng_pct(&r, STATUS_RECORDS_PCT[status]))
        gen_records(g, &b, &r, is_tail(g, i), doc);

    if (b.oom)
        return gen_fail(g, doc);
    if (ep)
        *ep = g->eps[gr.ep];
    return doc;
}
