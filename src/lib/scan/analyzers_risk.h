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

#endif
