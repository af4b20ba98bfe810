package dev.loupe.sae.io;

import java.lang.foreign.MemorySegment;
import java.util.stream.LongStream;
import java.util.zip.CRC32;

/**
 * CRC-32 (the zip polynomial) of a possibly huge memory-mapped region, computed in parallel chunks and combined
 * with the GF(2) shift operator, so checking a multi-gigabyte stored npz entry costs one pass over the file
 * split across the cores rather than one core's time.
 */
final class Crc32 {
    /** Below this a single pass is cheaper than splitting. */
    private static final long CHUNK = 64L << 20;
    /** The reflected zip polynomial. */
    private static final long POLY = 0xEDB88320L;

    private Crc32() {}

    static long of(MemorySegment data) {
        long n = data.byteSize();
        if (n <= CHUNK) return serial(data);
        int chunks = (int) ((n + CHUNK - 1) / CHUNK);
        long[] crcs = LongStream.range(0, chunks).parallel()
                .map(i -> serial(data.asSlice(i * CHUNK, Math.min(CHUNK, n - i * CHUNK))))
                .toArray();
        long crc = crcs[0];
        for (int i = 1; i < chunks; i++) crc = combine(crc, crcs[i], Math.min(CHUNK, n - i * CHUNK));
        return crc;
    }

    private static long serial(MemorySegment s) {
        CRC32 c = new CRC32();
        for (long at = 0; at < s.byteSize(); at += Integer.MAX_VALUE) {
            c.update(s.asSlice(at, Math.min(Integer.MAX_VALUE, s.byteSize() - at)).asByteBuffer());
        }
        return c.getValue();
    }

    /**
     * The CRC of A followed by B from crc(A), crc(B) and B's length: crc(A) is advanced through len(B) zero bytes
     * by repeated squaring of the one-zero-bit shift matrix over GF(2), then xored with crc(B).
     */
    static long combine(long crcA, long crcB, long lengthB) {
        if (lengthB <= 0) return crcA;
        long[] odd = new long[32];
        long[] even = new long[32];
        odd[0] = POLY;
        for (int i = 1; i < 32; i++) odd[i] = 1L << (i - 1);
        square(even, odd);   // two zero bits
        square(odd, even);   // four zero bits
        long crc = crcA;
        long len = lengthB;
        // Each round squares the operator once more: eight zero bits (one byte), then two bytes, four, ...
        do {
            square(even, odd);
            if ((len & 1) != 0) crc = times(even, crc);
            len >>>= 1;
            if (len == 0) break;
            square(odd, even);
            if ((len & 1) != 0) crc = times(odd, crc);
            len >>>= 1;
        } while (len != 0);
        return crc ^ crcB;
    }

    private static long times(long[] matrix, long vector) {
        long sum = 0;
        for (int i = 0; vector != 0; i++, vector >>>= 1) if ((vector & 1) != 0) sum ^= matrix[i];
        return sum;
    }

    private static void square(long[] result, long[] matrix) {
        for (int i = 0; i < 32; i++) result[i] = times(matrix, matrix[i]);
    }
}
