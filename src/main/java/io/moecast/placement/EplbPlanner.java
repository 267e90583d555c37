package io.moecast.placement;

/**
 * DeepSeek EPLB's {@code rebalance_experts} (deepseek-ai/EPLB, {@code eplb.py}), reimplemented on
 * primitive arrays with a preallocated workspace. For each layer:
 * <ol>
 *   <li><b>Groups → nodes</b> (hierarchical policy, used when groups % nodes == 0; otherwise the
 *       global policy runs the same steps with one group on one node): sum the load of each expert
 *       group and {@linkplain #balancedPacking pack} the groups onto the nodes. Within a node, experts
 *       are renumbered group by group in packing order.</li>
 *   <li><b>Replicate within each node</b>: the node's {@code slots/nodes − experts/nodes} redundant
 *       slots are added one at a time, each to the expert with the highest load per replica
 *       {@code load/logcnt} (ties: the lower renumbered index).</li>
 *   <li><b>Replicas → GPUs</b>: each replica carries {@code load/logcnt}; the node's replicas are
 *       packed onto its GPUs, slots/GPUs each, and numbered GPU by GPU in packing order.</li>
 * </ol>
 * <b>Balanced packing</b> of n items into m packs of exactly n/m: items in descending weight (ties:
 * lower index first), each onto the lightest pack that is not full (ties: lower pack index); when
 * n/m = 1 item i goes to pack i, as in the reference.
 *
 * <p>Differences from the Python reference: loads are compared in double precision (the reference
 * casts to float32, so loads equal in float32 but not in double can order differently; the sort treats
 * loads within about 1e-13 relative as equal, see {@link IndexSort}), and sorting is by (weight desc,
 * index asc) where the reference's {@code torch.sort} leaves the order of equal weights unspecified. Like the reference, a GPU may receive two replicas of one expert.
 *
 * <p>Per node, one bucket sort of the node's experts (see {@link IndexSort}) serves both replication
 * (only the top R experts can get a replica) and the packing order (merged with the re-weighted
 * replicas); packing uses a tournament tree. Cost per layer: about O(E + R log R + P log G) for
 * typical loads (O(E log E) at worst, when many loads fall in one bucket); no allocation after
 * construction. {@code EplbPlannerReferenceTest} checks plans against a plain port of the reference.
 */
public final class EplbPlanner implements Planner {
    private final PlacementShape shape;
    private final int E;
    private final int P;
    private final int nodes;
    private final int groups;
    private final int groupSize;
    private final int groupsPerNode;
    private final int ePerNode;
    private final int pPerNode;
    private final int gpusPerNode;
    private final int spg;

    // workspace
    private final double[] groupLoad;
    private final int[] groupPack;
    private final int[] groupRank;
    private final int[] log2mlog;
    private final int[] mlog2log;
    private final double[] tok;       // per node: load of renumbered expert i
    private final int[] mcnt;         // per node: replicas of renumbered expert i
    private final int[] phy2mlog;     // per node: renumbered expert of node-local replica j
    private final int[] phyrank;
    private final double[] tokPhy;
    private final int[] pack;
    private final int[] rankInPack;
    private final int[] pphy2phy;
    private final int[] heap;
    private final double[] key;
    private final int[] sortIdx;
    private final long[] sortWork;
    private final long[] sortTmp;
    private final int[] bucketCount;
    private final long[] extraWork;   // replicas of replicated experts, packed
    private final long pMask;         // IndexSort's index mask for pPerNode items
    private final double[] packWeight;
    private final int[] packCount;
    private final long[] packTree;

    public EplbPlanner(PlacementShape shape) {
        this.shape = shape;
        this.E = shape.experts();
        this.P = shape.slots();
        boolean hier = shape.hierarchical();
        this.nodes = hier ? shape.nodes() : 1;
        this.groups = hier ? shape.groups() : 1;
        this.groupSize = E / groups;
        this.groupsPerNode = groups / nodes;
        this.ePerNode = E / nodes;
        this.pPerNode = P / nodes;
        this.gpusPerNode = shape.gpus() / nodes;
        this.spg = shape.slotsPerGpu();
        groupLoad = new double[groups];
        groupPack = new int[groups];
        groupRank = new int[groups];
        log2mlog = new int[E];
        mlog2log = new int[E];
        tok = new double[ePerNode];
        mcnt = new int[ePerNode];
        phy2mlog = new int[pPerNode];
        phyrank = new int[pPerNode];
        tokPhy = new double[pPerNode];
        pack = new int[pPerNode];
        rankInPack = new int[pPerNode];
        pphy2phy = new int[pPerNode];
        heap = new int[ePerNode];
        key = new double[ePerNode];
        sortIdx = new int[Math.max(groups, pPerNode)];
        sortWork = new long[Math.max(groups, pPerNode)];
        sortTmp = new long[Math.max(groups, pPerNode)];
        bucketCount = new int[IndexSort.buckets(Math.max(groups, pPerNode))];
        extraWork = new long[pPerNode];
        pMask = (1L << (32 - Integer.numberOfLeadingZeros(Math.max(1, pPerNode - 1)))) - 1;
        int maxPacks = Math.max(nodes, gpusPerNode);
        packWeight = new double[maxPacks];
        packCount = new int[maxPacks];
        packTree = new long[4 * maxPacks + 4];
    }

