package dev.loupe.model.arch;

import dev.loupe.errors.BadInputException;

import java.util.AbstractList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Which layers slide when a config has no {@code layer_types} (which decides whenever it is present): the rule each
 * family's code in transformers falls back to.
 */
public sealed interface SlidingPattern {
    /** The layer type of each of {@code layers} layers; {@code every} is the config's pattern length, where one is read. */
    List<LayerType> layerTypes(int layers, int every);

    /** Gemma 1: every layer attends to everything. */
    record None() implements SlidingPattern {
        public List<LayerType> layerTypes(int layers, int every) { return computed(layers, l -> LayerType.FULL); }
    }

    /** Gemma 2: even layers (0, 2, ...) slide, odd ones are global. */
    record EvenLayers() implements SlidingPattern {
        public List<LayerType> layerTypes(int layers, int every) {
            return computed(layers, l -> l % 2 == 0 ? LayerType.SLIDING : LayerType.FULL);
        }
    }

    /**
     * Gemma 3: every {@code every}-th layer (1-based) is global, the rest slide: transformers' {@code sliding_window_pattern}
     * (6 by default: 5 sliding, 1 full).
     */
    record EveryNth(int defaultEvery) implements SlidingPattern {
        public List<LayerType> layerTypes(int layers, int every) {
            int n = every > 0 ? every : defaultEvery;
            return computed(layers, l -> (l + 1) % n == 0 ? LayerType.FULL : LayerType.SLIDING);
        }
    }

    /**
     * An immutable list computed on access: a corrupt layer count (two billion) must fail on its first missing tensor,
     * not allocate first.
     */
    private static List<LayerType> computed(int layers, IntFunction<LayerType> type) {
        if (layers < 0) throw new BadInputException("config: invalid num_hidden_layers = " + layers);
        return new AbstractList<>() {
            public LayerType get(int l) {
                java.util.Objects.checkIndex(l, layers);
                return type.apply(l);
            }

            public int size() { return layers; }
        };
    }
}
