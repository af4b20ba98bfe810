package dev.loupe.model.io;

import java.io.IOException;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The header of a {@code .npy} array: element type, memory order and shape. It accepts Fortran order,
 * because npz writers save a transposed view ({@code W_dec.T}) as a Fortran-order array rather than copying it.
 *
 * @param descr        numpy type string, e.g. {@code <f4}
 * @param fortranOrder true when the data is column-major
 * @param shape        dimensions, outermost first (as numpy reports them, whatever the order)
 */
public record NpyHeader(String descr, boolean fortranOrder, long[] shape) {
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    public NpyHeader {
        shape = shape.clone();
    }

    /** Parses the dictionary text of a .npy header; {@code where} names the file or entry in errors. */
    public static NpyHeader parse(String text, String where) throws IOException {
        Matcher d = DESCR.matcher(text), o = ORDER.matcher(text), s = SHAPE.matcher(text);
        if (!d.find() || !o.find() || !s.find()) {
            throw new IOException(where + ": malformed .npy header: " + text.trim());
        }
        String dims = s.group(1).trim();
        long[] shape;
        try {
            shape = dims.isEmpty() ? new long[0]
                    : Arrays.stream(dims.split(",")).map(String::trim).filter(x -> !x.isEmpty())
                            .mapToLong(Long::parseLong).toArray();
        } catch (NumberFormatException e) {
            throw new IOException(where + ": malformed .npy shape (" + dims + ")");
        }
        for (long n : shape) {
            if (n < 0) throw new IOException(where + ": negative dimension in .npy shape (" + dims + ")");
        }
        return new NpyHeader(d.group(1), o.group(1).equals("True"), shape);
    }

    /** Number of elements (1 for a scalar); fails on overflow rather than wrapping. */
    public long count() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Bytes per element of the supported types, or -1. */
    public int itemSize() {
        return switch (descr) {
            case "<f4", "<i4", "<u4" -> 4;
            case "<f2", "<i2" -> 2;
            case "<f8", "<i8" -> 8;
            case "|u1", "|i1", "|b1" -> 1;
            default -> -1;
        };
    }

    @Override public String toString() {
        return descr + Arrays.toString(shape) + (fortranOrder ? " (Fortran order)" : "");
    }

    @Override public boolean equals(Object o) {
        return o instanceof NpyHeader h && descr.equals(h.descr) && fortranOrder == h.fortranOrder
                && Arrays.equals(shape, h.shape);
    }

    @Override public int hashCode() { return descr.hashCode() * 31 + Arrays.hashCode(shape); }
}
