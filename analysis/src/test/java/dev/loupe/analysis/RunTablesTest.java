package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The typed batch readers: what a writer wrote through the declared columns reads back; a foreign column is named. */
class RunTablesTest {
    @TempDir Path tmp;

    @Test void tokensWrittenThroughTheDeclaredColumnsReadBack() throws IOException {
        Path f = tmp.resolve("tokens.arrow");
        try (BufferAllocator a = new RootAllocator()) {
            try (RowsWriter w = RowsWriter.tokens(f, Map.of(), Compression.ZSTD, a, 2)) {
                int[][] rows = {{0, 0, 2}, {0, 1, 17}, {1, 0, 2}};
                for (int[] r : rows) {
                    w.add(r[0], r[1], r[2], 0f);
                    w.endToken();
                }
                w.finish();
            }
            int[] batches = {0};
            int[] ids = new int[3];
            ArrowFiles.forEachBatch(f, a, root -> {
                RunTables.Tokens.Batch b = RunTables.Tokens.Batch.read(root, f);
                System.arraycopy(b.tokenId(), 0, ids, 2 * batches[0], b.tokenId().length);
                batches[0]++;
            });
            assertEquals(2, batches[0], "batches of exactly batch_tokens tokens, the last fewer");
            assertArrayEquals(new int[]{2, 17, 2}, ids);
        }
    }

    @Test void aColumnOfAnotherTypeOrAMissingOneIsNamed() throws IOException {
        Path f = tmp.resolve("tokens.arrow");
        ArrowColumn<BigIntVector> wide = ArrowColumn.int64("doc_id");
        try (BufferAllocator a = new RootAllocator()) {
            try (ArrowFiles.Writer w = new ArrowFiles.Writer(f, ArrowColumn.schema(Map.of(), wide, RunTables.POS), Compression.NONE, a)) {
                w.writeBatch(0);
                w.finish();
            }
            BadInputException e = assertThrows(BadInputException.class,
                    () -> ArrowFiles.forEachBatch(f, a, root -> RunTables.Tokens.Batch.read(root, f)));
            assertEquals(f + ": column doc_id is Int(64, true), expected Int(32, true)", e.getMessage());
            e = assertThrows(BadInputException.class, () -> ArrowFiles.forEachBatch(f, a, root -> RunTables.Tokens.TOKEN_ID.in(root, f)));
            assertEquals(f + ": has no column token_id (Int(32, true)): not the file a Loupe run writes there", e.getMessage());
        }
    }
}
