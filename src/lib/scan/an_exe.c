/* an_exe.c - ELF, Mach-O and PE headers, as much as an_exe.h promises. */
#include "scan/an_exe.h"

#include <string.h>

static uint64_t rd(const unsigned char *p, unsigned size, bool be)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[be ? i : size - 1 - i] << (8 * (size - 1 - i));
    return v;
}

uint64_t an_exe_uint(const an_exe *x, const unsigned char *p, unsigned size)
{
    return rd(p, size, x->big_endian);
}

/* Is [off, off+n) inside len? */
static bool in_file(uint64_t off, uint64_t n, size_t len)
{
    return off <= len && n <= len - off;
}

static void add_region(an_exe *x, const char *name, size_t name_max, bool segment, bool writable,
                       uint64_t addr, uint64_t memsz, uint64_t off, uint64_t filesz, size_t len)
{
    if (x->n_regions >= AN_EXE_REGIONS_MAX)
        return;
    if (!in_file(off, filesz, len))
        filesz = 0; /* no file bytes we can trust (e.g. .bss, or cut) */
    an_exe_region *r = &x->regions[x->n_regions++];
    memset(r, 0, sizeof *r);
    size_t n = 0;
    while (name && n < name_max && n < sizeof r->name - 1 && name[n])
        n++;
    if (name)
        memcpy(r->name, name, n);
    r->segment = segment;
    r->writable = writable;
    r->addr = addr;
    r->memsz = memsz;
    r->off = off;
    r->filesz = filesz;
}

static int parse_elf(const unsigned char *d, size_t len, an_exe *x)
{
    if (len < 0x34)
        return -1;
    bool is64 = d[4] == 2;
    if ((d[4] != 1 && d[4] != 2) || (d[5] != 1 && d[5] != 2))
        return -1;
    x->big_endian = d[5] == 2;
    x->ptr_size = is64 ? 8 : 4;
    bool be = x->big_endian;
    if (is64 && len < 0x40)
        return -1;
    uint64_t phoff = is64 ? rd(d + 0x20, 8, be) : rd(d + 0x1C, 4, be);
    uint64_t shoff = is64 ? rd(d + 0x28, 8, be) : rd(d + 0x20, 4, be);
    unsigned phentsize = (unsigned)rd(d + (is64 ? 0x36 : 0x2A), 2, be);
    unsigned phnum = (unsigned)rd(d + (is64 ? 0x38 : 0x2C), 2, be);
    unsigned shentsize = (unsigned)rd(d + (is64 ? 0x3A : 0x2E), 2, be);
    unsigned shnum = (unsigned)rd(d + (is64 ? 0x3C : 0x30), 2, be);
    unsigned shstrndx = (unsigned)rd(d + (is64 ? 0x3E : 0x32), 2, be);
    unsigned ph_min = is64 ? 56 : 32, sh_min = is64 ? 64 : 40;
    if (phnum && phentsize >= ph_min && in_file(phoff, (uint64_t)phnum * phentsize, len)) {
        for (unsigned i = 0; i < phnum; i++) {
            const unsigned char *p = d + phoff + (uint64_t)i * phentsize;
            if (rd(p, 4, be) != 1) /* PT_LOAD */
                continue;
            uint64_t flags = is64 ? rd(p + 4, 4, be) : rd(p + 24, 4, be);
            uint64_t off = is64 ? rd(p + 8, 8, be) : rd(p + 4, 4, be);
            uint64_t vaddr = is64 ? rd(p + 16, 8, be) : rd(p + 8, 4, be);
            uint64_t filesz = is64 ? rd(p + 32, 8, be) : rd(p + 16, 4, be);
            uint64_t memsz = is64 ? rd(p + 40, 8, be) : rd(p + 20, 4, be);
            /* PF_W without PF_X: data */
            add_region(x, NULL, 0, true, (flags & 3) == 2, vaddr, memsz, off, filesz, len);
        }
    }
    if (shnum && shentsize >= sh_min && in_file(shoff, (uint64_t)shnum * shentsize, len) &&
        shstrndx < shnum) {
        const unsigned char *strsh = d + shoff + (uint64_t)shstrndx * shentsize;
        uint64_t str_off = is64 ? rd(strsh + 24, 8, be) : rd(strsh + 16, 4, be);
        uint64_t str_size = is64 ? rd(strsh + 32, 8, be) : rd(strsh + 20, 4, be);
        if (!in_file(str_off, str_size, len))
            str_size = 0;
        for (unsigned i = 0; i < shnum; i++) {
            const unsigned char *s = d + shoff + (uint64_t)i * shentsize;
            uint64_t name = rd(s, 4, be);
            uint64_t type = rd(s + 4, 4, be);
            uint64_t flags = is64 ? rd(s + 8, 8, be) : rd(s + 8, 4, be);
            uint64_t addr = is64 ? rd(s + 16, 8, be) : rd(s + 12, 4, be);
            uint64_t off = is64 ? rd(s + 24, 8, be) : rd(s + 16, 4, be);
            uint64_t size = is64 ? rd(s + 32, 8, be) : rd(s + 20, 4, be);
            const char *nm = name < str_size ? (const char *)d + str_off + name : NULL;
            size_t nm_max = nm ? (size_t)(str_size - name) : 0;
            add_region(x, nm, nm_max, false, (flags & 1) != 0, addr, size, off,
                       type == 8 ? 0 : size, len); /* SHT_NOBITS: no file bytes */
        }
    }
    return 0;
}

