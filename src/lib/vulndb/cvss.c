/* cvss.c - CVSS base scores from vector strings, with the formulas of the
 * specifications (FIRST CVSS v3.1 section 7; v3.0 is the same formula
 * with its own round-up).
 *
 * Only base metrics count; temporal and environmental ones are accepted
 * and ignored. A vector with a missing, repeated or unknown base metric
 * is refused (-1): the caller then falls back to the ecosystem's rating.
 */
#include <math.h>
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
    int changed = idx[M_S] == 1;
    double pr = METRICS[M_PR].w[idx[M_PR]];
    if (changed && idx[M_PR] == 1) pr = 0.68;
    if (changed && idx[M_PR] == 2) pr = 0.5;
    double iss = 1.0 - (1.0 - METRICS[M_C].w[idx[M_C]]) * (1.0 - METRICS[M_I].w[idx[M_I]]) *
                           (1.0 - METRICS[M_A].w[idx[M_A]]);
    double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
    double expl = 8.22 * METRICS[M_AV].w[idx[M_AV]] * METRICS[M_AC].w[idx[M_AC]] * pr *
                  METRICS[M_UI].w[idx[M_UI]];
    double (*up)(double) = v31 ? roundup31 : roundup30;
    if (impact <= 0) *score = 0;
    else if (changed) *score = up(fmin(1.08 * (impact + expl), 10.0));
    else *score = up(fmin(impact + expl, 10.0));
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

int cvss4_score(const char *vector, double *score)
{
    (void)vector;
    (void)score;
    return -1; /* not implemented yet: the caller falls back to the ecosystem's rating */
}
