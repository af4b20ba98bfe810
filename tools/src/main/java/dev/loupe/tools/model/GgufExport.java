package dev.loupe.tools.model;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.io.AtomicFiles;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerType;
import dev.loupe.model.arch.TensorName;
import dev.loupe.model.arch.gemma3.Gemma3;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.ModelWeights;
import dev.loupe.model.weights.LayerWeights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes loaded Gemma 1 or 2 weights as a GGUF file that llama.cpp loads (the architecture's keys and
 * tensor names as llama.cpp's converter writes them), so that both engines can be timed on one file.
 * A benchmarking tool, not part of the weight readers.
 *
 * <p>Matrices keep their stored bytes. Norms are stored as the float32 multiplier {@code 1 + w}, as the
 * converter stores them; unlike the converter, which adds the 1 in the checkpoint's dtype (rounding it to
 * bf16 for a bf16 checkpoint), the multiplier is the float32 one Loupe and Hugging Face compute, so the
 * GGUF and the folder it came from give identical logits. The vocabulary is a placeholder of the model's
 * size (control, unknown and the 256 byte pieces, then distinct made-up pieces): enough for llama.cpp to
 * load and time the model, not for real text.
 */
public final class GgufExport {
    private static final int ALIGNMENT = 32;
    private static final int GGUF_VERSION = 3;
    private static final int UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9;
    /** llama.cpp's rule when no scale is stored: the 27B (46 layers) scales by hidden/heads, others by head_dim. */
    private static final int LAYERS_27B = 46;
    private static final long COPY_CHUNK = 64L << 20;

    private GgufExport() {}

    private record Tensor(String name, int ggmlType, long[] ne, MemorySegment bytes) {}

    /** Writes {@code weights} to {@code file} (via a temporary name, renamed when complete). */
    public static void write(ModelWeights weights, Path file) throws IOException {
        ModelConfig c = weights.config();
        if (c.architecture() == Gemma3.ARCHITECTURE) throw new BadInputException("GGUF export: Gemma 3 files are not written (Loupe does not read them)");
        List<Tensor> tensors = new ArrayList<>();
        tensors.add(matrix(Architecture.GGUF_EMBEDDING, weights.embedding()));
        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights lw = weights.layers().get(l);
            for (TensorName t : c.architecture().layerTensors()) {
                tensors.add(t.role().isMatrix() ? matrix(t.ggufAt(l), lw.matrix(t.role())) : norm(t.ggufAt(l), lw.norm(t.role())));
            }
        }
        tensors.add(norm(Architecture.GGUF_FINAL_NORM, weights.finalNorm()));

        Header h = new Header();
        int kvCount = metadata(h, c, fileType(weights.embedding().dtype()));
        ByteArrayOutputStream infos = new ByteArrayOutputStream();
        Header ti = new Header(infos);
        long offset = 0;
        for (Tensor t : tensors) {
            ti.string(t.name).u32(t.ne.length);
            for (long d : t.ne) ti.u64(d);
            ti.u32(t.ggmlType).u64(offset);
            offset = align(offset + t.bytes.byteSize());
        }
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        Header top = new Header(head);
        head.writeBytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        top.u32(GGUF_VERSION).u64(tensors.size()).u64(kvCount);
        head.writeBytes(h.out.toByteArray());
        head.writeBytes(infos.toByteArray());
        while (head.size() % ALIGNMENT != 0) head.write(0);

