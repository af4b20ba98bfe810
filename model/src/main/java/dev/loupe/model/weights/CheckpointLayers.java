package dev.loupe.model.weights;

import java.io.IOException;
import java.util.Collection;
import java.util.TreeSet;

/** Checks that the layer count a config declares matches the layers a checkpoint holds. */
final class CheckpointLayers {
    private CheckpointLayers() {}

    /**
     * Fails when a tensor {@code <prefix>N.*} exists for some {@code N >= layers}: the config would silently run
     * a shallower model than the weights describe.
     *
     * @param where the start of the message: the file and the declared count, e.g. "config.json: num_hidden_layers is 2 but x.safetensors"
     */
    static void requireNoneBeyond(Collection<String> names, String prefix, int layers, String where) throws IOException {
        TreeSet<Integer> extra = new TreeSet<>();
        for (String n : names) {
            if (!n.startsWith(prefix)) continue;
            int dot = n.indexOf('.', prefix.length());
            if (dot < 0) continue;
            try {
                int l = Integer.parseInt(n.substring(prefix.length(), dot));
                if (l >= layers) extra.add(l);
            } catch (NumberFormatException e) {
                // Not a layer tensor.
            }
        }
        if (!extra.isEmpty()) {
            throw new IOException(where + " holds " + prefix + extra.first() + ".* to " + prefix + extra.last()
                    + ".* (expected layers 0.." + (layers - 1) + " only: the config and the weights disagree)");
        }
    }
}
