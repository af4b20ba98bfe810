package dev.loupe.model.cpu;

import dev.loupe.model.KQuantPacker;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * K-quant decoding against values computed from the format's definition: hand-assembled blocks with hand-computed
 * values, and random blocks packed by {@link KQuantPacker} from logical scales, mins and quants whose values are
 * computed from those logical numbers (never from the bytes). Scalar reads, row reads and the vector decoders must
 * give identical floats; the fused matrix-vector kernels must agree with the dot product of those floats.
 */
class KQuantBlocksTest {
    private static CpuBackend backend;

    @BeforeAll
    static void start() { backend = new CpuBackend(2); }

    @AfterAll
    static void stop() { backend.close(); }

    private static WeightTensor oneBlock(DType type, int[] bytes) {
        byte[] b = new byte[type.blockBytes()];
        for (int i = 0; i < bytes.length; i += 2) b[bytes[i]] = (byte) bytes[i + 1];
        return new WeightTensor("hand", type, new long[]{256}, MemorySegment.ofArray(b), null);
    }

    /** Q4_K by hand: d = 1, dmin = 0.5; sub-block 0: scale 2, min 3; sub-block 4: scale 1 + 16 = 17, min 5. */
    @Test
    void q4kHandAssembledBlock() {
        WeightTensor w = oneBlock(DType.Q4_K, new int[]{
                0, 0x00, 1, 0x3c,          // d = 1.0
                2, 0x00, 3, 0x38,          // dmin = 0.5
                4, 0x42,                   // scale 0 = 2; top bits of scale 4 = 1
                8, 0x03,                   // min 0 = 3
                12, 0x51,                  // scale 4 low nibble 1, min 4 low nibble 5
                16, 0x7a,                  // value 0 = 10 (low nibble), value 32 = 7 (high nibble)
                16 + 64, 0x0c});           // value 128 (sub-block 4, low nibble of byte 64) = 12
        assertEquals(1f * 2 * 10 - 0.5f * 3, w.get(0));
        assertEquals(0f, w.get(32));               // sub-block 1: scale 0, min 0
        assertEquals(-1.5f, w.get(1));             // q = 0: −dmin·min
        assertEquals(17f * 12 - 0.5f * 5, w.get(128));
        assertEquals(-2.5f, w.get(129));
        assertDecoderAgrees(w);
    }

    /** Q5_K by hand: fifth bits at 16.., nibbles at 48..; bit s of byte l is the high bit of value 32s + l. */
    @Test
    void q5kHandAssembledBlock() {
        WeightTensor w = oneBlock(DType.Q5_K, new int[]{
                0, 0x00, 1, 0x3c,          // d = 1.0
                2, 0x00, 3, 0x38,          // dmin = 0.5
                4, 0x01, 5, 0x02, 6, 0x03, // scales 0, 1, 2 = 1, 2, 3
                8, 0x04,                   // min 0 = 4
                16, 0x05,                  // fifth bits of values 0 (s=0) and 64 (s=2)
                17, 0x02,                  // fifth bit of value 33 (s=1, l=1)
                48, 0x21,                  // value 0 = 1, value 32 = 2
                49, 0x30,                  // value 1 = 0, value 33 = 3
                48 + 32, 0x09});           // value 64 = 9
        assertEquals(1f * (16 + 1) - 0.5f * 4, w.get(0));
        assertEquals(-2f, w.get(1));
        assertEquals(2f * 2, w.get(32));
        assertEquals(2f * (16 + 3), w.get(33));
        assertEquals(3f * (16 + 9), w.get(64));
        assertDecoderAgrees(w);
    }