        AtomicFiles.write(file, tmp -> {
          try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(head.toByteArray()));
            long dataStart = ch.position();
            long at = 0;
            for (Tensor t : tensors) {
                for (long o = 0; o < t.bytes.byteSize(); o += COPY_CHUNK) {
                    writeFully(ch, t.bytes.asSlice(o, Math.min(COPY_CHUNK, t.bytes.byteSize() - o)).asByteBuffer());
                }
                at += t.bytes.byteSize();
                long padded = align(at);
                if (padded > at) writeFully(ch, ByteBuffer.allocate((int) (padded - at)));
                at = padded;
            }
            if (ch.position() != dataStart + at) throw new IOException(tmp + ": wrote " + (ch.position() - dataStart) + " data bytes, expected " + at);
          }
        });
    }

    /** The keys llama.cpp reads for the architecture, and the placeholder vocabulary; returns how many were written. */
    private static int metadata(Header h, ModelConfig c, int fileType) {
        Architecture arch = c.architecture();
        String a = arch.ggufName() + ".";
        h.key("general.architecture", STRING).string(arch.ggufName());
        h.key("general.name", STRING).string("loupe synthetic " + arch.ggufName());
        h.key("general.file_type", UINT32).u32(fileType);
        h.key(a + "context_length", UINT32).u32(c.maxPositions());
        h.key(a + "embedding_length", UINT32).u32(c.hiddenSize());
        h.key(a + "block_count", UINT32).u32(c.numLayers());
        h.key(a + "feed_forward_length", UINT32).u32(c.intermediateSize());
        h.key(a + "attention.head_count", UINT32).u32(c.numHeads());
        h.key(a + "attention.head_count_kv", UINT32).u32(c.numKvHeads());
        h.key(a + "attention.key_length", UINT32).u32(c.headDim());
        h.key(a + "attention.value_length", UINT32).u32(c.headDim());
        h.key(a + "attention.layer_norm_rms_epsilon", FLOAT32).f32(c.rmsNormEps());
        if (c.layerTypes().contains(LayerType.SLIDING)) h.key(a + "attention.sliding_window", UINT32).u32(c.slidingWindow());
        if (arch.softcaps()) {
            h.key(a + "attn_logit_softcapping", FLOAT32).f32(c.attnSoftcap());
            h.key(a + "final_logit_softcapping", FLOAT32).f32(c.finalSoftcap());
        }
        h.key(a + "rope.freq_base", FLOAT32).f32(c.ropeTheta());
        float llamaCppScalar = c.numLayers() == LAYERS_27B && arch.queryPreAttnScalar() ? (float) c.hiddenSize() / c.numHeads() : c.headDim();
        if (c.queryPreAttnScalar() != llamaCppScalar) {
            // Loupe reads it; llama.cpp applies its own rule, so such a model differs there.
            h.key(a + "attention.scale", FLOAT32).f32((float) (1.0 / Math.sqrt(c.queryPreAttnScalar())));
        }

        int n = c.vocabSize();
        h.key("tokenizer.ggml.model", STRING).string("llama");
        h.key("tokenizer.ggml.tokens", ARRAY).u32(STRING).u64(n);
        for (int id = 0; id < n; id++) h.string(piece(id, c));
        h.key("tokenizer.ggml.scores", ARRAY).u32(FLOAT32).u64(n);
        for (int id = 0; id < n; id++) h.f32(-id);
        h.key("tokenizer.ggml.token_type", ARRAY).u32(INT32).u64(n);
        for (int id = 0; id < n; id++) h.u32(tokenType(id, c));
        h.key("tokenizer.ggml.bos_token_id", UINT32).u32(c.bosId());
        h.key("tokenizer.ggml.eos_token_id", UINT32).u32(c.eosId());
        h.key("tokenizer.ggml.add_bos_token", BOOL).u8(1);
        h.key("tokenizer.ggml.add_space_prefix", BOOL).u8(0);
        return h.keys;
    }

    /** Ids below {@link #FIRST_BYTE} are control pieces (bos, eos, pad) except one unknown piece; then 256 bytes. */
    private static final int FIRST_BYTE = 4;

    private static String piece(int id, ModelConfig c) {
        if (id == c.bosId()) return "<bos>";
        if (id == c.eosId()) return "<eos>";
        if (id < FIRST_BYTE) return id == unknownId(c) ? "<unk>" : "<ctl" + id + ">";
        if (id < FIRST_BYTE + 256) return String.format("<0x%02X>", id - FIRST_BYTE);
        return "▁t" + id;
    }

    /** TokenType codes: 1 normal, 2 unknown, 3 control, 6 byte. */
    private static int tokenType(int id, ModelConfig c) {
        if (id == c.bosId() || id == c.eosId()) return 3;
        if (id < FIRST_BYTE) return id == unknownId(c) ? 2 : 3;
        return id < FIRST_BYTE + 256 ? 6 : 1;
    }

    /** The highest id below the byte pieces that is neither bos nor eos (3 for Gemma). */
    private static int unknownId(ModelConfig c) {
        for (int id = FIRST_BYTE - 1; id >= 0; id--) if (id != c.bosId() && id != c.eosId()) return id;
        throw new IllegalStateException("no id left for <unk>");
    }

    private static Tensor matrix(String name, WeightTensor w) {
        long[] ne = new long[w.rank()];
        for (int i = 0; i < ne.length; i++) ne[i] = w.shape()[w.rank() - 1 - i];
        return new Tensor(name, ggmlType(w.dtype()), ne, w.data());
    }

    private static Tensor norm(String name, float[] multiplier) {
        ByteBuffer b = ByteBuffer.allocate(4 * multiplier.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : multiplier) b.putFloat(f);
        return new Tensor(name, ggmlType(DType.F32), new long[]{multiplier.length}, MemorySegment.ofArray(b.array()));
    }

    private static int ggmlType(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 8;
            case BF16 -> 30;
            default -> throw new IllegalArgumentException("GGUF export: no ggml type for " + t);
        };
    }

    /** llama_ftype: all F32 0, mostly F16 1, Q4_0 2, Q8_0 7, BF16 32. */
    private static int fileType(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("GGUF export: no file type for " + t);
        };
    }

    private static long align(long x) { return (x + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT; }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    /** Little-endian GGUF primitives. */
    private static final class Header {
        final ByteArrayOutputStream out;
        int keys;

        Header() { this(new ByteArrayOutputStream()); }

        Header(ByteArrayOutputStream out) { this.out = out; }

        Header key(String k, int type) {
            keys++;
            return string(k).u32(type);
        }

        Header string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            out.writeBytes(b);
            return this;
        }

        Header u8(int v) { return raw(1, v); }
        Header u32(long v) { return raw(4, v); }
        Header u64(long v) { return raw(8, v); }
        Header f32(float v) { return raw(4, Float.floatToRawIntBits(v)); }

        private Header raw(int width, long v) {
            for (int i = 0; i < width; i++) out.write((int) (v >>> (8 * i)) & 0xff);
            return this;
        }
    }
}
