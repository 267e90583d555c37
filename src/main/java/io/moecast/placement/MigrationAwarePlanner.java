package io.moecast.placement;

/**
 * Re-plans with a cost for moving experts. {@link #planLayer} reads the current placement from its
 * {@code out} argument and changes it only when that pays:
 * <ol>
 *   <li>Plan from scratch with {@link EplbPlanner}, then relabel the new plan's GPUs to match the
 *       current ones (greedy maximum overlap: GPUs are interchangeable, so the plan is the same but far
 *       fewer experts move), keeping experts that stay on a GPU in their current slots.</li>
 *   <li>If the planned max GPU load does not improve on the current placement's by more than
 *       {@code threshold} (relative), keep the current placement: nothing moves.</li>
 *   <li>If the relabelled plan moves at most {@code maxMoves} experts in this layer, adopt it.</li>
 *   <li>Otherwise improve the current placement greedily within the move budget: each step applies
 *       the change with the largest max-load reduction per moved expert, either a swap of two slots on
 *       different GPUs (2 moves) or re-targeting a redundant replica to an expert on the hottest GPU
 *       (1 move); no change puts two replicas of one expert on one GPU. The result is adopted if it
 *       beats the threshold.</li>
 * </ol>
 * Moves are counted as {@link PlacementMetrics#moves}. No allocation after construction.
 */
public final class MigrationAwarePlanner implements Planner {
    public static final double DEFAULT_THRESHOLD = 0.005;

    private final PlacementShape shape;
    private final EplbPlanner eplb;
    private final double threshold;
    private final int maxMoves;
    private final int G;
    private final int E;
    private final int P;
    private final int spg;

    private final Placement target;
    private final int[] lastMoves;
    private final boolean[] lastChanged;
    private final double[] gpu;
    private final double[] gpu2;
    private final int[] overlap;   // [newGpu * G + oldGpu]
    private final int[] present;   // [gpu * E + expert] replicas (current placement / working row)
    private final int[] perm;      // new GPU -> old GPU
    private final boolean[] usedNew;
    private final boolean[] usedOld;
    private final int[] need;      // per expert: copies still to place on the GPU being built
    private final int[] row;       // working phy2log row
    private final int[] cnt;       // working logcnt
    private final int[] scratch;   // gpus * experts, kept zero
    private final int[] gpuStart;  // per expert: start of its GPUs in gpuList (CSR, one entry per slot)
    private final int[] gpuList;
    private final int[] fill;
    private final int[] byLoad;    // GPUs by load, descending
    private final double[] slotLoad;
    private final double[] slotGain;
    private final double[] slotLoss;
    private final int[] matchMax;    // relabel's matching: per new GPU, best overlap with an unused old GPU
    private final int[] matchArg;
    private final int[] redundantSlots;

    /**
     * @param threshold minimum relative reduction of the planned max GPU load (e.g. 0.02 = 2%) for a
     *                  layer to change at all
     * @param maxMoves  cap on replicas moved per layer per re-plan (≥ 1)
     */
    public MigrationAwarePlanner(PlacementShape shape, double threshold, int maxMoves) {
        if (!(threshold >= 0) || threshold >= 1) {
            throw new IllegalArgumentException("migration threshold must be in [0, 1), got " + threshold);
        }
        if (maxMoves < 1) {
            throw new IllegalArgumentException("max moves per layer must be at least 1, got " + maxMoves);
        }
        this.shape = shape;
        this.eplb = new EplbPlanner(shape);
        this.threshold = threshold;
        this.maxMoves = maxMoves;
        this.G = shape.gpus();
        this.E = shape.experts();
        this.P = shape.slots();
        this.spg = shape.slotsPerGpu();
        this.target = new Placement(shape);
        this.lastMoves = new int[shape.layers()];
        this.lastChanged = new boolean[shape.layers()];
        this.gpu = new double[G];
        this.gpu2 = new double[G];
        this.overlap = new int[G * G];
        this.present = new int[G * E];
        this.perm = new int[G];
        this.usedNew = new boolean[G];
        this.usedOld = new boolean[G];
        this.need = new int[E];
        this.row = new int[P];
        this.cnt = new int[E];
        this.scratch = new int[G * E];
        this.gpuStart = new int[E + 1];
        this.gpuList = new int[P];
        this.fill = new int[E];
        this.byLoad = new int[G];
        this.slotLoad = new double[P];
        this.slotGain = new double[P];
        this.slotLoss = new double[P];
        this.matchMax = new int[G];
        this.matchArg = new int[G];
        this.redundantSlots = new int[P + 1];
    }

