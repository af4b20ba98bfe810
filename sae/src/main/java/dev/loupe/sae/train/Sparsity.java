package dev.loupe.sae.train;

import dev.loupe.errors.BadInputException;






/** How an SAE being trained is kept sparse: its architecture and that architecture's sparsity setting. */
public sealed interface Sparsity {
    /** The SAELens architecture name of the training run ({@code jumprelu}, {@code topk}, {@code batchtopk}, {@code standard}). */
    String name();

    /** JumpReLU with an L0 penalty whose coefficient is steered until the mean L0 is {@code targetL0}. */
    record JumpRelu(double targetL0, float bandwidth) implements Sparsity {
        public JumpRelu {
            if (!(targetL0 > 0)) throw new BadInputException("target L0 must be positive, got " + targetL0);
            if (!(bandwidth > 0)) throw new BadInputException("JumpReLU bandwidth must be positive, got " + bandwidth);
        }

        public String name() { return "jumprelu"; }
    }

    /** TopK: {@code k} features per row. */
    record TopK(int k) implements Sparsity {
        public TopK {
            if (k < 1) throw new BadInputException("k must be at least 1, got " + k);
        }

        public String name() { return "topk"; }
    }

    /** BatchTopK: {@code k} features per row on average over a batch. */
    record BatchTopK(int k) implements Sparsity {
        public BatchTopK {
            if (k < 1) throw new BadInputException("k must be at least 1, got " + k);
        }

        public String name() { return "batchtopk"; }
    }

    /** ReLU with an L1 penalty of coefficient {@code l1} (reached after a warm-up). */
    record Standard(float l1) implements Sparsity {
        public Standard {
            if (!(l1 >= 0) || Float.isInfinite(l1)) throw new BadInputException("L1 coefficient must be a finite number ≥ 0, got " + l1);
        }

        public String name() { return "standard"; }
    }
}
