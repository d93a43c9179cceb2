/* version.c - the scheme table and the checks every comparator shares
 * (length bound, NULL), then dispatch to version_<scheme>.c. */
#include <string.h>

#include "imgsec/version.h"
#include "vulndb/version_int.h"

static const struct {
    const char *name;
    vcmp_fn cmp;
} SCHEMES[VERSION_SCHEME_COUNT] = {
    [VERSION_DPKG] = {"dpkg", vcmp_dpkg},
    [VERSION_APK] = {"apk", vcmp_apk},
    [VERSION_RPM] = {"rpm", vcmp_rpm},
    [VERSION_SEMVER] = {"semver", vcmp_semver},
    [VERSION_PEP440] = {"pep440", vcmp_pep440},
    [VERSION_MAVEN] = {"maven", vcmp_maven},
    [VERSION_GEM] = {"gem", vcmp_gem},
};

const char *version_scheme_name(version_scheme s)
{
    return (unsigned)s < VERSION_SCHEME_COUNT ? SCHEMES[s].name : "?";
}

int version_scheme_parse(const char *name)
{
    for (int i = 0; name && i < VERSION_SCHEME_COUNT; i++)
        if (strcmp(name, SCHEMES[i].name) == 0)
            return i;
    return -1;
}

int vnum_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    while (an > 0 && *a == '0') a++, an--;
    while (bn > 0 && *b == '0') b++, bn--;
    if (an != bn)
        return an < bn ? -1 : 1;
    return an ? vsign(memcmp(a, b, an)) : 0; /* a zero may have no digits at all (NULL) */
}

int version_compare(version_scheme s, const char *a, const char *b, int *cmp, imgsec_err *err)
{
    if ((unsigned)s >= VERSION_SCHEME_COUNT)
        return err_set(err, IMGSEC_EINVAL, "unknown version scheme %d", (int)s);
    const char *v[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (!v[i])
            return err_set(err, IMGSEC_EINVAL, "%s version: missing", SCHEMES[s].name);
        if (strlen(v[i]) > VERSION_MAX)
            return err_set(err, IMGSEC_EINVAL, "%s version: longer than %d bytes",
                           SCHEMES[s].name, VERSION_MAX);
    }
    int bad = 0, c = 0;
    const char *why = "not a version";
    if (SCHEMES[s].cmp(a, b, &c, &bad, &why) != 0)
        return err_set(err, IMGSEC_EINVAL, "%s version '%s': %s", SCHEMES[s].name, v[bad != 0],
                       why);
    *cmp = vsign(c);
    return IMGSEC_OK;
}

int version_check(version_scheme s, const char *v, imgsec_err *err)
{
    int c;
    return version_compare(s, v, v, &c, err);
}
