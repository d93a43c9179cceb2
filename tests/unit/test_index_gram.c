/* test_index_gram.c - substring matches through a dictionary's gram index
 * (index_gram.h, index_dict.h) against a brute-force scan.
 *
 * Random dictionaries over small alphabets (so that needles of every
 * length match often), ASCII and UTF-8 (bytes >= 0x80, where a signed
 * char would go wrong), grow and shrink through dict_ref and dict_unref;
 * after every step each needle's places and row count must equal those
 * of a plain scan written here: the bytes of the needle occur in the
 * string, case-sensitive (docs/api.md, statistic filters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "index/index_dict.h"
#include "index/index_gram.h"

static uint64_t rng_state;

static uint32_t rnd(uint32_t below)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % below);
}

/* Alphabets: pieces a string is made of. The UTF-8 one has 2-, 3- and
 * 4-byte characters sharing lead and continuation bytes, and upper and
 * lower case of the same letters (which must not match each other). */
static const char *const ASCII[] = {"a", "b", "c", "-", "A", "B", "1", "."};
static const char *const UTF8[] = {"a", "\xc3\xa9" /* é */, "\xc3\x89" /* É */,
                                   "\xe6\x97\xa5" /* 日 */, "\xe6\x9c\xac" /* 本 */,
                                   "\xf0\x9f\x90\xb3" /* whale */, "-", "\xff"};

static size_t make_string(char *buf, size_t max_pieces, const char *const *alpha, size_t n_alpha)
{
    size_t len = 0, pieces = rnd((uint32_t)max_pieces + 1);
    for (size_t i = 0; i < pieces; i++) {
        const char *p = alpha[rnd((uint32_t)n_alpha)];
        memcpy(buf + len, p, strlen(p));
        len += strlen(p);
    }
    buf[len] = '\0';
    return len;
}

static bool brute_contains(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    for (size_t i = 0; i + nlen <= hlen; i++)
        if (memcmp(hay + i, needle, nlen) == 0)
            return true;
    return false;
}

/* The places and rows of d's entries containing needle, by brute force,
 * compared with dict_match_substring, and dict_rows_of both ways. */
static void check_needle(const dict *d, const char *needle, size_t nlen, uint32_t universe)
{
    roaring_bitmap_t *want = roaring_bitmap_create();
    roaring_bitmap_t *want_rows = roaring_bitmap_create();
    roaring_bitmap_t *other_rows = roaring_bitmap_create();
    size_t want_n = 0, other_n = 0;
    for (size_t i = 0; i < d->n; i++) {
        const dict_entry *e = d->entries[i];
        bool hit = brute_contains(e->s, e->len, needle, nlen);
        if (hit) {
            roaring_bitmap_add(want, (uint32_t)i);
            want_n += e->n;
        } else {
            other_n += e->n;
        }
        dict_entry_or(hit ? want_rows : other_rows, e);
    }
    roaring_bitmap_t *got = roaring_bitmap_create();
    assert_int_equal(dict_match_substring(d, needle, nlen, got), 0);
    size_t rows = dict_places_rows(d, got);
    if (!roaring_bitmap_equals(got, want)) {
        fprintf(stderr, "needle \"%.*s\" (%zu bytes): %llu places, want %llu\n", (int)nlen,
                needle, nlen, (unsigned long long)roaring_bitmap_get_cardinality(got),
                (unsigned long long)roaring_bitmap_get_cardinality(want));
        fail();
    }
    assert_int_equal(rows, want_n);
    roaring_bitmap_t *r = dict_rows_of(d, got, false, rows, universe);
    assert_non_null(r);
    assert_true(roaring_bitmap_equals(r, want_rows));
    roaring_bitmap_free(r);
    r = dict_rows_of(d, got, true, other_n, universe);
    assert_non_null(r);
    assert_true(roaring_bitmap_equals(r, other_rows));
    roaring_bitmap_free(r);
    roaring_bitmap_free(got);
    roaring_bitmap_free(want);
    roaring_bitmap_free(want_rows);
    roaring_bitmap_free(other_rows);
}

