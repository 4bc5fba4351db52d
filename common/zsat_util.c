/*  zsat_util - small helpers every component uses: error values, event names, name checks
    and the CRC-32 that guards payloads and log records.
*/
#include "zsat.h"
#include <stdarg.h>
#include <strings.h>
#include <endian.h>
#include <pthread.h>

static const char *s_event_names[ZSAT_EV_COUNT] = {
    "NONE",        "INIT",      "BOUNCE", "ACK",     "SEND",      "BEGIN",   "END",
    "HAPPY_END",   "PROPAGATE", "ERROR",  "TIMEOUT", "O_TIMEOUT", "FAILURE", "HEARTBEAT",
    "DEAD_LETTER", "RETRY",     "ALERT",  "SCALE",   "STORED"};

int
zsat_fail (zsat_error_t *err, int code, const char *format, ...)
{
    if (err) {
        err->code = code;
        va_list args;
        va_start (args, format);
        vsnprintf (err->text, sizeof err->text, format, args);
        va_end (args);
    }
    return -1;
}

const char *
zsat_event_name (int event)
{
    if (event < 0 || event >= ZSAT_EV_COUNT)
        return "?";
    return s_event_names[event];
}

zsat_event_t
zsat_event_from_name (const char *name)
{
    for (int e = 1; e < ZSAT_EV_COUNT; e++)
        if (name && strcasecmp (name, s_event_names[e]) == 0)
            return (zsat_event_t)e;
    return ZSAT_EV_NONE;
}

bool
zsat_name_valid (const char *name)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len >= ZSAT_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum ((unsigned char)*c) && *c != '_' && *c != '.' && *c != '-')
            return false;
    return true;
}

//  Slicing-by-8: eight tables let the loop consume 8 bytes per step; the CRC is on every
//  vector's decode path, where a byte-wise loop cost ~190 ns per 100-byte payload.
static uint32_t s_crc_table[8][256];
static pthread_once_t s_crc_once = PTHREAD_ONCE_INIT;

static void
s_crc_init (void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        s_crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int t = 1; t < 8; t++)
            s_crc_table[t][n] =
                s_crc_table[0][s_crc_table[t - 1][n] & 0xff] ^ (s_crc_table[t - 1][n] >> 8);
}

uint32_t
zsat_crc32 (uint32_t crc, const void *data, size_t size)
{
    pthread_once (&s_crc_once, s_crc_init);
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
    while (size >= 8) {
        uint32_t lo, hi;
        memcpy (&lo, p, 4);
        memcpy (&hi, p + 4, 4);
        lo = le32toh (lo) ^ crc;
        hi = le32toh (hi);
        crc = s_crc_table[7][lo & 0xff] ^ s_crc_table[6][(lo >> 8) & 0xff] ^
              s_crc_table[5][(lo >> 16) & 0xff] ^ s_crc_table[4][lo >> 24] ^
              s_crc_table[3][hi & 0xff] ^ s_crc_table[2][(hi >> 8) & 0xff] ^
              s_crc_table[1][(hi >> 16) & 0xff] ^ s_crc_table[0][hi >> 24];
        p += 8;
        size -= 8;
    }
    while (size--)
        crc = s_crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

//  The byte-wise definition, kept to check the fast path against.
static uint32_t
s_crc32_bytewise (uint32_t crc, const uint8_t *p, size_t size)
{
    crc = ~crc;
    while (size--)
        crc = s_crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

void
zsat_util_test (bool verbose)
{
    printf (" * zsat_util: ");
    assert (zsat_crc32 (0, "123456789", 9) == 0xCBF43926u);
    assert (zsat_crc32 (zsat_crc32 (0, "1234", 4), "56789", 5) == 0xCBF43926u);
    assert (zsat_crc32 (0, "", 0) == 0);
    uint8_t bytes[300];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 7 + 3);
    for (size_t offset = 0; offset < 9; offset++)
        for (size_t size = 0; size + offset <= sizeof bytes; size += 13)
            assert (zsat_crc32 (5, bytes + offset, size) ==
                    s_crc32_bytewise (5, bytes + offset, size));
    assert (zsat_event_from_name ("happy_end") == ZSAT_EV_HAPPY_END);
    assert (zsat_event_from_name ("nope") == ZSAT_EV_NONE);
    for (int e = 1; e < ZSAT_EV_COUNT; e++)
        assert ((int)zsat_event_from_name (zsat_event_name (e)) == e);
    assert (streq (zsat_event_name (999), "?"));
    assert (zsat_name_valid ("host-1.a_b"));
    assert (!zsat_name_valid (""));
    assert (!zsat_name_valid ("a:b"));
    assert (!zsat_name_valid ("a/b"));
    char longname[80];
    memset (longname, 'x', 64);
    longname[64] = 0;
    assert (!zsat_name_valid (longname));
    longname[63] = 0;
    assert (zsat_name_valid (longname));
    zsat_error_t err = {0};
    assert (zsat_fail (&err, ZSAT_E_SIZE, "field %s too long", "where") == -1);
    assert (err.code == ZSAT_E_SIZE && streq (err.text, "field where too long"));
    printf ("OK\n");
}
