package dev.loupe.tornado;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.Floats;
import dev.loupe.model.tensor.WeightTensor;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The model's weight matrices as device arrays ("pools"), each matrix in the precision it is stored in on the device.
 *
 * <p>BF16 and F16 checkpoints stay 16-bit (their bits copied as they are: lossless, half the memory of FP32) in
 * {@link ShortArray} pools, decoded inside the matmul kernels and accumulated in FP32. F32 checkpoints stay F32
 * and quantised GGUF tensors are dequantised to F32, unless {@link Policy#BF16} asks for BF16 (rounded to nearest
 * even, as PyTorch does). TornadoVM's own {@code BFloat16Array} decodes only on its CUDA backend, and OpenCL C has
 * no bit reinterpretation that TornadoVM emits, so the kernels decode 16-bit floats with integer operations and
 * one table of signed powers of two ({@link #decodeTable()}); every value comes out exactly.
 *
 * <p>Matrices are packed one after another; one that does not fit the rest of a pool is split by row ranges across
 * pools, so no matrix is too big (the 27B's 256000 × 4608 embedding included) as long as one row fits a pool.
 * Each {@link Part} is one matmul launch over a row range of the output.
 */
final class DeviceWeights {
    /** Default largest pool in bytes: device allocators (OpenCL's CL_DEVICE_MAX_MEM_ALLOC_SIZE) cap single arrays. */
    static final long DEFAULT_POOL_BYTES = 1L << 30;

    /** Which precision matrices get on the device ({@code -Dloupe.tornado.weights=auto|f32|bf16}). */
    enum Policy {
        /** 16-bit checkpoints as they are, everything else F32. */
        AUTO,
        /** Everything F32 (twice the memory of a 16-bit checkpoint). */
        F32,
        /** Everything 16-bit: F16 stays F16, the rest becomes BF16 (lossy for F32 and quantised weights). */
        BF16;

        static Policy fromProperty() {
            String v = System.getProperty("loupe.tornado.weights", "auto");
            try {
                return valueOf(v.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new BadInputException("-Dloupe.tornado.weights must be auto, f32 or bf16, got '" + v + "'");
            }
        }

        Precision precisionOf(DType stored) {
            if (this == F32) return Precision.F32;
            if (stored == DType.F16) return Precision.F16;
            if (stored == DType.BF16 || this == BF16) return Precision.BF16;
            return Precision.F32;
        }
    }

    /**
     * A device storage precision. For the 16-bit ones: the bit layout the kernels decode (value =
     * {@code mantissa-with-implicit-bit · table[sign and exponent bits]}) and where its part of the table starts.
     */
    enum Precision {
        F32(0, 0, 0),
        BF16(7, 8, 0),
        F16(10, 5, 512);

        final int mantissaBits;
        final int exponentBits;
        final int tableOffset;

        Precision(int mantissaBits, int exponentBits, int tableOffset) {
            this.mantissaBits = mantissaBits;
            this.exponentBits = exponentBits;
            this.tableOffset = tableOffset;
        }

        boolean half() { return this != F32; }

        int mantissaMask() { return (1 << mantissaBits) - 1; }

        int exponentMask() { return (1 << exponentBits) - 1; }

        /** Entries of its table: one per (sign, exponent). */
        int tableSize() { return half() ? 2 << exponentBits : 0; }
    }

    /** Floats in {@link #decodeTable()}: BF16's 512 entries, then F16's 64. */
    static final int TABLE_FLOATS = 512 + 64;

    /**
     * For each 16-bit format and each (sign, exponent) pattern {@code hi}: {@code ±2^(max(e, 1) − bias − mantissaBits)}.
     * Multiplying the mantissa (with the implicit bit added when e ≠ 0) by it is exact, subnormals included.
     */
    static float[] decodeTable() {
        float[] t = new float[TABLE_FLOATS];
        for (Precision p : new Precision[]{Precision.BF16, Precision.F16}) {
            int bias = (1 << (p.exponentBits - 1)) - 1;
            for (int hi = 0; hi < p.tableSize(); hi++) {
                int e = hi & p.exponentMask();
                float magnitude = Math.scalb(1f, Math.max(e, 1) - bias - p.mantissaBits);
                t[p.tableOffset + hi] = (hi >> p.exponentBits) == 1 ? -magnitude : magnitude;
            }
        }
        return t;
    }

    /** The device arrays: FP32 or 16-bit. */
    sealed interface Pool permits FloatPool, HalfPool {
        long bytes();
    }

    record FloatPool(FloatArray values) implements Pool {
        @Override public long bytes() { return (long) values.getSize() * Float.BYTES; }
    }

    record HalfPool(ShortArray values) implements Pool {
        @Override public long bytes() { return (long) values.getSize() * Short.BYTES; }
    }

    /** Rows {@code [firstRow, firstRow + rows)} of a matrix, at {@code offset} (values) in pool {@code pool}. */
    record Part(int pool, int firstRow, int rows, int offset) {}

    /** Where one matrix went. */
    record Placement(Precision precision, List<Part> parts) {}

    private final List<Pool> pools = new ArrayList<>();
    private final Map<WeightTensor, Placement> placements = new IdentityHashMap<>();

    DeviceWeights(List<WeightTensor> matrices, Policy policy, long poolBytes) {
        this(matrices, List.of(), policy, poolBytes);
    }

    /**
     * Packs {@code matrices} (duplicates by identity once: a tied embedding is one matrix).
     *
     * @param together  runs of consecutive matrices to keep one after another in one pool (a layer's q, k, v; its gate
     *                  and up), so that one launch computes them all ({@link #contiguous}); a run that fits an empty
     *                  pool starts a new pool rather than straddle two
     * @param poolBytes largest pool, in bytes
     */
    DeviceWeights(List<WeightTensor> matrices, List<List<WeightTensor>> together, Policy policy, long poolBytes) {
        Map<WeightTensor, List<WeightTensor>> runStartingAt = new IdentityHashMap<>();
        for (List<WeightTensor> run : together) runStartingAt.put(run.getFirst(), run);
        // plan first (pool sizes must be known to allocate), then fill
        List<PoolPlan> plans = new ArrayList<>();
        PoolPlan openFloat = null, openHalf = null;
        List<PlannedPart> planned = new ArrayList<>();
        for (WeightTensor w : matrices) {
            if (placements.containsKey(w)) continue;
            Precision precision = policy.precisionOf(w.dtype());
            long capacity = poolBytes / (precision.half() ? Short.BYTES : Float.BYTES);
            capacity = Math.min(capacity, Integer.MAX_VALUE - 8);
            int cols = w.cols();
            if (cols > capacity) {
                throw new BadInputException("TornadoVM backend: a row of " + w.describe() + " has " + cols
                        + " values, more than one device pool holds (" + capacity + "); raise -Dloupe.tornado.pool.mb");
            }
            List<Part> parts = new ArrayList<>();
            List<WeightTensor> run = runStartingAt.get(w);
            if (run != null && run.stream().allMatch(m -> policy.precisionOf(m.dtype()) == precision && !placements.containsKey(m))) {
                long runValues = 0;
                for (WeightTensor m : run) runValues += (long) m.rows() * m.cols();
                PoolPlan open = precision.half() ? openHalf : openFloat;
                if (runValues <= capacity && open != null && capacity - open.values < runValues) {
                    open = new PoolPlan(plans.size(), precision.half());
                    plans.add(open);
                    if (precision.half()) openHalf = open; else openFloat = open;
                }
            }
            int row = 0;
            while (row < w.rows()) {
                PoolPlan open = precision.half() ? openHalf : openFloat;
                // a matrix that fits an empty pool is never split (one launch; neighbours stay contiguous for fusing)
                boolean fitsEmpty = row == 0 && (long) w.rows() * cols <= capacity;
                long room = open == null ? 0 : (capacity - open.values) / cols;
                if (open == null || room == 0 || (fitsEmpty && room < w.rows())) {
                    open = new PoolPlan(plans.size(), precision.half());
                    plans.add(open);
                    if (precision.half()) openHalf = open; else openFloat = open;
                }
                int take = (int) Math.min(w.rows() - row, (capacity - open.values) / cols);
                Part part = new Part(open.index, row, take, (int) open.values);
                parts.add(part);
                planned.add(new PlannedPart(w, precision, part));
                open.values += (long) take * cols;
                row += take;
            }
            placements.put(w, new Placement(precision, List.copyOf(parts)));
        }
        for (PoolPlan p : plans) {
            int size = (int) Math.max(1, p.values);
            pools.add(p.half ? new HalfPool(new ShortArray(size)) : new FloatPool(new FloatArray(size)));
        }
        for (PlannedPart p : planned) fill(p);
    }

    private static final class PoolPlan {
        final int index;
        final boolean half;
        long values;

        PoolPlan(int index, boolean half) {
            this.index = index;
            this.half = half;
        }
    }

    private record PlannedPart(WeightTensor matrix, Precision precision, Part part) {}

    private void fill(PlannedPart p) {
        WeightTensor w = p.matrix();
        Part part = p.part();
        int cols = w.cols();
        Pool pool = pools.get(part.pool());
        boolean sameBits = (p.precision() == Precision.BF16 && w.dtype() == DType.BF16)
                || (p.precision() == Precision.F16 && w.dtype() == DType.F16);
        if (sameBits && pool instanceof HalfPool(ShortArray values)) {
            // lossless and fast: the checkpoint's bits, row range at once
            long from = (long) part.firstRow() * cols * Short.BYTES;
            MemorySegment.copy(w.data(), from, values.getSegment(), (long) part.offset() * Short.BYTES, (long) part.rows() * cols * Short.BYTES);
            return;
        }
        if (w.dtype() == DType.F32 && pool instanceof FloatPool(FloatArray values)) {
            long from = (long) part.firstRow() * cols * Float.BYTES;
            MemorySegment.copy(w.data(), from, values.getSegment(), (long) part.offset() * Float.BYTES, (long) part.rows() * cols * Float.BYTES);
            return;
        }
        float[] row = new float[cols];
        for (int r = 0; r < part.rows(); r++) {
            w.readRow(part.firstRow() + r, row, 0);
            int at = part.offset() + r * cols;
            switch (pool) {
                case FloatPool(FloatArray values) -> {
                    for (int i = 0; i < cols; i++) values.set(at + i, row[i]);
                }
                case HalfPool(ShortArray values) -> {
                    for (int i = 0; i < cols; i++) {
                        values.set(at + i, p.precision() == Precision.F16 ? Floats.floatToF16(row[i]) : Floats.floatToBf16(row[i]));
                    }
                }
            }
        }
    }

    List<Pool> pools() { return pools; }

    /**
     * Where {@code ws} sit one after another, whole, in one pool, with equal widths and precision: then one launch
     * computes them all (fused q/k/v or gate/up). Null otherwise.
     */
    Part contiguous(WeightTensor[] ws) {
        Placement first = placements.get(ws[0]);
        if (first == null || first.parts().size() != 1) return null;
        Part start = first.parts().get(0);
        int next = start.offset() + ws[0].rows() * ws[0].cols();
        int rows = ws[0].rows();
        for (int j = 1; j < ws.length; j++) {
            Placement p = placements.get(ws[j]);
            if (p == null || p.parts().size() != 1 || p.precision() != first.precision() || ws[j].cols() != ws[0].cols()) return null;
            Part part = p.parts().get(0);
            if (part.pool() != start.pool() || part.offset() != next) return null;
            next += ws[j].rows() * ws[j].cols();
            rows += ws[j].rows();
        }
        return new Part(start.pool(), 0, rows, start.offset());
    }

    /** Where {@code w} is, or null if it was not packed. */
    Placement placement(WeightTensor w) { return placements.get(w); }

    /** Bytes of all pools (device memory taken by weight matrices). */
    long bytes() {
        long b = 0;
        for (Pool p : pools) b += p.bytes();
        return b;
    }

    /** Reads value (row, col) back from the pools, decoding 16-bit values on the host: for tests. */
    float value(WeightTensor w, int row, int col) {
        Placement placement = placements.get(w);
        for (Part part : placement.parts()) {
            if (row < part.firstRow() || row >= part.firstRow() + part.rows()) continue;
            int at = part.offset() + (row - part.firstRow()) * w.cols() + col;
            return switch (pools.get(part.pool())) {
                case FloatPool(FloatArray values) -> values.get(at);
                case HalfPool(ShortArray values) -> placement.precision() == Precision.F16
                        ? Floats.f16ToFloat(values.get(at)) : Floats.bf16ToFloat(values.get(at));
            };
        }
        throw new IllegalArgumentException("row " + row + " of " + w.describe() + " is in no part");
    }

    /** The table decode on the host, exactly as the kernels do it: for tests of the table. */
    static float decode(float[] table, Precision p, short bits) {
        int b = bits & 0xFFFF;
        int hi = b >> p.mantissaBits;
        int m = b & p.mantissaMask();
        if ((hi & p.exponentMask()) != 0) m += 1 << p.mantissaBits;
        return m * table[p.tableOffset + hi];
    }
}