    /** Default cap: one GPU's worth of slots per layer. */
    public static int defaultMaxMoves(PlacementShape shape) {
        return Math.max(1, shape.slotsPerGpu());
    }

    @Override
    public String name() {
        return "migration";
    }

    @Override
    public PlacementShape shape() {
        return shape;
    }

    public double threshold() {
        return threshold;
    }

    public int maxMoves() {
        return maxMoves;
    }

    /** Replicas moved in a layer by the last {@link #planLayer} call on it. */
    public int lastMoves(int layer) {
        return lastMoves[layer];
    }

    /** Whether the last call changed the layer. */
    public boolean lastChanged(int layer) {
        return lastChanged[layer];
    }

    @Override
    public void planLayer(int layer, double[] load, int off, Placement out) {
        lastMoves[layer] = 0;
        lastChanged[layer] = false;
        double curMax = PlacementMetrics.maxLoad(out, layer, load, off, gpu);
        if (curMax <= 0) {
            return;
        }
        eplb.planLayer(layer, load, off, target);
        relabel(layer, out);
        double tgtMax = PlacementMetrics.maxLoad(target, layer, load, off, gpu);
        if ((curMax - tgtMax) / curMax <= threshold) {
            return;
        }
        int full = PlacementMetrics.moves(out, target, layer, scratch);
        if (full <= maxMoves) {
            out.copyLayer(target, layer);
            lastMoves[layer] = full;
            lastChanged[layer] = full > 0;
            return;
        }
        int used = localSearch(layer, load, off, out);
        double newMax = rowMax(load, off);
        if (used > 0 && (curMax - newMax) / curMax > threshold) {
            int moved = PlacementMetrics.moves(out.phy2log, layer * P, row, 0, shape, scratch);
            System.arraycopy(row, 0, out.phy2log, layer * P, P);
            out.renumber(layer);
            lastMoves[layer] = moved;
            lastChanged[layer] = moved > 0;
        }
    }

    /**
     * Relabels the GPUs of {@code target}'s layer to overlap most with {@code cur}'s, and within each
     * GPU keeps staying experts in their current slots. Rewrites target's layer (ranks renumbered).
     */
    private void relabel(int layer, Placement cur) {
        int pb = layer * P;
        java.util.Arrays.fill(overlap, 0);
        gpusOf(cur.phy2log, pb);
        for (int q = 0; q < P; q++) {
            int a = q / spg;
            int e = target.phy2log[pb + q];
            // each current GPU b holding e once (its slots are consecutive, so repeats are adjacent)
            int last = -1;
            for (int k = gpuStart[e]; k < gpuStart[e + 1]; k++) {
                int b = gpuList[k];
                if (b != last) {
                    overlap[a * G + b]++;
                    last = b;
                }
            }
        }
        // Greedy matching: each round takes the largest overlap among unused new and old GPUs, the first
        // in row-major order. Kept per row: its largest overlap over unused columns and the first column
        // with it; a round reads the rows and rescans only those whose column was taken.
        java.util.Arrays.fill(usedNew, false);
        java.util.Arrays.fill(usedOld, false);
        for (int a = 0; a < G; a++) {
            rowBest(a);
        }
        for (int k = 0; k < G; k++) {
            int bestA = -1;
            int best = -1;
            for (int a = 0; a < G; a++) {
                if (!usedNew[a] && matchMax[a] > best) {
                    best = matchMax[a];
                    bestA = a;
                }
            }
            int bestB = matchArg[bestA];
            usedNew[bestA] = true;
            usedOld[bestB] = true;
            for (int a = 0; a < G; a++) {
                if (!usedNew[a] && matchArg[a] == bestB && k + 1 < G) {
                    rowBest(a);
                }
            }
            perm[bestA] = bestB;
        }
        for (int a = 0; a < G; a++) {
            int b = perm[a];
            for (int j = 0; j < spg; j++) {
                need[target.phy2log[pb + a * spg + j]]++;
            }
            // keep experts already on old GPU b in their slots
            for (int j = 0; j < spg; j++) {
                int e = cur.phy2log[pb + b * spg + j];
                if (need[e] > 0) {
                    need[e]--;
                    row[b * spg + j] = e;
                } else {
                    row[b * spg + j] = -1;
                }
            }
            int j = 0;
            for (int i = 0; i < spg; i++) {
                int e = target.phy2log[pb + a * spg + i];
                if (need[e] > 0) {
                    need[e]--;
                    while (row[b * spg + j] >= 0) {
                        j++;
                    }
                    row[b * spg + j] = e;
                }
            }
        }
        System.arraycopy(row, 0, target.phy2log, pb, P);
        target.renumber(layer);
    }

