/* buildrisk.h - the rules for risky build instructions, shared by the
 * importers (history of a scanner report) and the analyzer (history and
 * config of an image): one table, one redaction (docs/importers.md
 * "history rules", docs/scanning.md "history").
 */
#ifndef IMGSEC_BUILDRISK_H
#define IMGSEC_BUILDRISK_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *rule_id, *name, *level, *remediation;
    bool (*match)(const char *instruction);
    bool scan_only; /* applied by the analyzer only; the importers keep the
                       rules their reports were documented with */
} buildrisk_rule;

/* The per-instruction rules, in report order. */
extern const buildrisk_rule buildrisk_rules[];
extern const size_t buildrisk_rules_count;
/* The rule a "USER root" instruction breaks (IMGSEC-H006): the analyzer
 * decides it from the config's effective user instead of each line. */
extern const buildrisk_rule *const buildrisk_rule_root;
/* The rule of a secret in an assignment (IMGSEC-H005). */
extern const buildrisk_rule *const buildrisk_rule_secret;

/* Does text assign a secret (NAME=value with NAME holding PASSWORD,
 * TOKEN, SECRET, API_KEY, ...)? */
bool buildrisk_secret_assignment(const char *text);
/* text as it may be stored: a malloc'd copy, with every assigned value
 * replaced by '*' when text assigns a secret. NULL on out of memory. */
char *buildrisk_redact(const char *text);

#endif