    @Override
    public String name() {
        return "eplb";
    }

    @Override
    public PlacementShape shape() {
        return shape;
    }

    /** Whether this planner runs EPLB's hierarchical policy (groups % nodes == 0). */
    public boolean hierarchical() {
        return shape.hierarchical();
    }

    @Override
    public void planLayer(int layer, double[] load, int off, Placement out) {
        // Step 1: groups -> nodes; renumber experts node by node, group by group in packing order.
        for (int g = 0; g < groups; g++) {
            double s = 0;
            for (int i = 0; i < groupSize; i++) {
                s += load[off + g * groupSize + i];
            }
            groupLoad[g] = s;
        }
        balancedPacking(groupLoad, groups, nodes, groupPack, groupRank);
        for (int g = 0, e = 0; g < groups; g++) {
            int base = (groupPack[g] * groupsPerNode + groupRank[g]) * groupSize;
            for (int i = 0; i < groupSize; i++, e++) {
                log2mlog[e] = base + i;
                mlog2log[base + i] = e;
            }
        }
        int pb = layer * P;
        int eb = layer * E;
        for (int n = 0; n < nodes; n++) {
            // Step 2: replicate within the node; step 3's order of the replicas by weight comes with it.
            int mBase = n * ePerNode;
            for (int i = 0; i < ePerNode; i++) {
                tok[i] = load[off + mlog2log[mBase + i]];
            }
            replicateAndOrder();
            // Step 3: replicas -> the node's GPUs.
            for (int j = 0; j < pPerNode; j++) {
                tokPhy[j] = key[phy2mlog[j]]; // == tok[i] / mcnt[i], as replicateAndOrder() left it
            }
            packInOrder(tokPhy, sortIdx, pPerNode, gpusPerNode, pack, rankInPack);
            for (int j = 0; j < pPerNode; j++) {
                pphy2phy[pack[j] * spg + rankInPack[j]] = j;
            }
            int slotBase = pb + n * pPerNode;
            for (int q = 0; q < pPerNode; q++) {
                int j = pphy2phy[q];
                out.phy2log[slotBase + q] = mlog2log[mBase + phy2mlog[j]];
                out.rank[slotBase + q] = phyrank[j];
            }
            for (int i = 0; i < ePerNode; i++) {
                out.logcnt[eb + mlog2log[mBase + i]] = mcnt[i];
            }
        }
    }

    /**
     * EPLB's {@code replicate_experts} on {@code tok[0..ePerNode)}: fills phy2mlog, phyrank, mcnt, and
     * key[i] = tok[i] / mcnt[i]; then leaves in {@code sortIdx[0..pPerNode)} the node's replicas in
     * balanced packing's order (weight desc, index asc, on the packed longs of {@link IndexSort} for
     * pPerNode items).
     *
     * <p>Each of the R redundant slots goes to the expert with the highest load per replica (ties: the
     * lower index). Only the R experts first in (load desc, index asc) order can receive one: expert x
     * can only be picked once every expert before it has a replica, since until then one of them beats
     * x's unchanged load. So the experts are sorted once, by the packed longs that replicas j = i (each
     * expert's first, at its own weight when not replicated) carry in the packing order; the first R
     * of that order, extended by ties of the quantized key (the packed order is exact between different
     * quantized keys), hold the exact top R. Sorted exactly they form a max-heap, whose R pops are
     * the picks. The packing order is then the expert order without the replicated experts, merged
     * with the (≤ 2R) replicas of the replicated ones, sorted at their new weights.
     */
    private void replicateAndOrder() {
        int n = ePerNode;
        long mask = pMask;
        long[] v = sortWork;
        for (int i = 0; i < n; i++) {
            double t = tok[i];
            mcnt[i] = 1;
            phy2mlog[i] = i;
            phyrank[i] = 0;
            key[i] = t;
            v[i] = IndexSort.pack(t, mask, i);
        }
        IndexSort.sortDescending(v, n, sortTmp, bucketCount);
        int r = pPerNode - n;
        int c = Math.min(r, n);
        if (c > 0) {
            long last = v[c - 1] & ~mask;
            while (c < n && (v[c] & ~mask) == last) {
                c++;
            }
            for (int k = 0; k < c; k++) {
                int x = (int) (mask - (v[k] & mask));
                int j = k - 1;
                while (j >= 0 && IndexSort.before(key, x, heap[j])) {
                    heap[j + 1] = heap[j];
                    j--;
                }
                heap[j + 1] = x;
            }
        }
        for (int j = n; j < pPerNode; j++) {
            int top = heap[0];
            phy2mlog[j] = top;
            phyrank[j] = mcnt[top];
            mcnt[top]++;
            key[top] = tok[top] / mcnt[top];
            siftDownMax(0, c);
        }
        // the replicas of the replicated experts, at their final weights, ascending
        long[] b = extraWork;
        int nb = 0;
        for (int k = 0; k < c; k++) {
            int x = heap[k];
            if (mcnt[x] > 1) {
                b[nb++] = IndexSort.pack(key[x], mask, x);
            }
        }
        for (int j = n; j < pPerNode; j++) {
            b[nb++] = IndexSort.pack(key[phy2mlog[j]], mask, j);
        }
        IndexSort.sort(b, 0, nb - 1);
        // merge, both descending; the experts' list skips the replicated ones
        int a = 0;
        int bi = nb - 1;
        for (int k = 0; k < pPerNode; k++) {
            while (a < n && mcnt[(int) (mask - (v[a] & mask))] > 1) {
                a++;
            }
            long la = a < n ? v[a] : -1;
            long lb = bi >= 0 ? b[bi] : -1;
            if (la > lb) {
                a++;
            } else {
                la = lb;
                bi--;
            }
            sortIdx[k] = (int) (mask - (la & mask));
        }
    }