static int parse_macho(const unsigned char *d, size_t len, an_exe *x)
{
    uint32_t magic_le = (uint32_t)rd(d, 4, false);
    bool is64, be;
    if (magic_le == 0xfeedface || magic_le == 0xfeedfacf) {
        be = false;
        is64 = magic_le == 0xfeedfacf;
    } else if (magic_le == 0xcefaedfe || magic_le == 0xcffaedfe) {
        be = true;
        is64 = magic_le == 0xcffaedfe;
    } else {
        return -1;
    }
    x->big_endian = be;
    x->ptr_size = is64 ? 8 : 4;
    size_t hdr = is64 ? 32 : 28;
    if (len < hdr)
        return -1;
    uint64_t ncmds = rd(d + 16, 4, be);
    uint64_t off = hdr;
    for (uint64_t c = 0; c < ncmds && c < 4096; c++) {
        if (!in_file(off, 8, len))
            break;
        uint64_t cmd = rd(d + off, 4, be), cmdsize = rd(d + off + 4, 4, be);
        if (cmdsize < 8 || !in_file(off, cmdsize, len))
            break;
        const unsigned char *p = d + off;
        if ((cmd == 0x19 && cmdsize >= 72) || (cmd == 0x1 && cmdsize >= 56)) {
            bool s64 = cmd == 0x19;
            uint64_t vmaddr = s64 ? rd(p + 24, 8, be) : rd(p + 24, 4, be);
            uint64_t vmsize = s64 ? rd(p + 32, 8, be) : rd(p + 28, 4, be);
            uint64_t fileoff = s64 ? rd(p + 40, 8, be) : rd(p + 32, 4, be);
            uint64_t filesize = s64 ? rd(p + 48, 8, be) : rd(p + 36, 4, be);
            uint64_t initprot = s64 ? rd(p + 60, 4, be) : rd(p + 44, 4, be);
            uint64_t nsects = s64 ? rd(p + 64, 4, be) : rd(p + 48, 4, be);
            add_region(x, (const char *)p + 8, 16, true, (initprot & 2) != 0, vmaddr, vmsize,
                       fileoff, filesize, len);
            size_t shdr = s64 ? 80 : 68, first = s64 ? 72 : 56;
            for (uint64_t i = 0; i < nsects && first + (i + 1) * shdr <= cmdsize; i++) {
                const unsigned char *s = p + first + i * shdr;
                uint64_t addr = s64 ? rd(s + 32, 8, be) : rd(s + 32, 4, be);
                uint64_t size = s64 ? rd(s + 40, 8, be) : rd(s + 36, 4, be);
                uint64_t soff = s64 ? rd(s + 48, 4, be) : rd(s + 40, 4, be);
                uint64_t flags = s64 ? rd(s + 64, 4, be) : rd(s + 56, 4, be);
                bool zerofill = (flags & 0xff) == 1 || (flags & 0xff) == 0xc;
                add_region(x, (const char *)s, 16, false, (initprot & 2) != 0, addr, size, soff,
                           zerofill ? 0 : size, len);
            }
        }
        off += cmdsize;
    }
    return 0;
}

