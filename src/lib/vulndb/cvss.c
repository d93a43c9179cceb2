/* cvss.c - CVSS base scores from vector strings, with the formulas of the
 * specifications (FIRST CVSS v3.1 section 7; v3.0 is the same formula
 * with its own round-up).
 *
 * v3: only base metrics count; temporal and environmental ones are
 * accepted and ignored. v4.0 (FIRST CVSS v4.0 specification, section 8):
 * the vector's MacroVector (EQ1-EQ6) gives a score from the
 * specification's table of MacroVector scores, lowered by the mean
 * proportional severity distance from the MacroVector's highest vectors,
 * exactly as the reference calculator (FIRSTdotorg/cvss-v4-calculator)
 * computes it; threat and environmental metrics count as the
 * specification says (E:X = A, CR/IR/AR:X = H, M* override the base).
 * A vector with a missing, repeated or unknown base metric is refused
 * (-1): the caller then falls back to the ecosystem's rating.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "vulndb/vulndb_int.h"

/* v3.1 Roundup: the smallest number with one decimal >= x, computed on
 * integers so that 4.000000000001 is 4.0, not 4.1. */
static double roundup31(double x)
{
    int64_t i = (int64_t)llround(x * 100000.0);
    if (i % 10000 == 0) return (double)i / 100000.0;
    return (double)(i / 10000 + 1) / 10.0;
}

static double roundup30(double x) { return ceil(x * 10.0) / 10.0; }

typedef struct {
    const char *name;
    const char *letters;  /* allowed values */
    double w[4];          /* weights by letter index */
} metric;

enum { M_AV, M_AC, M_PR, M_UI, M_S, M_C, M_I, M_A, M_COUNT };

static const metric METRICS[M_COUNT] = {
    [M_AV] = {"AV", "NALP", {0.85, 0.62, 0.55, 0.2}},
    [M_AC] = {"AC", "LH", {0.77, 0.44}},
    [M_PR] = {"PR", "NLH", {0.85, 0.62, 0.27}},
    [M_UI] = {"UI", "NR", {0.85, 0.62}},
    [M_S] = {"S", "UC", {0, 0}},
    [M_C] = {"C", "HLN", {0.56, 0.22, 0}},
    [M_I] = {"I", "HLN", {0.56, 0.22, 0}},
    [M_A] = {"A", "HLN", {0.56, 0.22, 0}},
};

int cvss3_score(const char *vector, double *score)
{
    int v31;
    if (strncmp(vector, "CVSS:3.1/", 9) == 0) v31 = 1;
    else if (strncmp(vector, "CVSS:3.0/", 9) == 0) v31 = 0;
    else return -1;
    int idx[M_COUNT];
    for (int m = 0; m < M_COUNT; m++) idx[m] = -1;
    const char *p = vector + 9;
    while (*p) {
        const char *colon = strchr(p, ':');
        if (!colon) return -1;
        size_t kn = (size_t)(colon - p);
        const char *val = colon + 1;
        size_t vn = strcspn(val, "/");
        int found = 0;
        for (int m = 0; m < M_COUNT; m++) {
            if (strlen(METRICS[m].name) != kn || memcmp(METRICS[m].name, p, kn) != 0) continue;
            found = 1;
            if (idx[m] >= 0 || vn != 1) return -1;
            const char *l = strchr(METRICS[m].letters, *val);
            if (!l || !*val) return -1;
            idx[m] = (int)(l - METRICS[m].letters);
        }
        (void)found; /* temporal/environmental metrics: ignored */
        p = val + vn;
        if (*p == '/') p++;
    }
    for (int m = 0; m < M_COUNT; m++)
        if (idx[m] < 0) return -1;
    double iss = 1.0 - (1.0 - METRICS[M_C].w[idx[M_C]]) * (1.0 - METRICS[M_I].w[idx[M_I]]) *
                           (1.0 - METRICS[M_A].w[idx[M_A]]);
    /* Scope: Changed weighs PR:L and PR:H higher, has its own impact
     * formula and multiplies the sum by 1.08 (v3.1 section 7.1) */
    double pr, impact, factor;
    if (idx[M_S] == 1) {
        static const double PR_CHANGED[3] = {0.85, 0.68, 0.5};
        pr = PR_CHANGED[idx[M_PR]];
        impact = 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15);
        factor = 1.08;
    } else {
        pr = METRICS[M_PR].w[idx[M_PR]];
        impact = 6.42 * iss;
        factor = 1.0;
    }
    double expl = 8.22 * METRICS[M_AV].w[idx[M_AV]] * METRICS[M_AC].w[idx[M_AC]] * pr *
                  METRICS[M_UI].w[idx[M_UI]];
    double (*up)(double) = v31 ? roundup31 : roundup30;
    *score = impact <= 0 ? 0 : up(fmin(factor * (impact + expl), 10.0));
    return 0;
}

