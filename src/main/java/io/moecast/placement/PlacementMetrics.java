package io.moecast.placement;

/**
 * The balance and migration measures the field reports, on primitive arrays:
 * <ul>
 *   <li><b>balancedness</b> of a layer = mean GPU load / max GPU load (1 = perfect; vLLM, the
 *       ADRS/OpenEvolve EPLB evaluator);</li>
 *   <li><b>overall balancedness</b> = Σ over layers of mean / Σ over layers of max (as vLLM logs it);</li>
 *   <li><b>max/mean</b>, its inverse (TensorRT-LLM reports (max − mean)/mean);</li>
 *   <li><b>experts moved</b> between two placements of a layer: replicas that must be copied onto a GPU
 *       that did not hold that expert before (per GPU, multiset difference new − old).</li>
 * </ul>
 */
public final class PlacementMetrics {
    private PlacementMetrics() {
    }

    /** Max of {@code gpu[0..n)}. */
    public static double max(double[] gpu, int n) {
        double m = gpu[0];
        for (int g = 1; g < n; g++) {
            if (gpu[g] > m) {
                m = gpu[g];
            }
        }
        return m;
    }

    public static double sum(double[] gpu, int n) {
        double s = 0;
        for (int g = 0; g < n; g++) {
            s += gpu[g];
        }
        return s;
    }

    /** Mean / max of {@code gpu[0..n)}; 1 when every GPU is idle. */
    public static double balancedness(double[] gpu, int n) {
        double max = max(gpu, n);
        return max <= 0 ? 1.0 : sum(gpu, n) / n / max;
    }

    /**
     * Replicas of a layer that {@code to} places on a GPU where {@code from} has no (or fewer) copies of
     * that expert. {@code scratch} must have length ≥ gpus·experts and be all zero; it is left all zero.
     */
    public static int moves(Placement from, Placement to, int layer, int[] scratch) {
        int P = from.shape().slots();
        return moves(from.phy2log, layer * P, to.phy2log, layer * P, from.shape(), scratch);
    }

    /** {@link #moves(Placement, Placement, int, int[])} on raw phy2log rows starting at the offsets. */
    public static int moves(int[] from, int fromOff, int[] to, int toOff, PlacementShape s, int[] scratch) {
        int P = s.slots();
        int E = s.experts();
        int spg = s.slotsPerGpu();
        for (int q = 0; q < P; q++) {
            scratch[(q / spg) * E + from[fromOff + q]]++;
        }
        int moves = 0;
        for (int q = 0; q < P; q++) {
            int k = (q / spg) * E + to[toOff + q];
            if (scratch[k] > 0) {
                scratch[k]--;
            } else {
                moves++;
            }
        }
        for (int q = 0; q < P; q++) {
            scratch[(q / spg) * E + from[fromOff + q]] = 0;
        }
        return moves;
    }

    /** Moves summed over all layers (allocates its scratch; for reports and tests). */
    public static int moves(Placement from, Placement to) {
        int[] scratch = new int[from.shape().gpus() * from.shape().experts()];
        int m = 0;
        for (int l = 0; l < from.shape().layers(); l++) {
            m += moves(from, to, l, scratch);
        }
        return m;
    }

    /** Max GPU load of a layer under {@code p} for {@code load[off..]}; {@code gpu} is scratch (length ≥ G). */
    public static double maxLoad(Placement p, int layer, double[] load, int off, double[] gpu) {
        p.gpuLoads(layer, load, off, gpu);
        return max(gpu, p.shape().gpus());
    }

    /**
     * Overall balancedness of a placement for a load (Σ_l mean / Σ_l max); allocates a G-sized scratch.
     */
    public static double overallBalancedness(Placement p, double[] load) {
        PlacementShape s = p.shape();
        double[] gpu = new double[s.gpus()];
        double means = 0;
        double maxes = 0;
        for (int l = 0; l < s.layers(); l++) {
            p.gpuLoads(l, load, l * s.experts(), gpu);
            means += sum(gpu, s.gpus()) / s.gpus();
            maxes += max(gpu, s.gpus());
        }
        return maxes <= 0 ? 1.0 : means / maxes;
    }
}