static int parse_pe(const unsigned char *d, size_t len, an_exe *x)
{
    if (len < 0x40)
        return -1;
    uint64_t pe = rd(d + 0x3C, 4, false);
    if (!in_file(pe, 24, len) || memcmp(d + pe, "PE\0\0", 4) != 0)
        return -1;
    const unsigned char *coff = d + pe + 4;
    unsigned nsect = (unsigned)rd(coff + 2, 2, false);
    unsigned optsize = (unsigned)rd(coff + 16, 2, false);
    uint64_t opt = pe + 24;
    if (!in_file(opt, optsize, len) || optsize < 2)
        return -1;
    unsigned magic = (unsigned)rd(d + opt, 2, false);
    uint64_t base;
    if (magic == 0x20b && optsize >= 32) {
        base = rd(d + opt + 24, 8, false);
        x->ptr_size = 8;
    } else if (magic == 0x10b && optsize >= 32) {
        base = rd(d + opt + 28, 4, false);
        x->ptr_size = 4;
    } else {
        return -1;
    }
    x->big_endian = false;
    uint64_t st = opt + optsize;
    for (unsigned i = 0; i < nsect && in_file(st + (uint64_t)i * 40, 40, len); i++) {
        const unsigned char *s = d + st + (uint64_t)i * 40;
        uint64_t vsize = rd(s + 8, 4, false), vaddr = rd(s + 12, 4, false);
        uint64_t rawsize = rd(s + 16, 4, false), rawoff = rd(s + 20, 4, false);
        uint64_t ch = rd(s + 36, 4, false);
        add_region(x, (const char *)s, 8, true, (ch & 0x80000000u) != 0, base + vaddr,
                   vsize ? vsize : rawsize, rawoff, rawsize < vsize || !vsize ? rawsize : vsize,
                   len);
    }
    return 0;
}

bool an_exe_is(const unsigned char *d, size_t len)
{
    if (len < 4)
        return false;
    if (memcmp(d, "\x7f" "ELF", 4) == 0 || (d[0] == 'M' && d[1] == 'Z'))
        return true;
    uint32_t m = (uint32_t)rd(d, 4, false);
    return m == 0xfeedface || m == 0xfeedfacf || m == 0xcefaedfe || m == 0xcffaedfe;
}

int an_exe_parse(const unsigned char *d, size_t len, an_exe *x)
{
    memset(x, 0, sizeof *x);
    if (len < 4)
        return -1;
    if (memcmp(d, "\x7f" "ELF", 4) == 0) {
        x->format = AN_EXE_ELF;
        return parse_elf(d, len, x);
    }
    if (d[0] == 'M' && d[1] == 'Z') {
        x->format = AN_EXE_PE;
        return parse_pe(d, len, x);
    }
    x->format = AN_EXE_MACHO;
    return parse_macho(d, len, x);
}

const an_exe_region *an_exe_section(const an_exe *x, const char *name)
{
    for (size_t i = 0; i < x->n_regions; i++)
        if ((!x->regions[i].segment || x->format == AN_EXE_PE) &&
            strcmp(x->regions[i].name, name) == 0)
            return &x->regions[i];
    return NULL;
}

const unsigned char *an_exe_region_bytes(const an_exe *x, const unsigned char *data, size_t len,
                                         const an_exe_region *r, size_t *n)
{
    (void)x;
    if (!r->filesz || !in_file(r->off, r->filesz, len))
        return NULL;
    *n = (size_t)r->filesz;
    return data + r->off;
}

const unsigned char *an_exe_at(const an_exe *x, const unsigned char *data, size_t len,
                               uint64_t addr, uint64_t n)
{
    for (size_t i = 0; i < x->n_regions; i++) {
        const an_exe_region *r = &x->regions[i];
        if (!r->filesz || addr < r->addr || addr - r->addr >= r->filesz)
            continue;
        uint64_t rel = addr - r->addr;
        if (n > r->filesz - rel)
            continue;
        if (!in_file(r->off + rel, n, len))
            continue;
        return data + r->off + rel;
    }
    return NULL;
}
