/* version_int.h - what the per-scheme comparators of version.c share. */
#ifndef IMGSEC_VERSION_INT_H
#define IMGSEC_VERSION_INT_H

#include <stddef.h>

#include "imgsec/err.h"

/* One comparator: *cmp = sign of a - b; 0, or -1 with why in *why (a
 * static string) when a (bad = 0) or b (bad = 1) does not parse. */
typedef int (*vcmp_fn)(const char *a, const char *b, int *cmp, int *bad, const char **why);

int vcmp_dpkg(const char *a, const char *b, int *cmp, int *bad, const char **why);
int vcmp_apk(const char *a, const char *b, int *cmp, int *bad, const char **why);
int vcmp_rpm(const char *a, const char *b, int *cmp, int *bad, const char **why);
int vcmp_semver(const char *a, const char *b, int *cmp, int *bad, const char **why);
int vcmp_pep440(const char *a, const char *b, int *cmp, int *bad, const char **why);
int vcmp_maven(const char *a, const char *b, int *cmp, int *bad, const char **why);
int vcmp_gem(const char *a, const char *b, int *cmp, int *bad, const char **why);

/* Compares the decimal digit strings a[0..an) and b[0..bn) as numbers of
 * any size (leading zeros ignored): -1, 0 or 1. */
int vnum_cmp(const char *a, size_t an, const char *b, size_t bn);

static inline int vsign(int x) { return (x > 0) - (x < 0); }

#endif
