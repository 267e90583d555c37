package io.moecast.routing;

import java.util.Locale;

/**
 * How router logits become expert choices and weights. Selection never needs more than the logits
 * (softmax is monotone), so only the weights differ in cost.
 */
public enum ScoringMode {
    /** Softmax over all E experts, then top-k; weights are those probabilities (GShard, Megatron). */
    SOFTMAX_TOPK("softmax-topk"),
    /** Top-k of the logits; weights = softmax over the k selected (Mixtral, renormalised). */
    TOPK_SOFTMAX("topk-softmax"),
    /**
     * Sigmoid scores; selection on score + per-expert bias, limited to the best groups (DeepSeek-V3);
     * weights = unbiased scores of the selected experts, renormalised.
     */
    SIGMOID_GROUPED("sigmoid-grouped");

    private final String cliName;

    ScoringMode(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** Parses {@code softmax-topk}, {@code topk-softmax}, {@code sigmoid-grouped} (or the enum name). */
    public static ScoringMode parse(String s) {
        String n = s.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (ScoringMode m : values()) {
            if (m.cliName.equals(n)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown scoring mode '" + s + "' (use softmax-topk, topk-softmax or sigmoid-grouped)");
    }

    @Override
    public String toString() {
        return cliName;
    }
}