#define UNIVERSE 3000
#define MAX_PIECES 9

/* A random walk of refs and unrefs over one dictionary, checking needles
 * (pieces of its strings and random ones, 1 to 13 bytes) as it goes. */
static void random_walk(const char *const *alpha, size_t n_alpha, bool grams, uint64_t seed)
{
    rng_state = seed;
    dict d;
    dict_init(&d);
    if (grams)
        assert_int_equal(dict_index_grams(&d), 0);
    dict_entry **row_entry = calloc(UNIVERSE, sizeof *row_entry);
    assert_non_null(row_entry);
    char buf[4 * MAX_PIECES + 1], needle[4 * MAX_PIECES + 1];
    for (int step = 0; step < 6000; step++) {
        uint32_t row = rnd(UNIVERSE);
        if (row_entry[row] && rnd(3) != 0) { /* remove (deleting entries often) */
            dict_unref(&d, row_entry[row], row);
            row_entry[row] = NULL;
        } else if (!row_entry[row]) {
            size_t len = make_string(buf, MAX_PIECES, alpha, n_alpha);
            row_entry[row] = dict_ref(&d, buf, len, row);
            assert_non_null(row_entry[row]);
        }
        if (step % 97 != 0)
            continue;
        assert_int_equal(d.grams != NULL, grams);
        for (int k = 0; k < 40; k++) {
            size_t nlen;
            if (k % 2 == 0 && d.n) { /* a piece of a string present */
                const dict_entry *e = d.entries[rnd((uint32_t)d.n)];
                if (!e->len)
                    continue;
                size_t at = rnd((uint32_t)e->len);
                nlen = 1 + rnd((uint32_t)(e->len - at < 13 ? e->len - at : 13));
                memcpy(needle, e->s + at, nlen);
            } else { /* random pieces, often absent */
                nlen = make_string(needle, 1 + rnd(3), alpha, n_alpha);
                if (!nlen)
                    continue;
            }
            check_needle(&d, needle, nlen, UNIVERSE);
        }
    }
    /* every single byte, every pair of the alphabet's first bytes */
    for (int b = 1; b < 256; b++) {
        char c = (char)b;
        check_needle(&d, &c, 1, UNIVERSE);
    }
    for (size_t i = 0; i < n_alpha; i++)
        for (size_t j = 0; j < n_alpha; j++) {
            char two[2] = {alpha[i][0], alpha[j][0]};
            check_needle(&d, two, 2, UNIVERSE);
        }
    free(row_entry);
    dict_free(&d);
}

static void test_ascii_with_grams(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++)
        random_walk(ASCII, sizeof ASCII / sizeof *ASCII, true, seed * 7919);
}

static void test_utf8_with_grams(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++)
        random_walk(UTF8, sizeof UTF8 / sizeof *UTF8, true, seed * 104729);
}

/* The scan that a dictionary without a gram index uses gives the same. */
static void test_scan_without_grams(void **state)
{
    (void)state;
    random_walk(ASCII, sizeof ASCII / sizeof *ASCII, false, 31337);
    random_walk(UTF8, sizeof UTF8 / sizeof *UTF8, false, 4242);
}

/* A gram index given to a dictionary that already has entries indexes
 * them; fixed cases with exact places. */
