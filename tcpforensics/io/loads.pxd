# A 32-bit number of a capture's headers read in one load (no module: inline C only).
#
# pcap and pcapng write their numbers in the byte order of the machine that wrote the
# file.  Assembled byte by byte with shifts (reader._u32), as gcc compiled it, a number
# cost some fifteen instructions: a pcapng packet block reads seven of them.  One
# unaligned load, byte-swapped when the file's order is not the machine's, is two.
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    static inline long long tcpf_load_u32(const unsigned char *p, int little) {
        uint32_t v;
        memcpy(&v, p, 4);  /* (compiles to one load: no alignment needed) */
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        if (little)
    #else
        if (!little)
    #endif
            v = __builtin_bswap32(v);
        return (long long)v;
    }
    """
    long long load_u32 "tcpf_load_u32"(const unsigned char *p, bint little) noexcept nogil
