/**
 * Gemma's tokenizer: text to token ids and back.
 *
 * <p>{@link dev.loupe.model.tokenizer.Tokenizers#load} reads a Hugging Face {@code tokenizer.json}
 * (BPE by merge rank, as {@code tokenizers} runs it);
 * {@link dev.loupe.model.tokenizer.Tokenizers#fromSentencePieceVocab} builds one from a GGUF-style
 * vocabulary (BPE by piece score, as SentencePiece runs it). Both give a
 * {@link dev.loupe.model.tokenizer.Tokenizer}; {@link dev.loupe.model.tokenizer.ChatTemplate} formats
 * conversations for the instruction-tuned models.
 */
package dev.loupe.model.tokenizer;
