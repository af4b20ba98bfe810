package dev.loupe.model.tokenizer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.loupe.model.tokenizer.ChatTemplate.Turn.model;
import static dev.loupe.model.tokenizer.ChatTemplate.Turn.system;
import static dev.loupe.model.tokenizer.ChatTemplate.Turn.user;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ChatTemplateTest {
    static Tokenizer tok;

    @BeforeAll
    static void load() { tok = TokenizerCases.gemma(); }

    @Test
    void singleTurnPrompt() {
        assertEquals("<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n", ChatTemplate.prompt("Hello"));
    }

    @Test
    void conversationMatchesTheChatFixture() {
        TokenizerCases.Case chat = TokenizerCases.all().stream().filter(c -> c.name().equals("chat_full")).findFirst().orElseThrow();
        List<ChatTemplate.Turn> turns = List.of(user("What is 2+2?"), model("4"));
        assertEquals("<bos>" + chat.text(), ChatTemplate.render(turns, false));
        assertArrayEquals(chat.ids(), ChatTemplate.encode(tok, turns, false));
        int[] withPrompt = ChatTemplate.encode(tok, turns, true);
        assertArrayEquals(new int[] {106, 2516, 108}, java.util.Arrays.copyOfRange(withPrompt, chat.ids().length, withPrompt.length));
    }

    @Test
    void textsAreTrimmedAsGemmasTemplateDoes() {
        assertEquals("<bos><start_of_turn>user\nHi<end_of_turn>\n", ChatTemplate.render(List.of(user("  Hi \n")), false));
    }

    @Test
    void systemTextGoesBeforeTheFirstUserText() {
        assertEquals("<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n",
                ChatTemplate.render(List.of(system("Be brief."), user("Hi")), true));
    }

    @Test
    void rolesParse() {
        assertEquals(ChatTemplate.Role.MODEL, ChatTemplate.Role.of("assistant"));
        assertEquals(ChatTemplate.Role.USER, ChatTemplate.Role.of("User"));
        assertEquals("chat role \"bot\" is not one of system, user, model",
                assertThrows(IllegalArgumentException.class, () -> ChatTemplate.Role.of("bot")).getMessage());
    }

    @Test
    void rejectsMalformedConversations() {
        assertEquals("chat turn 2 is user, expected model (turns alternate user, model, user, ...)",
                assertThrows(IllegalArgumentException.class, () -> ChatTemplate.render(List.of(user("a"), user("b")), true)).getMessage());
        assertEquals("chat turn 1 is model, expected user (turns alternate user, model, user, ...)",
                assertThrows(IllegalArgumentException.class, () -> ChatTemplate.render(List.of(model("a")), true)).getMessage());
        assertEquals("chat turn 2: a system turn may only come first",
                assertThrows(IllegalArgumentException.class, () -> ChatTemplate.render(List.of(user("a"), system("b")), true)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> ChatTemplate.render(List.of(system("a")), true));
        assertThrows(IllegalArgumentException.class, () -> ChatTemplate.render(List.of(), true));
    }
}
