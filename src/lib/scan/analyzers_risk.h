/* analyzers_risk.h - the risk analyzers (an_files.c, an_secrets.c,
 * an_baseline.c, an_malware.c, an_policy.c); docs/scanning-risks.md. */
#ifndef IMGSEC_SCAN_ANALYZERS_RISK_H
#define IMGSEC_SCAN_ANALYZERS_RISK_H

#include "imgsec/scan.h"

extern const scan_analyzer scan_an_files;    /* files */
extern const scan_analyzer scan_an_secrets;  /* sensitive-info */
extern const scan_analyzer scan_an_baseline; /* risk-config */
extern const scan_analyzer scan_an_malware;  /* malwares */
extern const scan_analyzer scan_an_policy;   /* non-compliant-app; runs last (finish) */

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
