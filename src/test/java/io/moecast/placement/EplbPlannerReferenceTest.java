package io.moecast.placement;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link EplbPlanner} against {@link Reference}, a plain port of EPLB's {@code rebalance_experts} with
 * stable sorts and argmin/argmax scans (no heaps, trees or radix sorts), on many random loads: ties,
 * zeros, −0.0, equal loads, near-ties one ulp apart, subnormal and huge values, odd shapes. Plans must
 * be identical, slot for slot and rank for rank.
 */
class EplbPlannerReferenceTest {

    /**
     * The planner's semantics, written as directly as possible:
     * <ul>
     *   <li>balanced packing sorts items by weight descending, ties by lower index, where weights are
     *       compared on their IEEE bits with the lowest {@code ceil(log2 n)} bits cleared (n items), and
     *       each item goes to the non-full pack with the smallest weight, compared on its bits with the
     *       lowest {@code log2 M} bits cleared (M = the power of two ≥ m packs, ≥ 2), ties to the lower
     *       pack; when n/m = 1 item i goes to pack i;</li>
     *   <li>replication: each redundant slot goes to the first expert with the largest load/replicas
     *       (exact double comparison).</li>
     * </ul>
     */
    static final class Reference {
        static void plan(PlacementShape s, double[] load, Placement out) {
            int E = s.experts();
            int P = s.slots();
            boolean hier = s.hierarchical();
            int nodes = hier ? s.nodes() : 1;
            int groups = hier ? s.groups() : 1;
            int gsz = E / groups;
            int gpn = groups / nodes;
            int epn = E / nodes;
            int ppn = P / nodes;
            int gpusPerNode = s.gpus() / nodes;
            int spg = s.slotsPerGpu();
            for (int l = 0; l < s.layers(); l++) {
                int off = l * E;
                double[] gload = new double[groups];
                for (int g = 0; g < groups; g++) {
                    double sum = 0;
                    for (int i = 0; i < gsz; i++) {
                        sum += load[off + g * gsz + i];
                    }
                    gload[g] = sum;
                }
                int[][] gp = packing(gload, nodes);
                int[] mlog2log = new int[E];
                for (int g = 0; g < groups; g++) {
                    for (int i = 0; i < gsz; i++) {
                        mlog2log[(gp[0][g] * gpn + gp[1][g]) * gsz + i] = g * gsz + i;
                    }
                }
                for (int n = 0; n < nodes; n++) {
                    double[] tok = new double[epn];
                    for (int i = 0; i < epn; i++) {
                        tok[i] = load[off + mlog2log[n * epn + i]];
                    }
                    int[] cnt = new int[epn];
                    Arrays.fill(cnt, 1);
                    int[] phy2m = new int[ppn];
                    int[] prank = new int[ppn];
                    for (int j = 0; j < epn; j++) {
                        phy2m[j] = j;
                    }
                    for (int j = epn; j < ppn; j++) {
                        int best = 0;
                        for (int i = 1; i < epn; i++) {
                            if (tok[i] / cnt[i] > tok[best] / cnt[best]) {
                                best = i;
                            }
                        }
                        phy2m[j] = best;
                        prank[j] = cnt[best]++;
                    }
                    double[] w = new double[ppn];
                    for (int j = 0; j < ppn; j++) {
                        w[j] = tok[phy2m[j]] / cnt[phy2m[j]];
                    }
                    int[][] pk = packing(w, gpusPerNode);
                    for (int j = 0; j < ppn; j++) {
                        int q = l * P + n * ppn + pk[0][j] * spg + pk[1][j];
                        out.phy2log[q] = mlog2log[n * epn + phy2m[j]];
                        out.rank[q] = prank[j];
                    }
                    for (int i = 0; i < epn; i++) {
                        out.logcnt[off + mlog2log[n * epn + i]] = cnt[i];
                    }
                }
            }
        }

        /** {pack, rank in pack} of each item. */
        static int[][] packing(double[] w, int m) {
            int n = w.length;
            int per = n / m;
            int[] pack = new int[n];
            int[] rank = new int[n];
            if (per == 1) {
                for (int i = 0; i < n; i++) {
                    pack[i] = i;
                }
                return new int[][] {pack, rank};
            }
            int b = 32 - Integer.numberOfLeadingZeros(Math.max(1, n - 1));
            long itemMask = (1L << b) - 1;
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            // stable: equal quantized weights keep ascending index order
            Arrays.sort(order, (x, y) -> Long.compare(quant(w[y], itemMask), quant(w[x], itemMask)));
            int M = Integer.highestOneBit(Math.max(1, m - 1)) << 1;
            long packMask = M - 1L;
            double[] pw = new double[m];
            int[] pc = new int[m];
            for (int item : order) {
                int best = -1;
                for (int p = 0; p < m; p++) {
                    if (pc[p] < per && (best < 0 || quant(pw[p], packMask) < quant(pw[best], packMask))) {
                        best = p;
                    }
                }
                pack[item] = best;
                rank[item] = pc[best]++;
                pw[best] += w[item];
            }
            return new int[][] {pack, rank};
        }

        static long quant(double v, long mask) {
            return Double.doubleToRawLongBits(v + 0.0) & ~mask;
        }
    }

