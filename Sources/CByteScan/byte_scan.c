#include "byte_scan.h"
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline int needs_escape(uint8_t c) { return c < 0x20 || c == '"' || c == '\\'; }
static inline int is_ascii_digit(uint8_t c) { return (uint8_t)(c - '0') < 10; }
static inline int is_ascii_alnum(uint8_t c) { return (uint8_t)((c | 0x20) - 'a') < 26 || is_ascii_digit(c); }

#if defined(__SSE2__)
/// Bit i set when v's byte i needs escaping in a JSON string: a quote, a backslash, or under 0x20
/// (unsigned, as a signed compare of both sides with the top bit flipped).
static inline unsigned json_special_mask(__m128i v) {
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    const __m128i flip = _mm_set1_epi8((char)0x80);
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(
        _mm_cmplt_epi8(_mm_xor_si128(v, flip), _mm_xor_si128(space, flip)),
        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));
}
#endif

/// The bytes of an 8-byte word that need escaping, each flagged by its top bit. A flag is exact
/// up to the lowest one (a borrow only moves upwards), and only the lowest is used.
static inline uint64_t escape_flags(uint64_t x) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
    return (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | ((x - ones * 0x20) & ~x)) & highs;
}

size_t logship_json_plain_prefix(const uint8_t *p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= n; i += 16) {
        unsigned mask = json_special_mask(_mm_loadu_si128((const __m128i *)(p + i)));
        if (mask) return i + (size_t)__builtin_ctz(mask);
    }
    if (i < n && n >= 16) {
        // The last sixteen bytes, overlapping those already seen (their flags dropped).
        unsigned mask = json_special_mask(_mm_loadu_si128((const __m128i *)(p + n - 16))) >> (16 - (n - i));
        return mask ? i + (size_t)__builtin_ctz(mask) : n;
    }
#endif
    if (n - i >= 8) {
        // Short strings (names, levels, paths): two overlapping words.
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t flags = escape_flags(w);
        if (flags) return i + (size_t)__builtin_ctzll(flags) / 8;
        if (n - i == 8) return n;
        memcpy(&w, p + n - 8, 8);
        flags = escape_flags(w) >> (8 * (8 - (n - i - 8)));
        return flags ? i + 8 + (size_t)__builtin_ctzll(flags) / 8 : n;
    }
    if (n - i >= 4) {
        // Four to seven bytes (methods, short names): two overlapping half-words, each tested
        // as a word of eight whose upper half is plain ('a').
        uint32_t h;
        memcpy(&h, p + i, 4);
        uint64_t flags = escape_flags(0x6161616100000000ULL | h);
        if (flags) return i + (size_t)__builtin_ctzll(flags) / 8;
        // The last four (those they share with the first four are plain: the lowest flag is exact).
        memcpy(&h, p + n - 4, 4);
        flags = escape_flags(0x6161616100000000ULL | h);
        return flags ? n - 4 + (size_t)__builtin_ctzll(flags) / 8 : n;
    }
    while (i < n && !needs_escape(p[i])) i++;
    return i;
}

size_t logship_find_either(const uint8_t *p, size_t n, uint8_t a, uint8_t b) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)));
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    while (i < n && p[i] != a && p[i] != b) i++;
    return i;
}

#if defined(__SSE2__)
// Of the 16 bytes at p (a zeroed copy when fewer than 16 are readable: a zero is none of these),
// bit i set when byte i is an ASCII letter or digit; a digit; a '+'. (c | 0x20) - 'a' < 26 and
// c - '0' < 10 unsigned, as signed compares of values moved down by 0x80.
struct byte_classes { unsigned alnum, digits, plus; };
static inline struct byte_classes classify16(const uint8_t *p, size_t readable) {
    __m128i v;
    if (readable >= 16) {
        v = _mm_loadu_si128((const __m128i *)p);
    } else {
        uint8_t tail[16] = {0};
        memcpy(tail, p, readable);
        v = _mm_loadu_si128((const __m128i *)tail);
    }
    const __m128i lower = _mm_set1_epi8(0x20), a = _mm_set1_epi8((char)(0x80 - 'a')), zero = _mm_set1_epi8((char)(0x80 - '0'));
    const __m128i letters = _mm_set1_epi8((char)(0x80 + 26)), ten = _mm_set1_epi8((char)(0x80 + 10));
    __m128i letter = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(v, lower), a), letters);
    __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(v, zero), ten);
    struct byte_classes c = {(unsigned)_mm_movemask_epi8(_mm_or_si128(letter, digit)), (unsigned)_mm_movemask_epi8(digit),
                             (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('+')))};
    return c;
}
#endif