    /** matchMax/matchArg of new GPU a: its largest overlap with an unused old GPU, and the first such GPU. */
    private void rowBest(int a) {
        int best = -1;
        int arg = -1;
        for (int b = 0; b < G; b++) {
            if (!usedOld[b] && overlap[a * G + b] > best) {
                best = overlap[a * G + b];
                arg = b;
            }
        }
        matchMax[a] = best;
        matchArg[a] = arg;
    }

    /** Max GPU load of the working row for the load. */
    private double rowMax(double[] load, int off) {
        rowLoads(load, off, gpu2);
        return PlacementMetrics.max(gpu2, G);
    }

    private void rowLoads(double[] load, int off, double[] out) {
        int q = 0;
        for (int g = 0; g < G; g++) {
            double s = 0;
            for (int j = 0; j < spg; j++, q++) {
                int e = row[q];
                s += load[off + e] / cnt[e];
            }
            out[g] = s;
        }
    }

    /** Greedy improvement of the current layer within the move budget; leaves the result in row/cnt. */
    private int localSearch(int layer, double[] load, int off, Placement cur) {
        int pb = layer * P;
        System.arraycopy(cur.phy2log, pb, row, 0, P);
        java.util.Arrays.fill(cnt, 0);
        java.util.Arrays.fill(present, 0);
        for (int q = 0; q < P; q++) {
            cnt[row[q]]++;
            present[(q / spg) * E + row[q]]++;
        }
        int used = 0;
        while (used < maxMoves) {
            rowLoads(load, off, gpu);
            int gm = 0;
            for (int g = 1; g < G; g++) {
                if (gpu[g] > gpu[gm]) {
                    gm = g;
                }
            }
            double maxL = gpu[gm];
            // top three GPUs by load, for "max over the others" after a swap
            int t0 = -1;
            int t1 = -1;
            int t2 = -1;
            for (int g = 0; g < G; g++) {
                if (t0 < 0 || gpu[g] > gpu[t0]) {
                    t2 = t1;
                    t1 = t0;
                    t0 = g;
                } else if (t1 < 0 || gpu[g] > gpu[t1]) {
                    t2 = t1;
                    t1 = g;
                } else if (t2 < 0 || gpu[g] > gpu[t2]) {
                    t2 = g;
                }
            }
            double eps = 1e-12 * maxL;
            double bestScore = 0;
            int kind = 0;
            int bi = -1;
            int bj = -1;
            int by = -1;
            // per slot: its replica's load, and for a redundant replica (cnt >= 2) the load its other
            // replicas gain if it goes (same expressions as below, computed once per step)
            for (int q = 0; q < P; q++) {
                int e = row[q];
                double w = load[off + e];
                slotLoad[q] = w / cnt[e];
                slotGain[q] = cnt[e] >= 2 ? w / (cnt[e] - 1) - w / cnt[e] : 0;
                slotLoss[q] = cnt[e] >= 2 ? -w / (cnt[e] - 1) : 0;
            }
            int nRedundant = 0; // slots whose expert has >= 2 replicas, ascending
            for (int q = 0; q < P; q++) {
                redundantSlots[nRedundant] = q;
                nRedundant += cnt[row[q]] >= 2 ? 1 : 0;
            }
            // swaps: slot i on gm <-> slot j elsewhere (2 moves)
            if (used + 2 <= maxMoves) {
                for (int i = gm * spg; i < (gm + 1) * spg; i++) {
                    int x = row[i];
                    double lx = slotLoad[i];
                    for (int g = 0; g < G; g++) {
                        if (g == gm || present[g * E + x] > 0) {
                            continue;
                        }
                        for (int j = g * spg; j < (g + 1) * spg; j++) {
                            int y = row[j];
                            if (y == x || present[gm * E + y] > 0) {
                                continue;
                            }
                            double ly = slotLoad[j];
                            if (ly >= lx) {
                                continue;
                            }
                            double a = maxL - lx + ly;
                            double b = gpu[g] - ly + lx;
                            double rest = t0 != gm && t0 != g ? gpu[t0] : t1 != gm && t1 != g ? gpu[t1] : t2 >= 0 && t2 != gm && t2 != g ? gpu[t2] : 0;
                            double nm = Math.max(Math.max(a, b), rest);
                            double score = (maxL - nm) / 2;
                            if (maxL - nm > eps && score > bestScore) {
                                bestScore = score;
                                kind = 1;
                                bi = i;
                                bj = j;
                            }
                        }
                    }
                }
            }
            // re-target: a redundant replica (its expert has >= 2 copies) becomes a copy of y on gm (1 move).
            // Only the GPUs holding x or y and GPU g change; every other GPU h keeps gpu[h], so the new
            // max is the max over those few and the most loaded GPU outside them.
            gpusOf(row, 0);
            sortByLoad();
            for (int i = gm * spg; i < (gm + 1) * spg; i++) {
                int y = row[i];
                if (firstOnGpu(i, gm, y) != i) {
                    continue; // each expert on gm once
                }
                double wy = load[off + y];
                double dy = wy / cnt[y] - wy / (cnt[y] + 1);
                double gainY = wy / (cnt[y] + 1);
                for (int r = 0; r < nRedundant; r++) {
                    int j = redundantSlots[r];
                    int x = row[j];
                    if (x == y) {
                        continue;
                    }
                    int g = j / spg;
                    if (present[g * E + y] > 0) {
                        continue;
                    }
                    double dx = slotGain[j];
                    double adjG = slotLoss[j] + gainY; // GPU g: x's replica there becomes y's
                    double nm = 0;
                    // g holds x (slot j), so it is among x's GPUs
                    for (int k = gpuStart[x]; k < gpuStart[x + 1]; k++) {
                        double v = retargeted(gpuList[k], g, x, y, dx, dy, adjG);
                        if (v > nm) {
                            nm = v;
                        }
                    }
                    for (int k = gpuStart[y]; k < gpuStart[y + 1]; k++) {
                        double v = retargeted(gpuList[k], g, x, y, dx, dy, adjG);
                        if (v > nm) {
                            nm = v;
                        }
                    }
                    for (int k = 0; k < G; k++) {
                        int h = byLoad[k];
                        if (h != g && present[h * E + x] == 0 && present[h * E + y] == 0) {
                            if (gpu[h] > nm) {
                                nm = gpu[h];
                            }
                            break;
                        }
                    }
                    double score = maxL - nm;
                    if (score > eps && score > bestScore) {
                        bestScore = score;
                        kind = 2;
                        bj = j;
                        by = y;
                    }
                }
            }
            if (kind == 0) {
                break;
            }
            if (kind == 1) {
                int x = row[bi];
                int y = row[bj];
                int g = bj / spg;
                row[bi] = y;
                row[bj] = x;
                present[gm * E + x]--;
                present[gm * E + y]++;
                present[g * E + y]--;
                present[g * E + x]++;
                used += 2;
            } else {
                int x = row[bj];
                int g = bj / spg;
                row[bj] = by;
                cnt[x]--;
                cnt[by]++;
                present[g * E + x]--;
                present[g * E + by]++;
                used += 1;
            }
        }
        return used;
    }

