package dev.loupe.model.tokenizer;

/** Splits one normalized stretch of text (no reserved pieces in it) into token ids. */
interface SegmentModel {
    void encode(String normalized, IntList out);
}
