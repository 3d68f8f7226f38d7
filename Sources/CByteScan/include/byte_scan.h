// Byte scans of the agent's per-line work, sixteen bytes at a time with SSE2 (every x86-64 CPU
// has it; other CPUs take the plain loop). Swift's SIMD types compiled to slower code here.
#ifndef LOGSHIP_BYTE_SCAN_H
#define LOGSHIP_BYTE_SCAN_H
#include <stddef.h>
#include <stdint.h>

/// The number of leading bytes of p[0..<n] that a JSON string holds as they are (no control
/// character, no `"`, no `\`).
size_t logship_json_plain_prefix(const uint8_t *p, size_t n);

/// The index of the first `a` or `b` in p[0..<n]; n when there is none.
size_t logship_find_either(const uint8_t *p, size_t n, uint8_t a, uint8_t b);

/// Bit k set when a word (a run of ASCII letters and digits) starts at p[k], for the first
/// min(n, 64) bytes (the rest 0); `after_alnum`: p[-1] is a letter or digit.
uint64_t logship_word_starts(const uint8_t *p, size_t n, int after_alnum);

/// The masker's words worth a look among p[0..<min(n, 64)]: word starts (as above, `before`
/// bytes readable before p) beginning with a letter whose entry in `pairs` (pairs[0] for 'a' or
/// 'A', ...) has the bit of the word's second byte (bit 0 = 'a' or 'A', ..., bit 26 = any other
/// byte, or none), and numbers: digit starts with three more digits after them (within n) or a
/// '+' before them, or all of them when bit 0 of pairs[26] is set. A word it leaves out is one
/// the masker's word loop would pass over unchanged.
uint64_t logship_mask_word_starts(const uint8_t *p, size_t n, size_t before, const uint32_t *pairs);

/// The index of the first space, tab or comma in p[0..<n] (a field extraction word's end); n if none.
size_t logship_find_separator(const uint8_t *p, size_t n);

/// Where the word ending at p[n] starts: the index after the last space, tab or comma in
/// p[0..<n]; 0 if none.
size_t logship_word_start(const uint8_t *p, size_t n);

/// The number of leading bytes of p[0..<n] that are ASCII and not NUL.
size_t logship_plain_ascii_prefix(const uint8_t *p, size_t n);

/// A hex id: 1 when p[0..<n] are all hex digits (either case) and not all `0` (W3C: an
/// all-zero trace or span id is invalid), with their lower-case form written to out[0..<n];
/// 0 otherwise (out then holds no meaning).
int logship_hex_lower(const uint8_t *p, size_t n, uint8_t *out);

/// A short text as a JSON string: when none of p[0..<n] (n <= 32) needs escaping, writes it
/// quoted to out (which must have room for 34 bytes) and returns n + 2; otherwise returns 0 and
/// the caller escapes. p must have 32 readable bytes (an InlineText's storage).
size_t logship_json_quote32(const uint8_t *p, size_t n, uint8_t *out);

/// The decimal digits of v written to out (room for 20), their count returned.
size_t logship_decimal_u64(uint64_t v, uint8_t *out);

/// `high` then `low` as 32 lower-case hex digits, most significant first (event ids).
void logship_hex_u64_pair(uint64_t high, uint64_t low, uint8_t *out);

#endif
