package dev.loupe.model.backend;

import dev.loupe.errors.BadInputException;






/**
 * What one layer's attention needs besides its tensors: grouped-query heads, the score scale
 * ({@code query_pre_attn_scalar^-0.5}), the score softcap (0: none) and the sliding window
 * ({@link Integer#MAX_VALUE} on global layers). Queries are {@code [rows, heads·headDim]}; keys and values
 * {@code [positions, kvHeads·headDim]}; scores and patterns {@code [heads, rows, keys]}.
 */
public record AttentionShape(int heads, int kvHeads, int headDim, float scale, float softcap, int window) {
    public AttentionShape {
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0 || headDim <= 0 || window <= 0) {
            throw new BadInputException("attention shape: heads " + heads + ", kv heads " + kvHeads + ", head dim "
                    + headDim + ", window " + window);
        }
    }

    public int qDim() { return heads * headDim; }

    public int kvDim() { return kvHeads * headDim; }

    /** Query heads sharing one key/value head. */
    public int group() { return heads / kvHeads; }

    /** First key visible from absolute query position {@code qi}. */
    public int firstVisible(int qi) { return Math.max(0, qi - window + 1); }
}
