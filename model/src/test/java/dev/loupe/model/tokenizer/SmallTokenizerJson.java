package dev.loupe.model.tokenizer;

/** Test data shared with other modules' tests (through the test jar). */
public final class SmallTokenizerJson {
    private SmallTokenizerJson() {}

    /** A tokenizer.json shaped like Gemma's, with a vocabulary small enough to check by hand. */
    public static final String TEXT = """
            {"version": "1.0",
             "added_tokens": [
               {"id": 0, "content": "<pad>", "special": true, "normalized": false},
               {"id": 1, "content": "<eos>", "special": true, "normalized": false},
               {"id": 2, "content": "<bos>", "special": true, "normalized": false},
               {"id": 3, "content": "<unk>", "special": true, "normalized": false},
               {"id": 12, "content": "<turn>", "special": true, "normalized": false}],
             "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
             "pre_tokenizer": null,
             "post_processor": {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
               "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}},
             "decoder": {"type": "Sequence", "decoders": [
               {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
             "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
               "vocab": {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<0xC3>": 4, "<0xA9>": 5,
                         "▁": 6, "a": 7, "b": 8, "▁a": 9, "ab": 10, "▁ab": 11},
               "merges": ["▁ a", "a b", "▁a b"]}}
            """;
}
