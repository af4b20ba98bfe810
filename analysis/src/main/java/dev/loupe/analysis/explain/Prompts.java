package dev.loupe.analysis.explain;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.io.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The three prompt templates of auto-interpretation (explainer, detection, fuzzing), each a text file a user can
 * edit: a system part, a line {@code ---}, and a user part with {@code {{placeholders}}}. {@link #in(Path)} puts the
 * defaults in a folder the first time and reads whatever is there after that.
 */
public record Prompts(Template explainer, Template detection, Template fuzzing) {
    public static final String[] FILES = {"explainer.txt", "detection.txt", "fuzzing.txt"};

    /** A system message and a user message with {@code {{name}}} placeholders. */
    public record Template(String system, String user) {
        static Template parse(String text, String where) {
            int cut = text.indexOf("\n---\n");
            if (cut < 0) throw new BadInputException(where + ": expected a system part, a line '---', then the user part");
            return new Template(text.substring(0, cut).strip(), text.substring(cut + 5).strip());
        }

        /** The user message with each {@code {{key}}} replaced. */
        public String fill(Map<String, String> values) {
            String out = user;
            for (Map.Entry<String, String> e : values.entrySet()) out = out.replace("{{" + e.getKey() + "}}", e.getValue());
            return out;
        }
    }

    /** The built-in templates. */
    public static Prompts defaults() {
        return new Prompts(Template.parse(resource(FILES[0]), FILES[0]), Template.parse(resource(FILES[1]), FILES[1]), Template.parse(resource(FILES[2]), FILES[2]));
    }

    /** The templates in {@code dir}, written there from the defaults where missing (so users can edit them). */
    public static Prompts in(Path dir) throws IOException {
        Files.createDirectories(dir);
        Template[] t = new Template[3];
        for (int i = 0; i < 3; i++) {
            Path f = dir.resolve(FILES[i]);
            if (!Files.exists(f)) AtomicFiles.writeString(f, resource(FILES[i]));
            t[i] = Template.parse(Files.readString(f), f.toString());
        }
        return new Prompts(t[0], t[1], t[2]);
    }

    private static String resource(String name) {
        try (InputStream in = Prompts.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
