package io.moecast.placement;

/**
 * The shape a placement is planned for: {@code experts} logical experts per MoE layer, placed into
 * {@code slots} physical slots (experts + redundant replicas) spread evenly over {@code gpus} GPUs in
 * {@code nodes} nodes, with the experts split into {@code groups} contiguous expert groups (the
 * group-limited routing groups of DeepSeek-V3; 1 when the model has none).
 *
 * <p>Validated on construction; every violated rule is reported in one sentence naming the numbers.
 * Immutable.
 */
public final class PlacementShape {
    private final int layers;
    private final int experts;
    private final int slots;
    private final int gpus;
    private final int nodes;
    private final int groups;

    private PlacementShape(int layers, int experts, int slots, int gpus, int nodes, int groups) {
        if (layers < 1) {
            throw new IllegalArgumentException("layers must be at least 1, got " + layers);
        }
        if (experts < 1) {
            throw new IllegalArgumentException("experts must be at least 1, got " + experts);
        }
        if (gpus < 1) {
            throw new IllegalArgumentException("GPUs must be at least 1, got " + gpus);
        }
        if (slots < experts) {
            throw new IllegalArgumentException("redundant slots must be >= 0 (" + slots + " slots < " + experts + " experts)");
        }
        if (slots % gpus != 0) {
            throw new IllegalArgumentException("experts + redundant = " + experts + " + " + (slots - experts) + " = " + slots
                    + " physical slots is not divisible by " + gpus + " GPUs (every GPU holds the same number of slots; "
                    + "use a redundant count that makes it divisible, e.g. " + nextRedundant(experts, gpus) + ")");
        }
        if (nodes < 1) {
            throw new IllegalArgumentException("nodes must be at least 1, got " + nodes);
        }
        if (groups < 1 || experts % groups != 0) {
            throw new IllegalArgumentException(groups + " expert groups do not divide " + experts + " experts");
        }
        // Only the hierarchical policy (groups % nodes == 0) splits GPUs by node; otherwise EPLB plans
        // globally and ignores the nodes.
        if (groups % nodes == 0 && gpus % nodes != 0) {
            throw new IllegalArgumentException(gpus + " GPUs cannot be split evenly over " + nodes + " nodes");
        }
        this.layers = layers;
        this.experts = experts;
        this.slots = slots;
        this.gpus = gpus;
        this.nodes = nodes;
        this.groups = groups;
    }

    /** The smallest redundant count ≥ 0 that makes experts + redundant divisible by gpus. */
    public static int nextRedundant(int experts, int gpus) {
        return (gpus - experts % gpus) % gpus;
    }

    /** A flat (one node, one group) shape: E experts plus R redundant slots on G GPUs. */
    public static PlacementShape of(int layers, int experts, int redundant, int gpus) {
        return new PlacementShape(layers, experts, experts + redundant, gpus, 1, 1);
    }

    /** A hierarchical shape: expert groups are packed onto nodes first when groups % nodes == 0. */
    public static PlacementShape of(int layers, int experts, int redundant, int gpus, int nodes, int groups) {
        return new PlacementShape(layers, experts, experts + redundant, gpus, nodes, groups);
    }

    public int layers() {
        return layers;
    }

    public int experts() {
        return experts;
    }

    /** Physical slots per layer: experts + redundant. */
    public int slots() {
        return slots;
    }

    public int redundant() {
        return slots - experts;
    }

    public int gpus() {
        return gpus;
    }

    public int nodes() {
        return nodes;
    }

    public int groups() {
        return groups;
    }

    public int slotsPerGpu() {
        return slots / gpus;
    }

    /** GPU holding a physical slot (slots are numbered GPU by GPU). */
    public int gpuOf(int slot) {
        return slot / slotsPerGpu();
    }

    /**
     * Whether DeepSeek EPLB would use its hierarchical policy: groups % nodes == 0 (else the global
     * policy, i.e. one group on one node).
     */
    public boolean hierarchical() {
        return groups % nodes == 0;
    }

    public PlacementShape withLayers(int l) {
        return new PlacementShape(l, experts, slots, gpus, nodes, groups);
    }

    @Override
    public String toString() {
        return layers + " layers x " + experts + " experts + " + redundant() + " redundant on " + gpus + " GPUs"
                + (nodes > 1 ? " in " + nodes + " nodes" : "") + (groups > 1 ? ", " + groups + " groups" : "");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PlacementShape s && s.layers == layers && s.experts == experts && s.slots == slots
                && s.gpus == gpus && s.nodes == nodes && s.groups == groups;
    }

    @Override
    public int hashCode() {
        return ((((layers * 31 + experts) * 31 + slots) * 31 + gpus) * 31 + nodes) * 31 + groups;
    }
}
