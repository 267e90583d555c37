package io.moecast.sim;

/**
 * Builds hidden states x = c[cluster] + s·O[token] + N[context] for a run of tokens. The Vector API
 * version ({@code VectorHiddenKernels}) is loaded only when {@code jdk.incubator.vector} is present;
 * both compute (s·o + c) + n in float, element by element, so they give identical bits.
 */
abstract class HiddenKernels {
    /**
     * hidden[r*D + i] = (s·tokenPart[tok[t]*D + i] + cen[tokC[t]*D + i]) + ctxPart[ctx[t]*D + i] for
     * t = from + r, r &lt; n.
     */
    abstract void build(float[] hidden, float[] cen, float[] tokenPart, float[] ctxPart, int[] tokC, int[] tok,
                        int[] ctx, int from, int n, int d, float s);

    abstract String name();

    /** The Vector API kernels when the module is there, else the scalar ones. */
    static HiddenKernels best() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            try {
                return (HiddenKernels) Class.forName("io.moecast.sim.VectorHiddenKernels").getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                // fall back below
            }
        }
        return new Scalar();
    }

    static final class Scalar extends HiddenKernels {
        @Override
        void build(float[] hidden, float[] cen, float[] tokenPart, float[] ctxPart, int[] tokC, int[] tok, int[] ctx,
                   int from, int n, int d, float s) {
            for (int r = 0; r < n; r++) {
                int t = from + r;
                int xo = r * d;
                int co = tokC[t] * d;
                int to = tok[t] * d;
                int no = ctx[t] * d;
                for (int i = 0; i < d; i++) {
                    hidden[xo + i] = (s * tokenPart[to + i] + cen[co + i]) + ctxPart[no + i];
                }
            }
        }

        @Override
        String name() {
            return "scalar";
        }
    }
}