    /** Q6_K by hand: low nibbles at 0.., high pairs at 128.., int8 scales at 192, d at 208; value = d·scale·(q − 32). */
    @Test
    void q6kHandAssembledBlock() {
        WeightTensor w = oneBlock(DType.Q6_K, new int[]{
                0, 0x5f,                   // value 0 low nibble 15, value 64 low nibble 5
                32, 0x21,                  // value 32 low nibble 1, value 96 low nibble 2
                128, 0b11_10_01_00,        // high pairs: value 0: 0, value 32: 1, value 64: 2, value 96: 3
                64 + 1, 0x04,              // value 129 (half 1, quarter 0, l = 1) low nibble 4
                128 + 32 + 1, 0x03,        // value 129 high pair 3
                192, 0x02, 194, 0xfd,      // scale 0 = 2, scale 2 (values 32..47) = −3
                196, 0x01, 198, 0x7f,      // scale 4 = 1, scale 6 (values 96..111) = 127
                200, 0x80,                 // scale 8 (values 128..143) = −128
                208, 0x00, 209, 0x38});    // d = 0.5
        assertEquals(0.5f * 2 * (15 - 32), w.get(0));
        assertEquals(0.5f * -3 * (16 + 1 - 32), w.get(32));
        assertEquals(0.5f * 1 * (32 + 5 - 32), w.get(64));
        assertEquals(0.5f * 127 * (48 + 2 - 32), w.get(96));
        assertEquals(0.5f * -128 * (48 + 4 - 32), w.get(129));
        assertEquals(0.5f * 2 * -32, w.get(1));
        assertDecoderAgrees(w);
    }

    private static void assertDecoderAgrees(WeightTensor w) {
        float[] got = new float[256];
        RowKernels.of(w.dtype()).decode(w.data(), 256, 0, 0, 256, got, 0);
        for (int i = 0; i < 256; i++) assertEquals(w.get(i), got[i], "decoded value " + i);
    }

    private static KQuantPacker.Packed randomTensor(DType type, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        KQuantPacker.Block[] blocks = new KQuantPacker.Block[rows * cols / 256];
        for (int k = 0; k < blocks.length; k++) blocks[k] = KQuantPacker.random(type, rnd);
        return KQuantPacker.tensor("random." + type, type, rows, cols, blocks);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void everyReadGivesTheDefinedFloatsExactly(DType type) {
        int rows = 6, cols = 1536;
        KQuantPacker.Packed p = randomTensor(type, rows, cols, 17);
        WeightTensor w = p.tensor();
        for (int i = 0; i < rows * cols; i++) {
            if (Float.floatToRawIntBits(w.get(i)) != Float.floatToRawIntBits(p.values()[i])) {
                fail(type + " get(" + i + ") = " + w.get(i) + ", defined value " + p.values()[i]);
            }
        }
        float[] row = new float[cols];
        float[] part = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.readRow(r, row, 0);
            for (int c = 0; c < cols; c++) assertEquals(p.values()[r * cols + c], row[c], type + " readRow " + r + " col " + c);
            // Slices that start and end inside super-blocks, at every sub-block boundary the kernels may use.
            for (int col = 0; col < cols; col += 32 * (1 + r)) {
                int count = Math.min(cols - col, 32 * (3 + 2 * r));
                RowKernels.of(type).decode(w.data(), cols, r, col, count, part, 0);
                for (int j = 0; j < count; j++) {
                    assertEquals(p.values()[r * cols + col + j], part[j], type + " decode row " + r + " col " + (col + j));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void matrixVectorKernelsAgreeWithTheDotProductOfTheDefinedFloats(DType type) {
        int rows = 23, cols = 2304;   // 2B's width: nine super-blocks; four-row passes and leftover rows
        KQuantPacker.Packed p = randomTensor(type, rows, cols, 29);
        float[] x = TestTensors.randomFloats(cols, 31);
        float[] fused = new float[rows], decoded = new float[rows];
        backend.matmul(p.tensor(), x, 1, fused);
        DecodedRows.matVec(RowKernels.of(type), p.tensor().data(), cols, x, 0, decoded, 0, 0, rows, new float[DecodedRows.SCRATCH]);
        for (int o = 0; o < rows; o++) {
            double dot = 0, mag = 0;
            for (int i = 0; i < cols; i++) {
                double t = (double) p.values()[o * cols + i] * x[i];
                dot += t;
                mag += Math.abs(t);
            }
            double tol = 4e-6 * mag + 1e-6;
            assertEquals(dot, fused[o], tol, type + " fused row " + o);
            assertEquals(dot, decoded[o], tol, type + " decoded row " + o);
        }
    }
}
