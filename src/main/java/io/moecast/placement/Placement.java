package io.moecast.placement;

import java.util.Arrays;

/**
 * An expert placement for every MoE layer, in DeepSeek EPLB's layout, held in flat primitive arrays
 * (no object per expert or slot):
 * <ul>
 *   <li>{@code phy2log[layer * slots + slot]}: the logical expert held by each physical slot; slots are
 *       numbered GPU by GPU, so slot s lives on GPU {@code s / slotsPerGpu};</li>
 *   <li>{@code rank[layer * slots + slot]}: the replica rank of that slot among its expert's replicas
 *       (0..logcnt−1);</li>
 *   <li>{@code logcnt[layer * experts + expert]}: the number of replicas of each expert (≥ 1).</li>
 * </ul>
 * {@code log2phy} (EPLB's third output) is derived: the slot of replica r of expert e.
 *
 * <p>The load model is EPLB's: an expert's tokens are split evenly across its replicas, so slot s
 * carries {@code load[e] / logcnt[e]} for e = phy2log[s].
 */
public final class Placement {
    private final PlacementShape shape;
    final int[] phy2log;
    final int[] rank;
    final int[] logcnt;

    public Placement(PlacementShape shape) {
        this.shape = shape;
        this.phy2log = new int[shape.layers() * shape.slots()];
        this.rank = new int[shape.layers() * shape.slots()];
        this.logcnt = new int[shape.layers() * shape.experts()];
        for (int l = 0; l < shape.layers(); l++) {
            setDefault(l);
        }
    }

    /** Sets a layer to the engines' layout without load information: slot s holds expert s mod E. */
    public void setDefault(int layer) {
        int P = shape.slots();
        int E = shape.experts();
        int[] row = new int[P];
        for (int s = 0; s < P; s++) {
            row[s] = s % E;
        }
        setLayer(layer, row);
    }

    public PlacementShape shape() {
        return shape;
    }

    public int expertAt(int layer, int slot) {
        return phy2log[layer * shape.slots() + slot];
    }

    public int rankAt(int layer, int slot) {
        return rank[layer * shape.slots() + slot];
    }

    public int replicas(int layer, int expert) {
        return logcnt[layer * shape.experts() + expert];
    }

    /** Largest replica count of any expert in any layer (EPLB's {@code maxlogcnt}). */
    public int maxReplicas() {
        int m = 0;
        for (int c : logcnt) {
            m = Math.max(m, c);
        }
        return m;
    }

    /**
     * The slot of replica {@code r} of {@code expert}, or −1 when it has fewer replicas
     * ({@code log2phy[layer][expert][r]}). O(slots).
     */
    public int slotOf(int layer, int expert, int r) {
        int P = shape.slots();
        int base = layer * P;
        for (int s = 0; s < P; s++) {
            if (phy2log[base + s] == expert && rank[base + s] == r) {
                return s;
            }
        }
        return -1;
    }

    /**
     * Replaces one layer's slots ({@code row[slot]} = expert) and renumbers replica ranks in slot order.
     *
     * @throws IllegalArgumentException when an expert id is out of range or an expert has no slot
     */
    public void setLayer(int layer, int[] row) {
        int P = shape.slots();
        if (row.length != P) {
            throw new IllegalArgumentException("layer " + layer + ": " + row.length + " slots, expected " + P);
        }
        System.arraycopy(row, 0, phy2log, layer * P, P);
        renumber(layer);
    }

    /**
     * Recomputes logcnt and ranks of a layer from its phy2log row (ranks in slot order).
     *
     * @throws IllegalArgumentException when an expert id is out of range or an expert has no slot
     */
    void renumber(int layer) {
        int P = shape.slots();
        int E = shape.experts();
        int pb = layer * P;
        int eb = layer * E;
        Arrays.fill(logcnt, eb, eb + E, 0);
        for (int s = 0; s < P; s++) {
            int e = phy2log[pb + s];
            if (e < 0 || e >= E) {
                throw new IllegalArgumentException("layer " + layer + " slot " + s + ": expert " + e + " is not in [0, " + E + ")");
            }
            rank[pb + s] = logcnt[eb + e]++;
        }
        for (int e = 0; e < E; e++) {
            if (logcnt[eb + e] == 0) {
                throw new IllegalArgumentException("layer " + layer + ": expert " + e + " has no slot");
            }
        }
    }

