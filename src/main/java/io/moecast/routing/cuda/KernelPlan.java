package io.moecast.routing.cuda;

import io.moecast.routing.Precision;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;

import java.util.Locale;

/**
 * Which routing kernel runs a batch and how it is launched (pure Java, so it is tested without a GPU).
 *
 * <p><b>Fast path</b> ({@code moecast_route_<mode>_<type>_v<VPT>}): a power-of-two sub-warp of
 * TPR = 2^{@link #tprLog2()} lanes per token, lane l holding experts [l·VPT, (l+1)·VPT) in registers
 * (16-byte loads; 8-byte for bf16 with VPT = 4). It needs E % VPT = 0, E ≤ 32·VPT, a base address aligned
 * to the load width and, for sigmoid-grouped with G &gt; 1, groups spanning whole aligned lanes:
 * (E/G) % VPT = 0 with (E/G)/VPT a power of two. VPT 8 is preferred (fewer shuffle steps per token,
 * more bytes in flight per lane), then 4.
 *
 * <p><b>Generic path</b> ({@code moecast_route_<mode>_<type>_generic}): one warp per token, experts
 * strided over lanes, the row re-read from cache for each pass; any E whose shared memory fits
 * (histogram 4·E bytes plus 9·G bytes per warp for sigmoid-grouped).
 */
public record KernelPlan(String kernel, boolean fast, int vpt, int tprLog2, int lpgLog2, int threadsPerBlock,
                         int smemBytes) {
    /** Largest k the kernels support. */
    public static final int MAX_K = 8;
    /** Shared memory a block may use without opting in to more. */
    public static final int SMEM_LIMIT = 48 * 1024;
    /** Threads per block of the fast path (8 warps). */
    public static final int FAST_THREADS = 256;

    /** Which kernels a plan may use: {@code AUTO} picks the fastest that applies. */
    public enum Variant { AUTO, V8, V4, GENERIC }

    /** Tokens one block handles per pass of its grid-stride loop. */
    public int rowsPerBlock() {
        return fast ? (threadsPerBlock / 32) * (32 >> tprLog2) : threadsPerBlock / 32;
    }

    /** Lanes per token (1 for ... 32). */
    public int lanesPerToken() {
        return fast ? 1 << tprLog2 : 32;
    }

    /** Plans a batch; {@code baseAlignment} is the largest power of two dividing the logits' address. */
    public static KernelPlan of(RoutingSpec spec, Precision precision, long baseAlignment, Variant variant) {
        int E = spec.experts();
        int k = spec.k();
        if (k > MAX_K) {
            throw new IllegalArgumentException("the cuda router supports k <= " + MAX_K + ", got k = " + k);
        }
        String prefix = "moecast_route_" + spec.mode().cliName().replace('-', '_') + "_"
                + precision.name().toLowerCase(Locale.ROOT) + "_";
        if (variant != Variant.GENERIC) {
            for (int vpt : new int[] {8, 4}) {
                if ((variant == Variant.V8 && vpt != 8) || (variant == Variant.V4 && vpt != 4)) {
                    continue;
                }
                KernelPlan p = fastPlan(spec, precision, baseAlignment, vpt, prefix);
                if (p != null) {
                    return p;
                }
            }
            if (variant != Variant.AUTO) {
                throw new IllegalArgumentException("kernel variant " + variant + " does not apply to " + spec + " " + precision);
            }
        }
        int groups = spec.mode() == ScoringMode.SIGMOID_GROUPED && spec.groups() > 1 ? spec.groups() : 0;
        int hist = (E * 4 + 15) & ~15;
        for (int warps = 4; warps >= 1; warps >>= 1) {
            long smem = hist + (long) warps * groups * 9;
            if (smem <= SMEM_LIMIT) {
                return new KernelPlan(prefix + "generic", false, 0, 5, 0, warps * 32, (int) smem);
            }
        }
        throw new IllegalArgumentException("the cuda router cannot route " + spec + ": its histogram and group scores need "
                + (hist + 9L * groups) + " bytes of shared memory, more than a block's " + SMEM_LIMIT);
    }

    private static KernelPlan fastPlan(RoutingSpec spec, Precision precision, long baseAlignment, int vpt, String prefix) {
        int E = spec.experts();
        if (E % vpt != 0 || E > 32 * vpt) {
            return null;
        }
        int loadBytes = Math.min(16, vpt * precision.bytes());
        if (baseAlignment % loadBytes != 0) {
            return null;
        }
        int lpgLog2 = 0;
        if (spec.mode() == ScoringMode.SIGMOID_GROUPED && spec.groups() > 1) {
            int gs = spec.groupSize();
            if (gs % vpt != 0 || Integer.bitCount(gs / vpt) != 1) {
                return null;
            }
            lpgLog2 = Integer.numberOfTrailingZeros(gs / vpt);
        }
        int lanes = E / vpt;
        int tprLog2 = 32 - Integer.numberOfLeadingZeros(lanes - 1);   // ceil(log2(lanes))
        return new KernelPlan(prefix + "v" + vpt, true, vpt, tprLog2, lpgLog2, FAST_THREADS, E * 4);
    }

    /** The largest power of two (up to 256) dividing an address. */
    public static long alignmentOf(long address) {
        return address == 0 ? 256 : Math.min(256, Long.lowestOneBit(address));
    }

    /** Blocks to launch: enough for the rows, at most what fills the GPU once (grid-stride loop). */
    public int blocks(long tokens, int multiprocessors, int activeBlocksPerSm) {
        long need = (tokens + rowsPerBlock() - 1) / rowsPerBlock();
        long fill = (long) multiprocessors * Math.max(1, activeBlocksPerSm);
        return (int) Math.max(1, Math.min(need, fill));
    }
}