    private void siftDownMax(int i, int n) {
        int v = heap[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) {
                break;
            }
            if (c + 1 < n && IndexSort.before(key, heap[c + 1], heap[c])) {
                c++;
            }
            if (!IndexSort.before(key, heap[c], v)) {
                break;
            }
            heap[i] = heap[c];
            i = c;
        }
        heap[i] = v;
    }

    /**
     * EPLB's {@code balanced_packing}: n items into m packs of exactly n/m items. Writes each item's
     * pack and its rank (arrival order) in the pack. The lightest non-full pack is the root of a
     * tournament tree of packed longs (the pack's weight bits with its index in the lowest
     * ceil(log2 m) mantissa bits, so equal weights go to the lower pack; full packs are
     * {@code Long.MAX_VALUE}): O(log m) branch-free work per item.
     */
    void balancedPacking(double[] w, int n, int m, int[] packOut, int[] rankOut) {
        int per = n / m;
        if (per == 1) {
            for (int i = 0; i < n; i++) {
                packOut[i] = i;
                rankOut[i] = 0;
            }
            return;
        }
        IndexSort.descending(w, n, sortIdx, sortWork, sortTmp, bucketCount);
        packInOrder(w, sortIdx, n, m, packOut, rankOut);
    }

    /**
     * The packing loop of {@link #balancedPacking}, items taken in the given order (weight desc, index
     * asc); when n/m = 1 item i goes to pack i whatever the order.
     */
    private void packInOrder(double[] w, int[] order, int n, int m, int[] packOut, int[] rankOut) {
        int per = n / m;
        if (per == 1) {
            for (int i = 0; i < n; i++) {
                packOut[i] = i;
                rankOut[i] = 0;
            }
            return;
        }
        int M = Integer.highestOneBit(Math.max(1, m - 1)) << 1; // leaves: power of two >= m (>= 2)
        int b = Integer.numberOfTrailingZeros(M);
        long mask = (1L << b) - 1;
        long[] tree = packTree;
        for (int p = 0; p < M; p++) {
            tree[M + p] = p < m ? p : Long.MAX_VALUE; // weight 0
        }
        for (int i = M - 1; i >= 1; i--) {
            tree[i] = Math.min(tree[2 * i], tree[2 * i + 1]);
        }
        for (int p = 0; p < m; p++) {
            packWeight[p] = 0;
            packCount[p] = 0;
        }
        long root = tree[1];
        for (int k = 0; k < n; k++) {
            int item = order[k];
            int p = (int) (root & mask);
            packOut[item] = p;
            int c = packCount[p];
            rankOut[item] = c;
            double nw = packWeight[p] + w[item];
            packWeight[p] = nw;
            packCount[p] = ++c;
            // the new leaf climbs in a register: each parent is min(this child, its sibling)
            long v = c == per ? Long.MAX_VALUE : (Double.doubleToRawLongBits(nw + 0.0) & ~mask) | p;
            int i = M + p;
            tree[i] = v;
            while (i > 1) {
                v = Math.min(v, tree[i ^ 1]);
                i >>= 1;
                tree[i] = v;
            }
            root = v;
        }
    }
}
