/* version_rpm.c - RPM versions through librpm: rpmverParse splits
 * [epoch:]version[-release] (the release after the last '-'), rpmverCmp
 * compares epoch, version and release with rpmvercmp, and a side without
 * a release matches any release (rpm's own EVR rule). librpm refuses an
 * empty version and a non-numeric epoch: errors here too.
 */
#include <ctype.h>
#include <string.h>

#include <rpm/rpmver.h>

#include "vulndb/version_int.h"

static rpmver rpm_parse(const char *s, const char **why)
{
    if (!*s) return *why = "empty version", NULL;
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p)) return *why = "white space in version", NULL;
    rpmver v = rpmverParse(s);
    if (!v || !rpmverV(v) || !*rpmverV(v)) {
        rpmverFree(v);
        return *why = "not an [epoch:]version[-release]", NULL;
    }
    return v;
}

int vcmp_rpm(const char *a, const char *b, int *cmp, int *bad, const char **why)
{
    rpmver va = rpm_parse(a, why);
    if (!va) return *bad = 0, -1;
    rpmver vb = rpm_parse(b, why);
    if (!vb) { rpmverFree(va); return *bad = 1, -1; }
    *cmp = vsign(rpmverCmp(va, vb));
    rpmverFree(va);
    rpmverFree(vb);
    return 0;
}