static void test_late_index_and_fixed_cases(void **state)
{
    (void)state;
    dict d;
    dict_init(&d);
    const char *s[] = {"web-frontend", "web", "ab", "Web-API", "caf\xc3\xa9", "", "a"};
    for (uint32_t i = 0; i < 7; i++)
        assert_non_null(dict_ref(&d, s[i], strlen(s[i]), i));
    assert_non_null(dict_ref(&d, "web", 3, 7)); /* a second row of "web" */
    assert_int_equal(dict_index_grams(&d), 0);
    struct {
        const char *needle;
        uint32_t places;    /* bits: entries (in insertion order) that match */
        size_t rows;
    } cases[] = {
        {"web", 0x03, 3},      {"Web", 0x08, 1},  {"eb", 0x0b, 4},      {"b", 0x0f, 5},
        {"ab", 0x04, 1},       {"a", 0x54, 3},    {"\xc3\xa9", 0x10, 1}, {"\xa9", 0x10, 1},
        {"web-frontend", 0x01, 1}, {"web-frontends", 0, 0}, {"end", 0x01, 1}, {"WEB", 0, 0},
        {"-", 0x09, 2},        {"b-f", 0x01, 1},  {"zz", 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        roaring_bitmap_t *got = roaring_bitmap_create();
        assert_int_equal(dict_match_substring(&d, cases[k].needle, strlen(cases[k].needle), got),
                         0);
        size_t rows = dict_places_rows(&d, got);
        uint32_t bits = 0;
        for (uint32_t i = 0; i < 7; i++) {
            const dict_entry *e = dict_find(&d, s[i], strlen(s[i]));
            if (roaring_bitmap_contains(got, (uint32_t)e->pos))
                bits |= 1u << i;
        }
        if (bits != cases[k].places || rows != cases[k].rows)
            fprintf(stderr, "needle \"%s\": places 0x%x rows %zu\n", cases[k].needle, bits, rows);
        assert_int_equal(bits, cases[k].places);
        assert_int_equal(rows, cases[k].rows);
        roaring_bitmap_free(got);
    }
    /* a long needle (more trigrams than are probed) */
    char longer[300];
    memset(longer, 'x', sizeof longer);
    longer[299] = 'y';
    assert_non_null(dict_ref(&d, longer, sizeof longer, 8));
    longer[0] = 'z';
    assert_non_null(dict_ref(&d, longer, sizeof longer, 9));
    roaring_bitmap_t *got = roaring_bitmap_create();
    assert_int_equal(dict_match_substring(&d, longer, sizeof longer, got), 0);
    assert_int_equal(roaring_bitmap_get_cardinality(got), 1);
    assert_int_equal(dict_places_rows(&d, got), 1);
    roaring_bitmap_clear(got);
    assert_int_equal(dict_match_substring(&d, longer + 1, sizeof longer - 1, got), 0);
    assert_int_equal(roaring_bitmap_get_cardinality(got), 2);
    assert_int_equal(dict_places_rows(&d, got), 2);
    roaring_bitmap_free(got);
    dict_free(&d);
}

/* Entries in each form of their rows (one inline, an array, a bitmap past
 * DICT_ARRAY_MAX rows): the rows of the matching entries, and of the
 * others. */
static void test_rows_of_every_form(void **state)
{
    (void)state;
    enum { ROWS = 3 * DICT_ARRAY_MAX };
    dict d;
    dict_init(&d);
    assert_int_equal(dict_index_grams(&d), 0);
    char name[32];
    uint32_t row = 0;
    for (; row < DICT_ARRAY_MAX + 100; row++) /* a bitmap */
        assert_non_null(dict_ref(&d, "harbor-prod", 11, row));
    for (int k = 0; k < 100; row++, k++) /* an array */
        assert_non_null(dict_ref(&d, "harbor-test", 11, row));
    for (int k = 0; k < 40; k++, row++) { /* forty single rows */
        snprintf(name, sizeof name, "jfrog-%d", k);
        assert_non_null(dict_ref(&d, name, strlen(name), row));
    }
    assert_true(row < ROWS);
    const char *needles[] = {"harbor", "prod", "test", "jfrog-1", "jfrog", "o", "-", "zz"};
    for (size_t i = 0; i < sizeof needles / sizeof *needles; i++)
        check_needle(&d, needles[i], strlen(needles[i]), ROWS);
    dict_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_with_grams),
        cmocka_unit_test(test_utf8_with_grams),
        cmocka_unit_test(test_scan_without_grams),
        cmocka_unit_test(test_late_index_and_fixed_cases),
        cmocka_unit_test(test_rows_of_every_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
