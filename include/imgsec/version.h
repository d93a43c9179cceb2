/* version.h - package version comparison, exactly as each ecosystem
 * defines it.
 *
 * One function per question: is a < b, a == b or a > b under the rules of
 * scheme s. Every scheme parses both strings first; a string the scheme
 * cannot read is an error (IMGSEC_EINVAL, the message names the string and
 * the scheme), never a guess, so a caller that matches vulnerabilities can
 * report "could not compare" instead of a silent match or miss.
 *
 *   VERSION_DPKG    Debian: [epoch:]upstream[-revision], dpkg's verrevcmp
 *                   ('~' sorts before everything, letters before other
 *                   characters), as dpkg --compare-versions.
 *   VERSION_APK     Alpine: number{.number}[letter]{_suffix[number]}[~hash][-rN],
 *                   suffix order alpha beta pre rc (none) cvs svn git hg p.
 *   VERSION_RPM     RPM: [epoch:]version[-release], through librpm
 *                   (rpmverParse/rpmverCmp: a missing release matches any).
 *   VERSION_SEMVER  SemVer 2.0 (npm, crates.io, Go): an optional leading 'v'
 *                   (or '=' and spaces, as node-semver's loose mode), any
 *                   number of numeric components (missing ones are 0),
 *                   pre-release identifiers compared per spec item 11,
 *                   build metadata ignored. Go pseudo-versions are
 *                   pre-releases and order by their timestamp.
 *   VERSION_PEP440  PyPI: epochs, pre/post/dev releases, local versions,
 *                   normalised spellings (packaging.version). Legacy
 *                   non-PEP 440 strings are errors, as packaging >= 22.
 *   VERSION_MAVEN   Maven ComparableVersion: tokens split at '.', '-' and
 *                   digit/letter transitions, qualifiers alpha < beta <
 *                   milestone < rc = cr < snapshot < "" = ga = final =
 *                   release < sp < others, trailing null values trimmed.
 *   VERSION_GEM     RubyGems Gem::Version: segments of digits or letters,
 *                   a letter segment makes a pre-release, trailing zeros
 *                   of the release part ignored.
 *
 * Numbers of any length compare exactly (as digit strings, never through
 * an integer that could overflow). Inputs longer than VERSION_MAX bytes
 * are refused. Thread-safe.
 */
#ifndef IMGSEC_VERSION_H
#define IMGSEC_VERSION_H

#include "imgsec/err.h"

#define VERSION_MAX 256 /* bytes of one version string */

typedef enum {
    VERSION_DPKG, VERSION_APK, VERSION_RPM, VERSION_SEMVER, VERSION_PEP440,
    VERSION_MAVEN, VERSION_GEM,
    VERSION_SCHEME_COUNT
} version_scheme;

/* "dpkg", "apk", "rpm", "semver", "pep440", "maven", "gem". */
const char *version_scheme_name(version_scheme s);
/* The scheme of a name above; -1 when none. */
int version_scheme_parse(const char *name);

/* Compares a and b under scheme s: *cmp = -1, 0 or 1. IMGSEC_OK, or
 * IMGSEC_EINVAL when either string is not a version of s (cmp untouched). */
int version_compare(version_scheme s, const char *a, const char *b, int *cmp, imgsec_err *err);

/* IMGSEC_OK when v is a version of s, else IMGSEC_EINVAL saying why. */
int version_check(version_scheme s, const char *v, imgsec_err *err);

#endif
