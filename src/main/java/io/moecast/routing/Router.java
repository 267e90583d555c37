package io.moecast.routing;

import java.lang.foreign.MemorySegment;

/**
 * Gating top-k routing with per-expert load histograms. One API for every implementation: the scalar
 * reference ({@link ScalarRouter}, the oracle), the Vector API router and the CUDA router.
 *
 * <p><b>Semantics</b> (identical in every implementation; see {@link ScalarRouter} for the reference):
 * <ul>
 *   <li>Selection order: larger key first; ties go to the lower expert index. Keys are the logits for
 *       the softmax modes and sigmoid(logit) + bias for sigmoid-grouped. {@code -0.0 == +0.0}.</li>
 *   <li>NaN never wins: a NaN key ranks below every number, −∞ included; NaN logits get weight 0.</li>
 *   <li>Weights are computed with NaN treated as −∞. When several logits are +∞ they share the mass of
 *       their softmax equally (its limit); when a weight sum is 0 or not finite (rows all −∞ or all NaN),
 *       the weights are uniform: 1/E for softmax-topk, 1/k for the renormalised modes.</li>
 *   <li>Ids are always in [0, E) and distinct within a token; counts sum to T·k.</li>
 * </ul>
 */
public interface Router {
    /** Short name: {@code scalar}, {@code vector}, {@code cuda}. */
    String name();

    /**
     * Routes a heap batch: {@code logits[t*E + e]} for T tokens (T·E ≤ 2^31−1).
     * The histogram in {@code out} is reset first.
     */
    void route(float[] logits, int tokens, RoutingSpec spec, RoutingOutput out);

    /**
     * Routes a batch held in a {@link MemorySegment} (off-heap or device-mapped; any size), row-major
     * {@code [T][E]} in the given precision. Writes ids as int32 and weights as float32 ({@code [T][k]},
     * native order) into the output segments and adds the load histogram into {@code counts} (length E,
     * zeroed by the caller). Multi-threaded implementations split the batch over their threads only
     * when every segment is accessible from them (shared or global arenas); a confined segment is
     * routed on the calling thread alone.
     */
    void route(MemorySegment logits, Precision precision, long tokens, RoutingSpec spec,
               MemorySegment ids, MemorySegment weights, long[] counts);

    /**
     * Fused gate + routing, as a real router runs: logits = X·W with hidden states
     * {@code x[t*d + i]} ({@code [T][d]}) and gate weights {@code w[i*E + e]} ({@code [d][E]}), then
     * routing as {@link #route(float[], int, RoutingSpec, RoutingOutput)}. Logits are accumulated in
     * float32 over i in ascending order blocks; implementations may differ in summation order, so
     * near-ties (a gap below ~1e-5 relative) may resolve differently between implementations.
     */
    void routeHidden(float[] x, float[] w, int tokens, int d, RoutingSpec spec, RoutingOutput out);
}
