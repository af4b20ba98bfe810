package dev.loupe.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.errors.BadInputException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.stream.Stream;

/**
 * A corpus on disk: a {@code .txt} file (one document per non-empty line), a {@code .jsonl} file (one JSON
 * object per line with a string {@code text} field, or an int array {@code tokens} field of token ids already
 * made), or a folder of such files (read in name order, not recursively). A malformed line fails with its file
 * and line number unless skipping is asked for.
 */
public final class Corpus {
    private static final ObjectMapper JSON = dev.loupe.model.io.LoupeJson.MAPPER;

    private Corpus() {}

    /** The corpus files of {@code path} in reading order; fails with one line when there are none. */
    public static List<Path> files(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        if (Files.isDirectory(path)) {
            List<Path> out = new ArrayList<>();
            try (Stream<Path> s = Files.list(path)) {
                s.filter(Files::isRegularFile).filter(Corpus::isCorpusFile).sorted().forEach(out::add);
            }
            if (out.isEmpty()) throw new BadInputException(path + ": folder holds no .txt or .jsonl files");
            return out;
        }
        // A FIFO or device would block the reader forever (or never end): only regular files are corpora.
        if (!Files.isRegularFile(path)) throw new BadInputException(path + ": not a regular file or folder");
        if (!isCorpusFile(path)) throw new BadInputException(path + ": corpus must be a .txt or .jsonl file, or a folder of them");
        return List.of(path);
    }

    private static boolean isCorpusFile(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".txt") || n.endsWith(".jsonl");
    }

    /** The documents of {@code path}; malformed lines fail, or are reported to {@code progress} and skipped. */
    public static Iterator<Document> read(Path path, boolean skipBadLines, IndexProgress progress) throws IOException {
        List<Path> files = files(path);
        return new Iterator<>() {
            int fileIndex = -1;
            BufferedReader reader;
            Path file;
            long line;
            Document next;

            @Override public boolean hasNext() {
                try {
                    while (next == null) {
                        if (reader == null) {
                            if (++fileIndex >= files.size()) return false;
                            file = files.get(fileIndex);
                            reader = new BufferedReader(new java.io.InputStreamReader(Files.newInputStream(file),
                                    StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                                            .onUnmappableCharacter(CodingErrorAction.REPORT)));
                            line = 0;
                        }
                        String s;
                        try {
                            s = reader.readLine();
                        } catch (CharacterCodingException e) {
                            throw new BadInputException(file + ":" + (line + 1) + ": not valid UTF-8");
                        }
                        if (s == null) {
                            reader.close();
                            reader = null;
                            continue;
                        }
                        line++;
                        try {
                            next = parse(file, line, s);
                        } catch (BadInputException e) {
                            if (!skipBadLines) throw new BadInputException(e.getMessage() + " (--skip-bad-lines skips such lines)", e);
                            progress.warning("skipped " + e.getMessage());
                        }
                    }
                    return true;
                } catch (IOException e) {
                    throw new UncheckedIOException(file + ": " + e.getMessage(), e);
                }
            }

            @Override public Document next() {
                if (!hasNext()) throw new NoSuchElementException();
                Document d = next;
                next = null;
                return d;
            }
        };
    }

    /** One line as a document, null for a blank line (no document), or an error naming file and line. */
    private static Document parse(Path file, long line, String s) {
        String where = file.getFileName() + ":" + line;
        if (s.isBlank()) return null;
        if (!file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".jsonl")) return Document.text(where, s);
        JsonNode n;
        try {
            n = JSON.readTree(s);
        } catch (IOException e) {
            throw new BadInputException(file + ":" + line + ": not a JSON object (" + firstLine(e.getMessage()) + ")");
        }
        if (n == null || !n.isObject()) throw new BadInputException(file + ":" + line + ": expected a JSON object with a \"text\" field");
        JsonNode text = n.get("text"), tokens = n.get("tokens");
        if (text != null) {
            if (!text.isTextual()) throw new BadInputException(file + ":" + line + ": \"text\" must be a string");
            if (text.asText().isBlank()) return null;
            return Document.text(where, text.asText());
        }
        if (tokens != null) {
            if (!tokens.isArray() || tokens.isEmpty()) throw new BadInputException(file + ":" + line + ": \"tokens\" must be a non-empty array of token ids");
            int[] ids = new int[tokens.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode t = tokens.get(i);
                if (!t.canConvertToInt() || !t.isIntegralNumber() || t.asInt() < 0) {
                    throw new BadInputException(file + ":" + line + ": \"tokens\"[" + i + "] is not a token id");
                }
                ids[i] = t.asInt();
            }
            return Document.tokens(where, ids);
        }
        throw new BadInputException(file + ":" + line + ": expected a \"text\" (string) or \"tokens\" (ids) field");
    }

    private static String firstLine(String m) {
        if (m == null) return "parse error";
        int i = m.indexOf('\n');
        return i < 0 ? m : m.substring(0, i);
    }

    /** SHA-256 of the corpus: each file's name and bytes, in reading order, hex. */
    /**
     * The token ids of the documents in order, for the commands that hold a small corpus in memory ({@code eval-sae},
     * {@code synth-sae}): text documents stripped and encoded by {@code tokenizer} ({@code <bos>} first), token
     * documents as given; reading stops once {@code maxTokens} ids are collected (each sequence cut to
     * {@code maxLength} first). Malformed lines fail with their file and line.
     */
    public static List<int[]> tokenIds(Path path, dev.loupe.model.tokenizer.Tokenizer tokenizer, int maxLength, long maxTokens) throws IOException {
        List<int[]> out = new java.util.ArrayList<>();
        long total = 0;
        for (Iterator<Document> it = read(path, false, IndexProgress.NONE); it.hasNext() && total < maxTokens; ) {
            Document d = it.next();
            int[] ids = d.tokens() != null ? d.tokens() : tokenizer.encode(d.text().strip());
            ids = java.util.Arrays.copyOf(ids, (int) Math.min(ids.length, Math.min(maxLength, maxTokens - total)));
            out.add(ids);
            total += ids.length;
        }
        return out;
    }

    public static String sha256(Path path) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buf = new byte[1 << 16];
        for (Path f : files(path)) {
            md.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            try (InputStream in = Files.newInputStream(f)) {
                for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