severity cvss_severity(double score)
{
    if (score >= 9.0) return SEVERITY_CRITICAL;
    if (score >= 7.0) return SEVERITY_HIGH;
    if (score >= 4.0) return SEVERITY_MEDIUM;
    if (score >= 0.1) return SEVERITY_LOW;
    return SEVERITY_UNKNOWN;
}


/* ---- CVSS v4.0 ---- */

/* The specification's MacroVector scores (CVSS v4.0, via the reference
 * calculator's cvss_lookup.js, BSD-2-Clause, FIRST and Red Hat), indexed
 * by (((((eq1*2+eq2)*3+eq3)*3+eq4)*3+eq5)*2+eq6); -1: no such MacroVector. */
static const double MV_SCORE[324] = {
    10.0, 9.9, 9.8, 9.5, 9.5, 9.2, 10.0, 9.6, 9.3, 8.7, 9.1, 8.1,
    9.3, 9.0, 8.9, 8.0, 8.1, 6.8, 9.8, 9.5, 9.5, 9.2, 9.0, 8.4,
    9.3, 9.2, 8.9, 8.1, 8.1, 6.5, 8.8, 8.0, 7.8, 7.0, 6.9, 4.8,
    -1, 9.2, -1, 8.2, -1, 7.2, -1, 7.9, -1, 6.9, -1, 5.0,
    -1, 6.9, -1, 5.5, -1, 2.7, 9.9, 9.7, 9.5, 9.2, 9.2, 8.5,
    9.5, 9.1, 9.0, 8.3, 8.4, 7.1, 9.2, 8.1, 8.2, 7.1, 7.2, 5.3,
    9.5, 9.3, 9.2, 8.5, 8.5, 7.3, 9.2, 8.2, 8.0, 7.2, 7.0, 5.9,
    8.4, 7.0, 7.1, 5.2, 5.0, 3.0, -1, 8.6, -1, 7.5, -1, 5.2,
    -1, 7.1, -1, 5.2, -1, 2.9, -1, 6.3, -1, 2.9, -1, 1.7,
    9.8, 9.5, 9.4, 8.7, 9.1, 8.1, 9.4, 8.9, 8.6, 7.4, 7.7, 6.4,
    8.7, 7.5, 7.4, 6.3, 6.3, 4.9, 9.4, 8.9, 8.8, 7.7, 7.6, 6.7,
    8.6, 7.6, 7.4, 5.8, 5.9, 5.0, 7.2, 5.7, 5.7, 5.2, 5.2, 2.5,
    -1, 8.3, -1, 7.0, -1, 5.4, -1, 6.5, -1, 5.8, -1, 2.6,
    -1, 5.3, -1, 2.1, -1, 1.3, 9.5, 9.0, 8.8, 7.6, 7.6, 7.0,
    9.0, 7.7, 7.5, 6.2, 6.1, 5.3, 7.7, 6.6, 6.8, 5.9, 5.2, 3.0,
    8.9, 7.8, 7.6, 6.7, 6.2, 5.8, 7.4, 5.9, 5.7, 5.7, 4.7, 2.3,
    6.1, 5.2, 5.7, 2.9, 2.4, 1.6, -1, 7.1, -1, 5.9, -1, 3.0,
    -1, 5.8, -1, 2.6, -1, 1.5, -1, 2.3, -1, 1.3, -1, 0.6,
    9.3, 8.7, 8.6, 7.2, 7.5, 5.8, 8.6, 7.4, 7.4, 6.1, 5.6, 3.4,
    7.0, 5.4, 5.2, 4.0, 4.0, 2.2, 8.5, 7.5, 7.4, 5.5, 6.2, 5.1,
    7.2, 5.7, 5.5, 4.1, 4.6, 1.9, 5.3, 3.6, 3.4, 1.9, 1.9, 0.8,
    -1, 6.4, -1, 5.1, -1, 2.0, -1, 4.7, -1, 2.1, -1, 1.1,
    -1, 2.4, -1, 0.9, -1, 0.4, 8.8, 7.5, 7.3, 5.3, 6.0, 5.0,
    7.3, 5.5, 5.9, 4.0, 4.1, 2.0, 5.4, 4.3, 4.5, 2.2, 2.0, 1.1,
    7.5, 5.5, 5.8, 4.5, 4.0, 2.1, 6.1, 5.1, 4.8, 1.8, 2.0, 0.9,
    4.6, 1.8, 1.7, 0.7, 0.8, 0.2, -1, 5.3, -1, 2.4, -1, 1.4,
    -1, 2.4, -1, 1.2, -1, 0.5, -1, 1.0, -1, 0.3, -1, 0.1,
};

