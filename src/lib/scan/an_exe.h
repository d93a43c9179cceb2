/* an_exe.h - just enough of ELF, Mach-O and PE to find a named section and
 * read memory at a virtual address, from an executable's bytes (internal;
 * an_go.c, an_rust.c).
 *
 * Every offset, size and count read from the headers is checked against
 * the bytes given before it is used; a region whose file bytes lie
 * outside them is dropped. Fat (universal) Mach-O files are not read.
 */
#ifndef IMGSEC_SCAN_AN_EXE_H
#define IMGSEC_SCAN_AN_EXE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AN_EXE_REGIONS_MAX 512 /* sections and segments kept */

typedef enum { AN_EXE_ELF = 1, AN_EXE_MACHO, AN_EXE_PE } an_exe_format;

/* A section or a loadable segment: where it lives in memory and in the
 * file (filesz may be less than memsz: zero-filled rest). */
typedef struct {
    char name[17];    /* section name ("" for an ELF segment), NUL-terminated */
    bool segment;     /* a segment (ELF PT_LOAD, Mach-O LC_SEGMENT) */
    bool writable;
    uint64_t addr, memsz;
    uint64_t off, filesz;
} an_exe_region;

typedef struct {
    an_exe_format format;
    bool big_endian;
    unsigned ptr_size;  /* 4 or 8 */
    an_exe_region regions[AN_EXE_REGIONS_MAX];
    size_t n_regions;
} an_exe;

/* Does data start like an executable this module reads? (cheap) */
bool an_exe_is(const unsigned char *data, size_t len);
/* Reads the headers. 0, or -1 when data is no executable it can read. */
int an_exe_parse(const unsigned char *data, size_t len, an_exe *x);
/* The first section named name, or NULL. */
const an_exe_region *an_exe_section(const an_exe *x, const char *name);
/* The file bytes of a region (*n set), NULL when it has none. */
const unsigned char *an_exe_region_bytes(const an_exe *x, const unsigned char *data, size_t len,
                                         const an_exe_region *r, size_t *n);
/* The n file bytes at virtual address addr, or NULL when they are not all
 * inside one region's file bytes. */
const unsigned char *an_exe_at(const an_exe *x, const unsigned char *data, size_t len,
                               uint64_t addr, uint64_t n);
/* An unsigned integer of size bytes (1, 2, 4, 8) in the file's byte order. */
uint64_t an_exe_uint(const an_exe *x, const unsigned char *p, unsigned size);

#endif
