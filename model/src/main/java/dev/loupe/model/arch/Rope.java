package dev.loupe.model.arch;

import dev.loupe.errors.BadInputException;






/**
 * Rotary embedding settings of one layer type: base {@code theta} and linear position scaling
 * ({@code factor} 1: none; positions are divided by it, as transformers' "linear" rope_type divides inv_freq).
 */
public record Rope(float theta, float linearFactor) {
    public Rope {
        if (!(theta > 0) || Float.isInfinite(theta)) throw new BadInputException("config: invalid rope_theta = " + theta + ", expected a positive finite number, e.g. 10000");
        if (!(linearFactor >= 1) || Float.isInfinite(linearFactor)) throw new BadInputException("config: invalid rope scaling factor = " + linearFactor + ", expected a finite number >= 1");
    }

    /** Unscaled RoPE with base {@code theta}. */
    public static Rope of(float theta) { return new Rope(theta, 1f); }
}