static double mv_score(int e1, int e2, int e3, int e4, int e5, int e6)
{
    if (e1 > 2 || e2 > 1 || e3 > 2 || e4 > 2 || e5 > 2 || e6 > 1) return -1;
    return MV_SCORE[((((e1 * 2 + e2) * 3 + e3) * 3 + e4) * 3 + e5) * 2 + e6];
}

/* The metrics v4 scoring reads: base ones required, the rest optional. */
static const struct {
    const char *name;
    const char *values;
    bool base;
} V4[] = {
    {"AV", "NALP", true}, {"AC", "LH", true}, {"AT", "NP", true}, {"PR", "NLH", true},
    {"UI", "NPA", true}, {"VC", "HLN", true}, {"VI", "HLN", true}, {"VA", "HLN", true},
    {"SC", "HLN", true}, {"SI", "HLN", true}, {"SA", "HLN", true},
    {"E", "XAPU", false}, {"CR", "XHML", false}, {"IR", "XHML", false}, {"AR", "XHML", false},
    {"MAV", "XNALP", false}, {"MAC", "XLH", false}, {"MAT", "XNP", false}, {"MPR", "XNLH", false},
    {"MUI", "XNPA", false}, {"MVC", "XHLN", false}, {"MVI", "XHLN", false}, {"MVA", "XHLN", false},
    {"MSC", "XHLN", false}, {"MSI", "XSHLN", false}, {"MSA", "XSHLN", false},
};
#define N_V4 (sizeof V4 / sizeof *V4)

typedef struct { char v[N_V4]; } v4vec;

static int v4_index(const char *name, size_t n)
{
    for (size_t i = 0; i < N_V4; i++)
        if (strlen(V4[i].name) == n && memcmp(V4[i].name, name, n) == 0) return (int)i;
    return -1;
}

/* The effective value of metric name (the reference's m()). */
static char v4_m(const v4vec *x, const char *name)
{
    int i = v4_index(name, strlen(name));
    char v = x->v[i];
    if (strcmp(name, "E") == 0 && v == 'X') return 'A';
    if ((strcmp(name, "CR") == 0 || strcmp(name, "IR") == 0 || strcmp(name, "AR") == 0) && v == 'X')
        return 'H';
    char mname[8];
    snprintf(mname, sizeof mname, "M%s", name);
    int mi = v4_index(mname, strlen(mname));
    if (mi >= 0 && x->v[mi] != 'X') return x->v[mi];
    return v;
}

/* Severity level of a value (the reference's *_levels), in tenths. */
static int v4_level(const char *name, char v)
{
    static const struct { const char *name, *order; int first; } L[] = {
        {"AV", "NALP", 0}, {"PR", "NLH", 0}, {"UI", "NPA", 0}, {"AC", "LH", 0}, {"AT", "NP", 0},
        {"VC", "HLN", 0}, {"VI", "HLN", 0}, {"VA", "HLN", 0}, {"SC", "HLN", 1},
        {"SI", "SHLN", 0}, {"SA", "SHLN", 0}, {"CR", "HML", 0}, {"IR", "HML", 0}, {"AR", "HML", 0},
    };
    for (size_t i = 0; i < sizeof L / sizeof *L; i++)
        if (strcmp(L[i].name, name) == 0) {
            const char *p = strchr(L[i].order, v);
            return p ? L[i].first + (int)(p - L[i].order) : 0;
        }
    return 0;
}

