package io.moecast.routing;

import java.util.Arrays;

/**
 * What to compute: E experts, top-k, scoring mode, and for {@link ScoringMode#SIGMOID_GROUPED} the
 * groups G (default 8), the groups kept (default 4) and the per-expert selection bias (default 0).
 * Immutable and validated on construction.
 */
public final class RoutingSpec {
    public static final int DEFAULT_GROUPS = 8;
    public static final int DEFAULT_TOPK_GROUPS = 4;

    private final int experts;
    private final int k;
    private final ScoringMode mode;
    private final int groups;
    private final int topkGroups;
    private final float[] bias;

    private RoutingSpec(int experts, int k, ScoringMode mode, int groups, int topkGroups, float[] bias) {
        if (experts < 1) {
            throw new IllegalArgumentException("experts must be at least 1, got " + experts);
        }
        if (k < 1 || k > experts) {
            throw new IllegalArgumentException("k must be between 1 and the number of experts (" + experts + "), got " + k);
        }
        if (mode == ScoringMode.SIGMOID_GROUPED) {
            if (groups < 1 || experts % groups != 0) {
                throw new IllegalArgumentException("groups (" + groups + ") must divide the number of experts (" + experts + ")");
            }
            if (topkGroups < 1 || topkGroups > groups) {
                throw new IllegalArgumentException("topk-groups must be between 1 and groups (" + groups + "), got " + topkGroups);
            }
            if (k > topkGroups * (experts / groups)) {
                throw new IllegalArgumentException("k (" + k + ") exceeds the experts in the kept groups (topk-groups "
                        + topkGroups + " x " + experts / groups + " experts per group)");
            }
            if (bias != null && bias.length != experts) {
                throw new IllegalArgumentException("bias has " + bias.length + " values for " + experts + " experts");
            }
            if (bias != null) {
                for (float b : bias) {
                    if (!Float.isFinite(b)) {
                        throw new IllegalArgumentException("bias values must be finite");
                    }
                }
            }
        }
        this.experts = experts;
        this.k = k;
        this.mode = mode;
        this.groups = mode == ScoringMode.SIGMOID_GROUPED ? groups : 1;
        this.topkGroups = mode == ScoringMode.SIGMOID_GROUPED ? topkGroups : 1;
        this.bias = bias == null ? new float[experts] : bias.clone();
    }

    /**
     * A spec with default grouping: for sigmoid-grouped, G is the largest divisor of E not above
     * {@link #DEFAULT_GROUPS} (8 for E = 64 or 256; 6 for E = 60; 5 for E = 100; 7 for E = 7) and the
     * kept groups min(4, G).
     */
    public static RoutingSpec of(int experts, int k, ScoringMode mode) {
        int g = mode == ScoringMode.SIGMOID_GROUPED ? defaultGroups(experts) : 1;
        int tg = mode == ScoringMode.SIGMOID_GROUPED ? Math.min(DEFAULT_TOPK_GROUPS, g) : 1;
        return new RoutingSpec(experts, k, mode, g, tg, null);
    }

    /** The largest divisor of {@code experts} not above {@link #DEFAULT_GROUPS}. */
    public static int defaultGroups(int experts) {
        for (int g = Math.min(DEFAULT_GROUPS, experts); g > 1; g--) {
            if (experts % g == 0) {
                return g;
            }
        }
        return 1;
    }

    /** Sigmoid-grouped routing with explicit groups and bias ({@code bias} may be null for zeros). */
    public static RoutingSpec grouped(int experts, int k, int groups, int topkGroups, float[] bias) {
        return new RoutingSpec(experts, k, ScoringMode.SIGMOID_GROUPED, groups, topkGroups, bias);
    }

    public int experts() {
        return experts;
    }

    public int k() {
        return k;
    }

    public ScoringMode mode() {
        return mode;
    }

    public int groups() {
        return groups;
    }

    public int topkGroups() {
        return topkGroups;
    }

    public int groupSize() {
        return experts / groups;
    }

    /** Selection bias per expert (a copy). */
    public float[] bias() {
        return bias.clone();
    }

    /** Selection bias of one expert (no copy). */
    public float bias(int e) {
        return bias[e];
    }

    @Override
    public String toString() {
        return mode + " E=" + experts + " k=" + k + (mode == ScoringMode.SIGMOID_GROUPED ? " G=" + groups + " keep=" + topkGroups : "");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RoutingSpec s && s.experts == experts && s.k == k && s.mode == mode && s.groups == groups
                && s.topkGroups == topkGroups && Arrays.equals(s.bias, bias);
    }

    @Override
    public int hashCode() {
        return ((experts * 31 + k) * 31 + mode.hashCode()) * 31 + groups * 7 + topkGroups + Arrays.hashCode(bias);
    }
}