uint64_t logship_word_starts(const uint8_t *p, size_t n, int after_alnum) {
    if (n > 64) n = 64;
    uint64_t alnum = 0;
#if defined(__SSE2__)
    for (size_t i = 0; i < n; i += 16) alnum |= (uint64_t)classify16(p + i, n - i).alnum << i;
#else
    for (size_t i = 0; i < n; i++) {
        if (is_ascii_alnum(p[i])) alnum |= (uint64_t)1 << i;
    }
#endif
    return alnum & ~((alnum << 1) | (after_alnum ? 1 : 0));
}

static inline int is_separator(uint8_t c) { return c == ' ' || c == '\t' || c == ','; }

size_t logship_find_separator(const uint8_t *p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), comma = _mm_set1_epi8(',');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpeq_epi8(v, comma))));
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    while (i < n && !is_separator(p[i])) i++;
    return i;
}

size_t logship_word_start(const uint8_t *p, size_t n) {
    size_t i = n;
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), comma = _mm_set1_epi8(',');
    for (; i >= 16; i -= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i - 16));
        int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpeq_epi8(v, comma))));
        if (mask) return i - 16 + (size_t)(32 - __builtin_clz((unsigned)mask));
    }
#endif
    while (i > 0 && !is_separator(p[i - 1])) i--;
    return i;
}

size_t logship_plain_ascii_prefix(const uint8_t *p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        // A set top bit (not ASCII) or a zero byte.
        int mask = _mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, zero)));
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    while (i < n && p[i] != 0 && p[i] < 0x80) i++;
    return i;
}

int logship_hex_lower(const uint8_t *p, size_t n, uint8_t *out) {
    size_t i = 0;
    int nonzero = 0;
#if defined(__SSE2__)
    // Digits are 0x30-0x39 (bit 5 already set), letters a-f / A-F once bit 5 is set: so every hex
    // digit's lower-case form is c | 0x20, and (c | 0x20) - '0' < 10 or (c | 0x20) - 'a' < 6,
    // as signed compares of values moved down by 0x80.
    const __m128i lower = _mm_set1_epi8(0x20), zero = _mm_set1_epi8('0');
    const __m128i d0 = _mm_set1_epi8((char)(0x80 - '0')), a0 = _mm_set1_epi8((char)(0x80 - 'a'));
    const __m128i ten = _mm_set1_epi8((char)(0x80 + 10)), six = _mm_set1_epi8((char)(0x80 + 6));
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i l = _mm_or_si128(v, lower);
        __m128i hex = _mm_or_si128(_mm_cmplt_epi8(_mm_add_epi8(v, d0), ten), _mm_cmplt_epi8(_mm_add_epi8(l, a0), six));
        if (_mm_movemask_epi8(hex) != 0xFFFF) return 0;
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)) != 0xFFFF) nonzero = 1;
        _mm_storeu_si128((__m128i *)(out + i), l);
    }
#endif
    for (; i < n; i++) {
        uint8_t c = p[i], l = c | 0x20;
        if (!((uint8_t)(c - '0') < 10 || (uint8_t)(l - 'a') < 6)) return 0;
        if (c != '0') nonzero = 1;
        out[i] = l;
    }
    return nonzero;
}

#if defined(__SSE2__)
// 16 lower-case hex digits of v, most significant first: the nibbles spread to bytes in order,
// then '0' added, and 'a' - '0' - 10 more where a nibble is over 9.
static inline __m128i hex_digits(uint64_t v) {
    __m128i x = _mm_cvtsi64_si128((long long)__builtin_bswap64(v));
    const __m128i low_nibbles = _mm_set1_epi8(0x0f);
    __m128i high = _mm_and_si128(_mm_srli_epi16(x, 4), low_nibbles);
    __m128i low = _mm_and_si128(x, low_nibbles);
    __m128i nibbles = _mm_unpacklo_epi8(high, low);
    __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));
    return _mm_add_epi8(nibbles, _mm_add_epi8(_mm_set1_epi8('0'), letters));
}
#endif

void logship_hex_u64_pair(uint64_t high, uint64_t low, uint8_t *out) {
#if defined(__SSE2__)
    _mm_storeu_si128((__m128i *)out, hex_digits(high));
    _mm_storeu_si128((__m128i *)(out + 16), hex_digits(low));
#else
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[15 - i] = (uint8_t)digits[(high >> (4 * i)) & 15];
        out[31 - i] = (uint8_t)digits[(low >> (4 * i)) & 15];
    }
