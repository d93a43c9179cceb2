/* analyzers_risk.h - what the risk analyzers (an_files.c, an_secrets.c,
 * an_baseline.c, an_malware.c, an_policy.c; docs/scanning-risks.md) offer
 * their tests and fuzz targets besides the analyzers themselves. */
#ifndef IMGSEC_SCAN_ANALYZERS_RISK_H
#define IMGSEC_SCAN_ANALYZERS_RISK_H

#include "scan/analyzers.h" /* the five analyzers' declarations */

/* Sets the weak-password budget of the baseline analyzer for every later
 * scan of the process: crypt_rn calls on cheap and on slow schemes
 * (defaults 1024 and 32). For the fuzz target, which needs fast runs. */
void scan_baseline_budget(size_t cheap, size_t slow);

/* The policy file format (an_policy.c): 0 when buf holds a valid policy,
 * else the error --policy would give (for the fuzz target and tests). */
int scan_policy_validate(const char *buf, size_t len, imgsec_err *err);
/* The policy's plain version order: <0, 0, >0 (docs/scanning-risks.md). */
int scan_policy_vercmp(const char *a, const char *b);

#endif
