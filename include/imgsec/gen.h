/* gen.h - a deterministic generator of realistic ingest documents.
 *
 * The same (options, seed) always yields the same documents, byte for
 * byte, so demos, tests and benchmarks are reproducible. The data is
 * skewed like a real fleet: most images have tens of records, a few have
 * thousands; vulnerability ids come from a Zipf-like pool of 50,000; all
 * image types, scan statuses, EPs and eight record kinds appear; images
 * share names across versions so latest_version matters.
 */
#ifndef IMGSEC_GEN_H
#define IMGSEC_GEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t seed;
    size_t images;                 /* how many documents */
    const char *const *eps;        /* EPs to spread images over (NULL: {"0"}) */
    size_t n_eps;
    double records_per_image;      /* mean records per image over all kinds (e.g. 200);
                                      0 means the demo default of ~40 */
} gen_options;

typedef struct gen gen;

gen *gen_new(const gen_options *opt);
/* The next document (a new reference) and the EP it goes into (borrowed,
 * one of opt->eps, so the caller keeps that array alive while g lives);
 * NULL when all images were produced, or early if memory ran out (then
 * NULL for good: see gen_failed). gen_new returns NULL on a NULL opt or
 * when out of memory. */
json_t *gen_next(gen *g, const char **ep);
/* After gen_next returned NULL: true when that was not the end but a
 * failure (out of memory), so fewer than opt->images documents came
 * out; true also for a NULL g. */
bool gen_failed(const gen *g);
void gen_free(gen *g);

#endif
