package io.moecast.placement;

/**
 * Longest-processing-time greedy without replicas, as MindSpeed's training-side expert placement
 * does it: experts in descending load (ties: lower index), each onto the least-loaded GPU that still
 * has a free slot (ties: lower GPU), every GPU holding exactly experts/GPUs experts. Slots are numbered
 * GPU by GPU in packing order. Needs slots == experts (no redundant slots); this is EPLB's balanced
 * packing applied to experts directly, so at zero redundancy it equals the global EPLB policy.
 */
public final class LptPlanner implements Planner {
    private final PlacementShape shape;
    private final EplbPlanner packer;
    private final int[] pack;
    private final int[] rankInPack;
    private final double[] w;

    public LptPlanner(PlacementShape shape) {
        if (shape.redundant() != 0) {
            throw new IllegalArgumentException("lpt places every expert once and uses no redundant slots ("
                    + shape.redundant() + " given); use redundant 0, or the eplb planner for replicas");
        }
        this.shape = shape;
        this.packer = new EplbPlanner(PlacementShape.of(1, shape.experts(), 0, shape.gpus()));
        this.pack = new int[shape.experts()];
        this.rankInPack = new int[shape.experts()];
        this.w = new double[shape.experts()];
    }

    @Override
    public String name() {
        return "lpt";
    }

    @Override
    public PlacementShape shape() {
        return shape;
    }

    @Override
    public void planLayer(int layer, double[] load, int off, Placement out) {
        int E = shape.experts();
        int spg = shape.slotsPerGpu();
        System.arraycopy(load, off, w, 0, E);
        packer.balancedPacking(w, E, shape.gpus(), pack, rankInPack);
        int pb = layer * E;
        for (int e = 0; e < E; e++) {
            int s = pack[e] * spg + rankInPack[e];
            out.phy2log[pb + s] = e;
            out.rank[pb + s] = 0;
            out.logcnt[layer * E + e] = 1;
        }
    }
}
