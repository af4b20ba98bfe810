package dev.loupe.model.tokenizer;

import dev.loupe.errors.BadInputException;






/** Rewrites text before it is split into pieces (Gemma: every space becomes {@code ▁}). */
@FunctionalInterface
interface Normalizer {
    String normalize(String text);

    static Normalizer identity() { return s -> s; }

    static Normalizer replace(String from, String to) {
        if (from.isEmpty()) throw new BadInputException("normalizer: Replace pattern is empty");
        return s -> s.replace(from, to);
    }

    /** Prepends {@code prefix} to non-empty text (tokenizers' Prepend normalizer). */
    static Normalizer prepend(String prefix) { return s -> s.isEmpty() ? s : prefix + s; }

    default Normalizer then(Normalizer next) { return s -> next.normalize(normalize(s)); }
}
