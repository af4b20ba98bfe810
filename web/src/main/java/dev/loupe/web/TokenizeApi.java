package dev.loupe.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.tokenizer.TokenType;
import dev.loupe.model.tokenizer.Tokenizer;
import io.javalin.http.Context;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * llama-server's {@code POST /tokenize} and {@code POST /detokenize}: text to the model's token ids and back, with
 * no forward pass (so no work slot). Special tokens written in the text ({@code <start_of_turn>}) are read as
 * themselves, as llama-server's default {@code parse_special} does.
 */
final class TokenizeApi {
    static final Set<String> TOKENIZE_FIELDS = Set.of("content", "add_special", "parse_special", "with_pieces");
    static final Set<String> DETOKENIZE_FIELDS = Set.of("tokens");

    private final LiveModel live;

    TokenizeApi(LiveModel live) { this.live = live; }

    record Tokens(List<Object> tokens) {}

    /** A token with its text: a string, or its bytes when they are not valid UTF-8 by themselves (llama-server's form). */
    record Piece(int id, Object piece) {}

    record Content(String content) {}

    /** {@code {"content", "add_special"?: false, "with_pieces"?: false}} → {@code {"tokens": [...]}}. */
    void tokenize(Context ctx) {
        ObjectNode body = Json.object(ctx.body());
        Requests.refuseUnsupported(body, TOKENIZE_FIELDS, "/tokenize");
        String content = Json.requireString(body, "content");
        boolean addSpecial = Json.optBoolean(body, "add_special", false);
        if (!Json.optBoolean(body, "parse_special", true)) {
            throw ApiException.badRequest("'parse_special': false is not supported: this tokenizer always reads special tokens written in the text", "parse_special");
        }
        boolean withPieces = Json.optBoolean(body, "with_pieces", false);
        Tokenizer tok = live.tokenizer();
        int[] ids = tok.encode(content, addSpecial);
        List<Object> out = new ArrayList<>(ids.length);
        for (int id : ids) out.add(withPieces ? new Piece(id, piece(tok, id)) : id);
        ctx.json(new Tokens(out));
    }

    /** {@code {"tokens": [ids]}} → {@code {"content"}}, special tokens written out as llama-server does. */
    void detokenize(Context ctx) {
        ObjectNode body = Json.object(ctx.body());
        Requests.refuseUnsupported(body, DETOKENIZE_FIELDS, "/detokenize");
        if (body.has("tokens") && body.get("tokens").isArray() && body.get("tokens").isEmpty()) {
            ctx.json(new Content(""));
            return;
        }
        int[] ids = live.tokenIds(body.get("tokens"), "tokens");
        ctx.json(new Content(live.tokenizer().decode(ids, false)));
    }

    private static Object piece(Tokenizer tok, int id) {
        String p = tok.piece(id);
        if (tok.type(id) == TokenType.BYTE && p.length() == 6 && p.startsWith("<0x")) {
            int b = Integer.parseInt(p.substring(3, 5), 16);
            return b < 0x80 ? String.valueOf((char) b) : List.of(b);
        }
        return p.replace('\u2581', ' ');
    }
}