    /**
     * GPU h's load after re-targeting a replica of x on GPU g to y: {@code adjG} is
     * {@code -wx / (cnt[x] - 1) + wy / (cnt[y] + 1)} (the same doubles the full scan computed).
     */
    private double retargeted(int h, int g, int x, int y, double dx, double dy, double adjG) {
        double v = gpu[h] + present[h * E + x] * dx - present[h * E + y] * dy;
        if (h == g) {
            v += adjG;
        }
        return v;
    }

    /** gpuStart/gpuList: for each expert, the GPU of each of its slots in {@code r[off..off+P)}, in slot order. */
    private void gpusOf(int[] r, int off) {
        java.util.Arrays.fill(gpuStart, 0);
        for (int q = 0; q < P; q++) {
            gpuStart[r[off + q] + 1]++;
        }
        for (int e = 0; e < E; e++) {
            gpuStart[e + 1] += gpuStart[e];
            fill[e] = gpuStart[e];
        }
        for (int q = 0; q < P; q++) {
            gpuList[fill[r[off + q]]++] = q / spg;
        }
    }

    /** byLoad: the GPUs by {@code gpu[]} descending (insertion sort; the order among equal loads is immaterial). */
    private void sortByLoad() {
        for (int k = 0; k < G; k++) {
            int h = k;
            double v = gpu[h];
            int j = k - 1;
            while (j >= 0 && gpu[byLoad[j]] < v) {
                byLoad[j + 1] = byLoad[j];
                j--;
            }
            byLoad[j + 1] = h;
        }
    }

    private int firstOnGpu(int i, int g, int e) {
        for (int q = g * spg; q <= i; q++) {
            if (row[q] == e) {
                return q;
            }
        }
        return i;
    }
}