/* The value of metric name in a "AV:N/PR:N/UI:N/" fragment. */
static char frag_value(const char *frag, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = frag; *p;) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') return p[n + 1];
        p = strchr(p, '/');
        if (!p) break;
        p++;
    }
    return 0;
}

static const char *const MAX_EQ1[3][3] = {
    {"AV:N/PR:N/UI:N/"}, {"AV:A/PR:N/UI:N/", "AV:N/PR:L/UI:N/", "AV:N/PR:N/UI:P/"},
    {"AV:P/PR:N/UI:N/", "AV:A/PR:L/UI:P/"}};
static const char *const MAX_EQ2[2][2] = {{"AC:L/AT:N/"}, {"AC:H/AT:N/", "AC:L/AT:P/"}};
static const char *const MAX_EQ3EQ6[3][2][5] = {
    {{"VC:H/VI:H/VA:H/CR:H/IR:H/AR:H/"},
     {"VC:H/VI:H/VA:L/CR:M/IR:M/AR:H/", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M/"}},
    {{"VC:L/VI:H/VA:H/CR:H/IR:H/AR:H/", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H/"},
     {"VC:L/VI:H/VA:L/CR:H/IR:M/AR:H/", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M/",
      "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M/", "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H/",
      "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M/"}},
    {{NULL}, {"VC:L/VI:L/VA:L/CR:H/IR:H/AR:H/"}}};
static const char *const MAX_EQ4[3] = {"SC:H/SI:S/SA:S/", "SC:H/SI:H/SA:H/", "SC:L/SI:L/SA:L/"};
static const int MAXSEV_EQ1[3] = {1, 4, 5}, MAXSEV_EQ2[2] = {1, 2}, MAXSEV_EQ4[3] = {6, 5, 4};
static const int MAXSEV_EQ3EQ6[3][2] = {{7, 6}, {8, 8}, {0, 10}};

int cvss4_score(const char *vector, double *score)
{
    if (strncmp(vector, "CVSS:4.0/", 9) != 0) return -1;
    v4vec x;
    memset(x.v, 0, sizeof x.v);
    for (size_t i = 0; i < N_V4; i++)
        if (!V4[i].base) x.v[i] = 'X';
    bool seen[N_V4] = {false};
    for (const char *p = vector + 9; *p;) {
        const char *colon = strchr(p, ':');
        if (!colon) return -1;
        const char *val = colon + 1;
        size_t vn = strcspn(val, "/");
        int i = v4_index(p, (size_t)(colon - p));
        if (i >= 0) {
            if (seen[i] || vn != 1 || !strchr(V4[i].values, *val)) return -1;
            seen[i] = true;
            x.v[i] = *val;
        } /* supplemental metrics (S, AU, R, V, RE, U): no effect on the score */
        p = val + vn;
        if (*p == '/') p++;
    }
    for (size_t i = 0; i < N_V4; i++)
        if (V4[i].base && !seen[i]) return -1;
#define M(n) v4_m(&x, n)
    if (M("VC") == 'N' && M("VI") == 'N' && M("VA") == 'N' && M("SC") == 'N' && M("SI") == 'N' &&
        M("SA") == 'N') {
        *score = 0;
        return 0;
    }
    char av = M("AV"), pr = M("PR"), ui = M("UI");
    int eq1 = (av == 'N' && pr == 'N' && ui == 'N') ? 0
              : ((av == 'N' || pr == 'N' || ui == 'N') && av != 'P') ? 1 : 2;
    int eq2 = (M("AC") == 'L' && M("AT") == 'N') ? 0 : 1;
    char vc = M("VC"), vi = M("VI"), va = M("VA");
    int eq3 = (vc == 'H' && vi == 'H') ? 0 : (vc == 'H' || vi == 'H' || va == 'H') ? 1 : 2;
    int eq4 = (M("MSI") == 'S' || M("MSA") == 'S') ? 0
              : (M("SC") == 'H' || M("SI") == 'H' || M("SA") == 'H') ? 1 : 2;
    char e = M("E");
    int eq5 = e == 'A' ? 0 : e == 'P' ? 1 : 2;
    int eq6 = ((M("CR") == 'H' && vc == 'H') || (M("IR") == 'H' && vi == 'H') ||
               (M("AR") == 'H' && va == 'H')) ? 0 : 1;
    double value = mv_score(eq1, eq2, eq3, eq4, eq5, eq6);
    if (value < 0) return -1;
    double lower1 = mv_score(eq1 + 1, eq2, eq3, eq4, eq5, eq6);
    double lower2 = mv_score(eq1, eq2 + 1, eq3, eq4, eq5, eq6);
    double lower36;
    if (eq3 == 0 && eq6 == 0) {
        double l = mv_score(eq1, eq2, eq3, eq4, eq5, eq6 + 1), r = mv_score(eq1, eq2, eq3 + 1, eq4, eq5, eq6);
        lower36 = l > r ? l : r;
    } else if (eq3 == 1 && eq6 == 0) {
        lower36 = mv_score(eq1, eq2, eq3, eq4, eq5, eq6 + 1);
    } else if (eq6 == 1 && eq3 < 2) {
        lower36 = mv_score(eq1, eq2, eq3 + 1, eq4, eq5, eq6);
    } else {
        lower36 = mv_score(eq1, eq2, eq3 + 1, eq4, eq5, eq6 + 1);
    }
    double lower4 = mv_score(eq1, eq2, eq3, eq4 + 1, eq5, eq6);
    double lower5 = mv_score(eq1, eq2, eq3, eq4, eq5 + 1, eq6);
    /* the first highest vector of the MacroVector that is at least as
     * severe as this one in every metric */
    static const char *const DIST[] = {"AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA",
                                       "SC", "SI", "SA", "CR", "IR", "AR"};
    int d[14] = {0};
    for (int a = 0; a < 3 && MAX_EQ1[eq1][a]; a++)
        for (int b = 0; b < 2 && MAX_EQ2[eq2][b]; b++)
            for (int c = 0; c < 5 && MAX_EQ3EQ6[eq3][eq6][c]; c++) {
                const char *frags[4] = {MAX_EQ1[eq1][a], MAX_EQ2[eq2][b], MAX_EQ3EQ6[eq3][eq6][c],
                                        MAX_EQ4[eq4]};
                bool ok = true;
                for (int k = 0; k < 14; k++) {
                    char mv = 0;
                    for (int f = 0; f < 4 && !mv; f++) mv = frag_value(frags[f], DIST[k]);
                    d[k] = v4_level(DIST[k], M(DIST[k])) - v4_level(DIST[k], mv);
                    if (d[k] < 0) ok = false;
                }
                if (ok) goto found;
            }
found:;
    double dist1 = (d[0] + d[1] + d[2]) * 0.1, dist2 = (d[3] + d[4]) * 0.1;
    double dist36 = (d[5] + d[6] + d[7] + d[11] + d[12] + d[13]) * 0.1;
    double dist4 = (d[8] + d[9] + d[10]) * 0.1;
    int n = 0;
    double sum = 0;
    if (lower1 >= 0) { n++; sum += (value - lower1) * dist1 / (MAXSEV_EQ1[eq1] * 0.1); }
    if (lower2 >= 0) { n++; sum += (value - lower2) * dist2 / (MAXSEV_EQ2[eq2] * 0.1); }
    if (lower36 >= 0) { n++; sum += (value - lower36) * dist36 / (MAXSEV_EQ3EQ6[eq3][eq6] * 0.1); }
    if (lower4 >= 0) { n++; sum += (value - lower4) * dist4 / (MAXSEV_EQ4[eq4] * 0.1); }
    if (lower5 >= 0) n++; /* EQ5's proportion is always 0 */
#undef M
    if (n) value -= sum / n;
    if (value < 0) value = 0;
    if (value > 10) value = 10;
    *score = floor((value + 1e-6) * 10 + 0.5) / 10; /* half up, past the float ULP (reference #66) */
    return 0;
}