#endif
}

static const char decimal_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

size_t logship_decimal_u64(uint64_t v, uint8_t *out) {
    static const uint64_t powers[20] = {
        1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
        1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
        100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
        1000000000000000000ull, 10000000000000000000ull};
    // Digits from the bit length (log10(2) ~ 1233/4096), corrected by one comparison.
    unsigned bits = 64 - (unsigned)__builtin_clzll(v | 1);
    size_t digits = (bits * 1233) >> 12;
    digits += (digits < 20 && v >= powers[digits]) ? 1 : 0;
    if (digits == 0) digits = 1;
    size_t at = digits;
    while (v >= 100) {
        unsigned pair = (unsigned)(v % 100);
        v /= 100;
        at -= 2;
        memcpy(out + at, decimal_pairs + 2 * pair, 2);
    }
    if (v >= 10) {
        memcpy(out + at - 2, decimal_pairs + 2 * v, 2);
    } else {
        out[at - 1] = (uint8_t)('0' + v);
    }
    return digits;
}

size_t logship_json_quote32(const uint8_t *p, size_t n, uint8_t *out) {
#if defined(__SSE2__)
    if (n > 32) return 0;
    __m128i a = _mm_loadu_si128((const __m128i *)p), b = _mm_loadu_si128((const __m128i *)(p + 16));
    uint32_t special = json_special_mask(a) | (json_special_mask(b) << 16);
    if (n < 32) special &= (1u << n) - 1;
    if (special) return 0;
    out[0] = '"';
    _mm_storeu_si128((__m128i *)(out + 1), a);
    _mm_storeu_si128((__m128i *)(out + 17), b);
    out[n + 1] = '"';
    return n + 2;
#else
    (void)p; (void)n; (void)out;
    return 0;
#endif
}

uint64_t logship_mask_word_starts(const uint8_t *p, size_t n, size_t before, const uint32_t *pairs) {
    int after_alnum = before > 0 && is_ascii_alnum(p[-1]);
    uint64_t keep = 0;
#if defined(__SSE2__)
    // Numbers by bit masks: a digit start with three more digits after it (bytes 64..66 count
    // too), or a '+' before it.
    uint64_t alnum = 0, digits = 0, plus = 0, after = 0;
    size_t block = n < 64 ? n : 64;
    for (size_t i = 0; i < block; i += 16) {
        struct byte_classes c = classify16(p + i, n - i);
        alnum |= (uint64_t)c.alnum << i;
        digits |= (uint64_t)c.digits << i;
        plus |= (uint64_t)c.plus << i;
    }
    if (n > 64) after = classify16(p + 64, n - 64).digits;
    uint64_t starts = alnum & ~((alnum << 1) | (uint64_t)after_alnum);
    uint64_t four = digits & (digits >> 1 | after << 63) & (digits >> 2 | after << 62) & (digits >> 3 | after << 61);
    uint64_t plus_before = plus << 1 | (uint64_t)(before > 0 && p[-1] == '+');
    keep = starts & digits & ((pairs[26] & 1) ? ~(uint64_t)0 : (four | plus_before));
    uint64_t letters = starts & ~digits;
#else
    uint64_t letters = logship_word_starts(p, n, after_alnum);
#endif
    while (letters) {
        unsigned i = (unsigned)__builtin_ctzll(letters);
        letters &= letters - 1;
        uint8_t c = p[i];
        if (is_ascii_digit(c)) {  // (without SSE2 only: numbers are kept above otherwise)
            int plus_before = (i > 0 || before > 0) && p[(long)i - 1] == '+';
            int four = i + 3 < n && is_ascii_digit(p[i + 1]) && is_ascii_digit(p[i + 2]) && is_ascii_digit(p[i + 3]);
            if ((pairs[26] & 1) || plus_before || four) keep |= (uint64_t)1 << i;
            continue;
        }
        uint32_t seconds = pairs[(c | 0x20) - 'a'];
        if (!seconds) continue;
        uint8_t second = i + 1 < n ? (uint8_t)(p[i + 1] | 0x20) : 0;
        unsigned bit = (uint8_t)(second - 'a') < 26 ? (unsigned)(second - 'a') : 26;
        if (seconds >> bit & 1) keep |= (uint64_t)1 << i;
    }
    return keep;
}
