package dev.loupe.sae.train;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.model.Model;

import java.util.List;
import java.util.Set;

/**
 * Activations of one hook point, streamed from a model run over token windows in order; positions holding special
 * tokens ({@code <bos>}, padding, {@code <eos>}) are left out, as SAELens leaves them out. The position is the
 * number of windows handed out in full, so a resumed run recomputes at most one window.
 */
public final class ModelActivations implements ActivationSource {
    private final Model model;
    private final String hook;
    private final List<int[]> windows;
    private final Set<Integer> ignored;
    private final int width;
    private int next;
    private float[] pending = new float[0];
    private int pendingRows, pendingAt;

    public ModelActivations(Model model, String hook, List<int[]> windows, Set<Integer> ignored) {
        model.hookPoints().id(hook);  // an unknown hook fails before any compute
        if (windows.isEmpty()) throw new BadInputException("no token windows to train on");
        this.model = model;
        this.hook = hook;
        this.windows = windows;
        this.ignored = ignored;
        Activation a = model.activation(windows.getFirst(), hook);
        this.width = a.data().length / a.positions();
    }

    /** Non-special positions in {@code windows}: the most tokens a run can train on. */
    public static long usableTokens(List<int[]> windows, Set<Integer> ignored) {
        long n = 0;
        for (int[] w : windows) for (int t : w) if (!ignored.contains(t)) n++;
        return n;
    }

    @Override public int width() { return width; }

    @Override public int read(float[] dst, int rowOffset, int maxRows) {
        while (pendingAt == pendingRows) {
            if (next >= windows.size()) return 0;
            load(windows.get(next++));
        }
        int n = Math.min(maxRows, pendingRows - pendingAt);
        System.arraycopy(pending, pendingAt * width, dst, rowOffset * width, n * width);
        pendingAt += n;
        return n;
    }

    private void load(int[] window) {
        Activation a = model.activation(window, hook);
        float[] data = a.data();
        if (pending.length < window.length * width) pending = new float[window.length * width];
        int rows = 0;
        for (int p = 0; p < window.length; p++) {
            if (ignored.contains(window[p])) continue;
            System.arraycopy(data, p * width, pending, rows * width, width);
            rows++;
        }
        pendingRows = rows;
        pendingAt = 0;
    }

    @Override public long position() { return pendingAt < pendingRows ? next - 1 : next; }

    @Override public void seek(long position) {
        if (position < 0 || position > windows.size()) throw new IllegalArgumentException("window " + position + " out of range [0, " + windows.size() + "]");
        next = (int) position;
        pendingRows = pendingAt = 0;
    }
}
