package dev.loupe.model.train;

import java.util.Arrays;
import java.util.BitSet;

/**
 * The token ids a training corpus holds, numbered densely, plus one more class that stands for every other id of
 * the full vocabulary. Training a softmax over these {@code size() + 1} classes, with the shared class's logit raised
 * by {@code ln(absent ids)}, is exactly training the full-vocabulary softmax in which every absent id's embedding row
 * is that class's row: the written checkpoint gives each absent id that row, so it computes the same distribution.
 */
public record RestrictedVocab(int fullSize, int[] present, int[] localOf) {

    public static RestrictedVocab of(int fullSize, BitSet ids) {
        int[] present = ids.stream().toArray();
        int[] local = new int[fullSize];
        Arrays.fill(local, -1);
        for (int i = 0; i < present.length; i++) local[present[i]] = i;
        return new RestrictedVocab(fullSize, present, local);
    }

    /** Present ids. */
    public int size() { return present.length; }

    /** The shared class of absent ids (the last local id). */
    public int absentClass() { return present.length; }

    /** How many full-vocabulary ids share the absent class. */
    public int absentCount() { return fullSize - present.length; }

    /** {@code ln(absentCount)}: what the absent class's logit gains for standing for that many ids (0 when none is absent). */
    public double absentLogOffset() { return absentCount() == 0 ? Double.NEGATIVE_INFINITY : Math.log(absentCount()); }

    public int local(int id) { return localOf[id] >= 0 ? localOf[id] : absentClass(); }

    public int[] local(int[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = local(ids[i]);
        return out;
    }
}
