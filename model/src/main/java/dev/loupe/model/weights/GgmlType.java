package dev.loupe.model.weights;

import dev.loupe.model.tensor.DType;

/** ggml tensor type ids as stored in GGUF tensor infos: their names, and the ones Loupe can read. */
final class GgmlType {
    private GgmlType() {}

    /** Index = ggml type id; null for ids ggml has retired or never used. */
    private static final String[] NAMES = {
            "F32", "F16", "Q4_0", "Q4_1", null, null, "Q5_0", "Q5_1", "Q8_0", "Q8_1",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
            "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M",
            "BF16", null, null, null, "TQ1_0", "TQ2_0", null, null, null, "MXFP4"};

    static String name(int id) {
        String n = id >= 0 && id < NAMES.length ? NAMES[id] : null;
        return n == null ? "unknown ggml type " + id : n + " (" + id + ")";
    }

    /** The storage type for the ggml types Loupe computes with, or null. */
    static DType dtype(int id) {
        return switch (id) {
            case 0 -> DType.F32;
            case 1 -> DType.F16;
            case 2 -> DType.Q4_0;
            case 8 -> DType.Q8_0;
            case 12 -> DType.Q4_K;
            case 13 -> DType.Q5_K;
            case 14 -> DType.Q6_K;
            case 30 -> DType.BF16;
            default -> null;
        };
    }

    /** The ggml types Loupe reads, for error messages: "F32, F16, ...". */
    static String supported() {
        StringBuilder sb = new StringBuilder();
        for (int id = 0; id < NAMES.length; id++) {
            if (dtype(id) == null) continue;
            if (!sb.isEmpty()) sb.append(", ");
            sb.append(NAMES[id]);
        }
        return sb.toString();
    }
}