    private static final int[][] SHAPES = { // layers, experts, redundant, gpus, nodes, groups
            {2, 256, 32, 32, 4, 8}, {2, 256, 32, 32, 1, 8}, {2, 256, 32, 32, 8, 8}, {2, 256, 0, 32, 4, 8},
            {2, 256, 32, 32, 2, 8}, {2, 256, 96, 32, 4, 8}, {2, 64, 16, 8, 2, 8}, {3, 16, 4, 4, 1, 1},
            {3, 16, 8, 8, 1, 1}, {2, 64, 0, 8, 1, 1}, {1, 7, 1, 2, 1, 1}, {1, 5, 3, 1, 1, 1},
            {2, 60, 4, 4, 3, 4}, {2, 60, 12, 12, 3, 6}, {2, 12, 4, 8, 2, 4}, {2, 12, 4, 8, 1, 4},
            {2, 48, 24, 24, 2, 4}, {1, 1, 0, 1, 1, 1}, {1, 1, 3, 2, 1, 1}, {2, 30, 6, 12, 3, 6},
            {2, 160, 40, 20, 5, 10}, {2, 40, 0, 5, 1, 1}, {2, 33, 3, 3, 1, 1}, {2, 96, 48, 48, 3, 12},
            {1, 512, 64, 64, 8, 16}, {1, 256, 288, 32, 4, 8}, {2, 128, 8, 17, 1, 1}, {2, 100, 2, 6, 1, 1},
            {2, 64, 64, 4, 4, 4}, {2, 16, 112, 16, 4, 4}};

    /** One of several load families, chosen by {@code kind}; all finite and non-negative. */
    static double[] loads(Random rnd, int n, int kind) {
        double[] a = new double[n];
        switch (kind) {
            case 0 -> { // heavy-tailed doubles
                for (int i = 0; i < n; i++) {
                    a[i] = Math.pow(rnd.nextDouble(), -1.5);
                }
            }
            case 1 -> { // small integers: many exact ties
                for (int i = 0; i < n; i++) {
                    a[i] = rnd.nextInt(4);
                }
            }
            case 2 -> Arrays.fill(a, 7.0); // all equal
            case 3 -> { // zeros and -0.0 with a few loads
                for (int i = 0; i < n; i++) {
                    int r = rnd.nextInt(10);
                    a[i] = r == 0 ? 1 + rnd.nextInt(5) : r < 5 ? -0.0 : 0.0;
                }
            }
            case 4 -> { // near-ties: one value and its neighbours a few ulps away
                double base = 1000.0 + rnd.nextDouble();
                for (int i = 0; i < n; i++) {
                    double v = base;
                    for (int k = rnd.nextInt(300); k > 0; k--) {
                        v = Math.nextUp(v);
                    }
                    a[i] = v;
                }
            }
            case 5 -> { // token counts (as the traces give them)
                for (int i = 0; i < n; i++) {
                    a[i] = (int) (rnd.nextDouble() * rnd.nextDouble() * 20_000);
                }
            }
            case 6 -> { // wide range: subnormal to huge (sums may reach +inf)
                for (int i = 0; i < n; i++) {
                    int r = rnd.nextInt(6);
                    a[i] = switch (r) {
                        case 0 -> Double.MIN_VALUE * rnd.nextInt(1000);
                        case 1 -> Double.MAX_VALUE * rnd.nextDouble();
                        case 2 -> 1e-300 * rnd.nextDouble();
                        case 3 -> 0.0;
                        default -> rnd.nextDouble() * 1e6;
                    };
                }
            }
            case 7 -> { // one hot expert, the rest equal
                Arrays.fill(a, 1.0);
                a[rnd.nextInt(n)] = 1 + rnd.nextInt(1000);
            }
            case 8 -> { // shares summing to one (forecast-like), with decimal fractions
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    a[i] = rnd.nextInt(50) / 10.0;
                    sum += a[i];
                }
                for (int i = 0; i < n && sum > 0; i++) {
                    a[i] /= sum;
                }
            }
            default -> { // descending then ascending runs of near-equal values
                for (int i = 0; i < n; i++) {
                    a[i] = (i % 2 == 0 ? n - i : i) + (rnd.nextBoolean() ? 0.5 : 0.0);
                }
            }
        }
        return a;
    }

    @Test
    void identicalToReferenceOnRandomLoads() {
        Random rnd = new Random(20261130);
        int plans = 0;
        for (int[] sh : SHAPES) {
            PlacementShape s = PlacementShape.of(sh[0], sh[1], sh[2], sh[3], sh[4], sh[5]);
            EplbPlanner planner = new EplbPlanner(s); // reused: the workspace must not leak between plans
            Placement got = new Placement(s);
            Placement want = new Placement(s);
            int trials = s.experts() >= 256 ? 30 : 60;
            for (int t = 0; t < trials; t++) {
                int kind = t % 10;
                double[] load = loads(rnd, s.layers() * s.experts(), kind);
                planner.plan(load, got);
                Reference.plan(s, load, want);
                for (int l = 0; l < s.layers(); l++) {
                    String where = s + " kind " + kind + " trial " + t + " layer " + l;
                    assertArrayEquals(want.layerRow(l), got.layerRow(l), where + " phy2log");
                    for (int q = 0; q < s.slots(); q++) {
                        assertEquals(want.rankAt(l, q), got.rankAt(l, q), where + " rank of slot " + q);
                    }
                    for (int e = 0; e < s.experts(); e++) {
                        assertEquals(want.replicas(l, e), got.replicas(l, e), where + " logcnt of expert " + e);
                    }
                }
                plans++;
            }
        }
        assertEquals(true, plans > 1000, "plans: " + plans);
    }
}