    /** Copies another placement of the same shape into this one (no allocation). */
    public void copyFrom(Placement o) {
        if (!o.shape.equals(shape)) {
            throw new IllegalArgumentException("shape " + o.shape + " != " + shape);
        }
        System.arraycopy(o.phy2log, 0, phy2log, 0, phy2log.length);
        System.arraycopy(o.rank, 0, rank, 0, rank.length);
        System.arraycopy(o.logcnt, 0, logcnt, 0, logcnt.length);
    }

    /** Copies one layer of another placement of the same shape. */
    public void copyLayer(Placement o, int layer) {
        int P = shape.slots();
        int E = shape.experts();
        System.arraycopy(o.phy2log, layer * P, phy2log, layer * P, P);
        System.arraycopy(o.rank, layer * P, rank, layer * P, P);
        System.arraycopy(o.logcnt, layer * E, logcnt, layer * E, E);
    }

    public Placement copy() {
        Placement p = new Placement(shape);
        p.copyFrom(this);
        return p;
    }

    /**
     * Per-GPU load of one layer under EPLB's even-split model: {@code out[g]} = Σ over slots s on g of
     * {@code load[off + e] / logcnt[e]}, e = phy2log[s]. No allocation.
     */
    public void gpuLoads(int layer, double[] load, int off, double[] out) {
        int P = shape.slots();
        int E = shape.experts();
        int spg = shape.slotsPerGpu();
        int pb = layer * P;
        int eb = layer * E;
        int s = 0;
        for (int g = 0; g < shape.gpus(); g++) {
            double sum = 0;
            for (int j = 0; j < spg; j++, s++) {
                int e = phy2log[pb + s];
                sum += load[off + e] / logcnt[eb + e];
            }
            out[g] = sum;
        }
    }

    /**
     * Checks the invariants: every expert id in range, every expert placed, logcnt equal to the number
     * of its slots, ranks 0..logcnt−1 each used once.
     *
     * @throws IllegalStateException naming the first violation
     */
    public void validate() {
        int P = shape.slots();
        int E = shape.experts();
        long[] seen = new long[E];
        for (int l = 0; l < shape.layers(); l++) {
            int[] cnt = new int[E];
            Arrays.fill(seen, 0L);
            for (int s = 0; s < P; s++) {
                int e = phy2log[l * P + s];
                if (e < 0 || e >= E) {
                    throw new IllegalStateException("layer " + l + " slot " + s + ": expert " + e + " out of range");
                }
                cnt[e]++;
            }
            for (int e = 0; e < E; e++) {
                if (cnt[e] == 0) {
                    throw new IllegalStateException("layer " + l + ": expert " + e + " is not placed");
                }
                if (cnt[e] != logcnt[l * E + e]) {
                    throw new IllegalStateException("layer " + l + ": expert " + e + " has " + cnt[e] + " slots but logcnt " + logcnt[l * E + e]);
                }
            }
            boolean[][] used = new boolean[E][];
            for (int s = 0; s < P; s++) {
                int e = phy2log[l * P + s];
                int r = rank[l * P + s];
                if (used[e] == null) {
                    used[e] = new boolean[cnt[e]];
                }
                if (r < 0 || r >= cnt[e] || used[e][r]) {
                    throw new IllegalStateException("layer " + l + " slot " + s + ": bad replica rank " + r + " of expert " + e);
                }
                used[e][r] = true;
            }
        }
    }

    /** The layer's phy2log row (a copy). */
    public int[] layerRow(int layer) {
        int P = shape.slots();
        return Arrays.copyOfRange(phy2log, layer * P, (layer + 1) * P);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Placement p && p.shape.equals(shape) && Arrays.equals(p.phy2log, phy2log)
                && Arrays.equals(p.rank, rank) && Arrays.equals(p.logcnt, logcnt);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(phy2log) * 31 + Arrays.hashCode(rank);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Placement[").append(shape).append("]");
        int P = shape.slots();
        int spg = shape.slotsPerGpu();
        for (int l = 0; l < Math.min(shape.layers(), 4); l++) {
            sb.append("\n  layer ").append(l).append(':');
            for (int s = 0; s < P; s++) {
                sb.append(s % spg == 0 ? " |" : " ").append(phy2log[l * P + s]);
            }
        }
        return sb.toString();
    }
}
