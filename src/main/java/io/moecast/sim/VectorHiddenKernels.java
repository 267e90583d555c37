package io.moecast.sim;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** {@link HiddenKernels} on the Vector API (loaded reflectively, see {@link HiddenKernels#best()}). */
final class VectorHiddenKernels extends HiddenKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Override
    void build(float[] hidden, float[] cen, float[] tokenPart, float[] ctxPart, int[] tokC, int[] tok, int[] ctx,
               int from, int n, int d, float s) {
        int bound = F.loopBound(d);
        for (int r = 0; r < n; r++) {
            int t = from + r;
            int xo = r * d;
            int co = tokC[t] * d;
            int to = tok[t] * d;
            int no = ctx[t] * d;
            int i = 0;
            for (; i < bound; i += F.length()) {
                FloatVector o = FloatVector.fromArray(F, tokenPart, to + i);
                FloatVector c = FloatVector.fromArray(F, cen, co + i);
                FloatVector x = FloatVector.fromArray(F, ctxPart, no + i);
                o.mul(s).add(c).add(x).intoArray(hidden, xo + i);
            }
            for (; i < d; i++) {
                hidden[xo + i] = (s * tokenPart[to + i] + cen[co + i]) + ctxPart[no + i];
            }
        }
    }

    @Override
    String name() {
        return "vector";
    }
}
