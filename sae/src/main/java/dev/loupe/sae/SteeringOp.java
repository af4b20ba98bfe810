package dev.loupe.sae;

import dev.loupe.errors.BadInputException;






/**
 * What one steering direction does to the activation at one position: Neuronpedia's three steering methods.
 * {@link Add} uses the vector as given; {@link OrthogonalDecomp} and {@link ProjectionCap} only its direction
 * {@code û = v/|v|}. Dot products are taken in double precision, so that the edit does not depend on the order
 * of a float sum.
 */
public sealed interface SteeringOp {
    /** The steering vector (length = the hook's width). */
    float[] vector();

    /** Edits the {@code width} values of {@code h} starting at {@code offset}, in place. */
    void apply(float[] h, int offset);

    /**
     * Replaces {@code g} (at {@code offset}), the gradient of this edit's output, by the gradient of its input
     * {@code h} (the activation the edit received, one row).
     */
    void backward(float[] h, float[] g, int offset);

    /** {@code h → h + coefficient·v} (Neuronpedia's SIMPLE_ADDITIVE). */
    record Add(float[] vector, float coefficient) implements SteeringOp {
        public Add {
            vector = vector.clone();
        }

        public void apply(float[] h, int offset) {
            for (int i = 0; i < vector.length; i++) h[offset + i] += coefficient * vector[i];
        }

        public void backward(float[] h, float[] g, int offset) {}
    }

    /**
     * {@code h → (I − P)h + coefficient·P h} with {@code P = û ûᵀ} (Neuronpedia's ORTHOGONAL_DECOMP): the
     * component along the direction is scaled by the coefficient, the rest is kept; 1 leaves {@code h} as it was,
     * 0 projects the direction out, a negative coefficient flips it.
     */
    record OrthogonalDecomp(float[] vector, float coefficient) implements SteeringOp {
        public OrthogonalDecomp {
            vector = unit(vector, "ORTHOGONAL_DECOMP");
        }

        public void apply(float[] h, int offset) {
            double along = dot(h, offset, vector);
            double change = (coefficient - 1.0) * along;
            for (int i = 0; i < vector.length; i++) h[offset + i] = (float) (h[offset + i] + change * vector[i]);
        }

        public void backward(float[] h, float[] g, int offset) { apply(g, offset); }
    }

    /**
     * Caps the projection on the direction at {@code max} (Neuronpedia's PROJECTION_CAP, from the "assistant axis"
     * work): where {@code h·û > max}, {@code h → h − (h·û − max)·û}; elsewhere {@code h} is left as it was.
     */
    record ProjectionCap(float[] vector, float max) implements SteeringOp {
        public ProjectionCap {
            vector = unit(vector, "PROJECTION_CAP");
        }

        public void apply(float[] h, int offset) {
            double along = dot(h, offset, vector);
            if (!(along > max)) return;
            double change = max - along;
            for (int i = 0; i < vector.length; i++) h[offset + i] = (float) (h[offset + i] + change * vector[i]);
        }

        public void backward(float[] h, float[] g, int offset) {
            if (!(dot(h, 0, vector) > max)) return;
            double along = dot(g, offset, vector);
            for (int i = 0; i < vector.length; i++) g[offset + i] = (float) (g[offset + i] - along * vector[i]);
        }
    }

    /** {@code v/|v|}; a zero or non-finite vector has no direction and is refused. */
    static float[] unit(float[] v, String method) {
        double norm = norm(v);
        if (!(norm > 0) || !Double.isFinite(norm)) {
            throw new BadInputException(method + " needs a steering vector with a direction, got one of norm " + norm);
        }
        float[] u = new float[v.length];
        for (int i = 0; i < v.length; i++) u[i] = (float) (v[i] / norm);
        return u;
    }

    static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }

    private static double dot(float[] h, int offset, float[] u) {
        double s = 0;
        for (int i = 0; i < u.length; i++) s += (double) h[offset + i] * u[i];
        return s;
    }
}
