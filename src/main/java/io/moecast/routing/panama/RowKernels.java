package io.moecast.routing.panama;

import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScalarRouter;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static io.moecast.routing.panama.VectorMath.F;
import static io.moecast.routing.panama.VectorMath.GONE_KEY;
import static io.moecast.routing.panama.VectorMath.I;
import static io.moecast.routing.panama.VectorMath.L;
import static io.moecast.routing.panama.VectorMath.NEG_INF_KEY;
import static io.moecast.routing.panama.VectorMath.POS_INF_KEY;

/**
 * One worker's routing kernels and scratch (one instance per thread and spec, reused across batches, so
 * the steady state allocates nothing). Rows are {@code a[off .. off+E)}; results go to
 * {@code ids/w[outOff .. outOff+k)} and {@link #counts}. Rows are processed in blocks of
 * {@link #BLOCK}; each block runs the {@link Phase}s of the spec's plan.
 *
 * <p>Selection works on integer keys ({@link VectorMath#keys}); k passes of: max tree, one
 * {@code reduceLanes(MAX)}, locate the lowest index holding the max with {@code eq} masks packed into
 * one {@code long} ({@code numberOfTrailingZeros}), knock it out. k = 2 with E = 4L stays in registers
 * (a lane-wise runner-up network). Weights avoid exponentials where the math allows: top-k on raw
 * logits, k − 1 accurate double exps per row for the selected (vectorised per block), and the E exps of
 * a full softmax vectorised in float (ggml's expf). sigmoid-grouped decides groups and top-k on float
 * keys (vector sigmoid in float plus bias) wherever every decision is clear of their certified error,
 * and otherwise computes sigmoid(x) in double with
 * vector exps and decides groups and top-k on those keys, checked against a tie margin. Rows whose best
 * logit is ±∞ or NaN, and sigmoid-grouped rows with |x| &gt; 700, NaN or a near-tie, go through the
 * scalar reference code: the results are identical to it by construction.
 */
final class RowKernels {
    final long[] counts;
    private final int[] keys;
    /** The block's k − 1 selected exponentials per row, padded to whole double vectors. */
    private final double[] dd;
    private final ScalarRouter scalar = new ScalarRouter();

    private final RoutingSpec spec;
    private final int experts;
    private final int k;
    /** The phases run on every block of rows, in order (see {@link Phase}). */
    private final Phase[] plan;
    private boolean anyRare;
    /** sigmoid-grouped: sigmoid(x) of the block's rows ({@code [BLOCK][E]}, padded to whole vectors). */
    private final double[] sig;
    private final double[] xs;
    private final double[] bias;
    private final boolean[] nonFinite = new boolean[BLOCK];
    private final double[] key;
    private final double[] groupScore;
    private final double[] topVal;
    private final int[] topIdx;
    private final boolean[] keep;

    // sigmoid-grouped, float fast path (see sigmoidGroupedFast)
    /**
     * Bound on |{@link VectorMath#sigmoid}(x) − sigmoid(x)| for every finite float x. Analysis: with
     * e = exp(−|x|) within 2 ulp (2.4e-7 relative), x ≥ 0 gives 1/(1 + e) with error ≤ e/(1+e)²·2.4e-7
     * + two roundings of 2^-24 ≈ 1.8e-7; x &lt; 0 gives e/(1 + e) ≤ 1/2 with relative error ≤ 2.4e-7 +
     * 2·2^-24, absolute ≤ 1.8e-7; both below 2^-22. This takes twice that; {@code VectorMathTest} checks
     * the measured error (over a dense sweep of floats) against it.
     */
    static final double SIGMOID_ABS_ERROR = 0x1p-21;
    private final int nv;
    private final int padded;
    /** 64-bit words per row of the allowed-expert bitset. */
    private final int words;
    private final float[] biasF;
    /** Two float keys closer than this may be ordered differently by the exact keys. */
    private final double keyTie;
    /** The same for two group scores (sums of two keys, rounded once more). */
    private final double groupTie;
    /** Selection passes per row: k + 1 (the k-th must be clear of the next), or all the allowed experts. */
    private final int picks;
    /** Group scores: 0 none (no restriction), 1 butterfly inside a vector, 2 whole vectors per group, 3 scalar. */
    private final int groupKind;
    /** One row's allowed experts (a bitset over the padded row). */
    private final long[] allowed;
    /** Bit g·size set for every group g (padded ≤ 64), and size ones: kept-group bits to expert bits. */
    private final long groupStarts;
    private final long groupOnes;
    private final int[] topKeys;
    private final boolean[] fast = new boolean[BLOCK];
    private final float[] groupLanes;
    private final float[] groupScores;
    private final float[] groupTop;
    private final int[] groupTopIdx;
    private final int[] slowAt;
    private final float[] slowRows;
    private final int[] slowIds;
    private final float[] slowW;

    RowKernels(RoutingSpec spec) {
        this.spec = spec;
        this.experts = spec.experts();
        this.k = spec.k();
        this.counts = new long[experts];
        int nv = (experts + L - 1) / L;
        this.keys = new int[BLOCK * nv * L];
        this.dd = new double[BLOCK * (k - 1) + VectorMath.D.length()];
        boolean grouped = spec.mode() == io.moecast.routing.ScoringMode.SIGMOID_GROUPED;
        this.sig = new double[grouped ? BLOCK * experts + VectorMath.D.length() : 0];
        this.xs = new double[sig.length];
        this.bias = new double[experts];
        for (int e = 0; e < experts; e++) {
            bias[e] = spec.bias(e);
        }
        this.key = new double[experts];
        this.groupScore = new double[spec.groups() + 1];
        this.topVal = new double[Math.max(k, spec.topkGroups()) + 1];
        this.topIdx = new int[Math.max(k, spec.topkGroups()) + 1];
        this.keep = new boolean[spec.groups()];
        this.nv = nv;
        this.padded = nv * L;
        this.words = (padded + 63) >>> 6;
        int G = spec.groups();
        int size = spec.groupSize();
        double maxBias = 0;
        this.biasF = new float[grouped ? padded : 0];
        for (int e = 0; grouped && e < experts; e++) {
            biasF[e] = spec.bias(e);
            maxBias = Math.max(maxBias, Math.abs(spec.bias(e)));
        }
        double keyError = SIGMOID_ABS_ERROR + (1 + maxBias) * 0x1p-23;
        this.keyTie = 2 * keyError;
        this.groupTie = 2 * (2 * keyError + (1 + maxBias) * 0x1p-22);
        boolean restrict = grouped && G > 1 && spec.topkGroups() < G;
        this.picks = Math.min(k + 1, restrict ? spec.topkGroups() * size : experts);
        this.groupKind = !restrict ? 0
                : L <= 16 && size <= L && Integer.bitCount(size) == 1 ? 1
                : L <= 16 && size % L == 0 ? 2 : 3;
        this.allowed = new long[words];
        long starts = 0;
        for (int g = 0; g < G && g * size < 64; g++) {
            starts |= 1L << (g * size);
        }
        this.groupStarts = starts;
        this.groupOnes = size >= 64 ? -1L : (1L << size) - 1;
        this.topKeys = new int[grouped ? BLOCK * (k + 1) : 0];
        this.groupLanes = new float[grouped ? padded : 0];
        this.groupScores = new float[Math.max(G + 1, L)];
        this.groupTop = new float[spec.topkGroups() + 1];
        this.groupTopIdx = new int[spec.topkGroups() + 1];
        this.slowAt = new int[BLOCK];
        this.slowRows = new float[grouped ? BLOCK * experts : 0];
        this.slowIds = new int[grouped ? BLOCK * k : 0];
        this.slowW = new float[grouped ? BLOCK * k : 0];
        boolean four = experts == 4 * L;
        this.plan = switch (spec.mode()) {
            case SIGMOID_GROUPED -> new Phase[] {Phase.GROUPED_KEYS, Phase.GROUPED_GROUPS, Phase.GROUPED_TOPK, Phase.GROUPED_FINISH};
            case TOPK_SOFTMAX -> k == 1
                    ? new Phase[] {four ? Phase.SELECT4 : Phase.SELECT_ANY, Phase.UNIT_WEIGHTS, Phase.RARE_ROWS}
                    : new Phase[] {four ? (k == 2 ? Phase.SELECT4_K2 : Phase.SELECT4) : Phase.SELECT_ANY,
                            Phase.SELECTED_EXPS, Phase.RENORMALISED_WEIGHTS, Phase.RARE_ROWS};
            case SOFTMAX_TOPK -> k == 1
                    ? new Phase[] {four ? Phase.SELECT4 : Phase.SELECT_ANY, four ? Phase.EXP_SUMS4 : Phase.EXP_SUMS_ANY,
                            Phase.FULL_WEIGHTS, Phase.RARE_ROWS}
                    : new Phase[] {four ? (k == 2 ? Phase.SELECT4_K2 : Phase.SELECT4) : Phase.SELECT_ANY,
                            four ? Phase.EXP_SUMS4 : Phase.EXP_SUMS_ANY, Phase.SELECTED_EXPS, Phase.FULL_WEIGHTS, Phase.RARE_ROWS};
        };
    }

    /**
     * Routes {@code rows} rows starting at {@code a[off]}, in blocks of {@link #BLOCK} rows; each block
     * runs the phases of {@link #plan}.
     */
    void route(float[] a, int off, int rows, int[] ids, float[] w, int outOff) {
        final Phase[] p = plan;
        for (int r0 = 0; r0 < rows; r0 += BLOCK) {
            int n = Math.min(BLOCK, rows - r0);
            int rowOff = off + r0 * experts;
            int o = outOff + r0 * k;
            for (Phase phase : p) {
                phase.run(this, a, rowOff, n, ids, w, o);
            }
        }
    }

    /**
     * One step over a block of n rows. Called through one call site that sees every constant (a
     * megamorphic virtual call), so C2 never inlines a phase into the block loop: each phase is compiled
     * as a root with its own inlining budget. Inlining everything into one method hits C2's
     * NodeCountInliningCutoff, and a vector passed to a method that was not inlined is boxed (hundreds of
     * bytes per token): this keeps the kernels allocation-free whatever the profile. Phases take only
     * arrays and ints, and no vector is carried around a loop (knocked-out keys live in the key array).
     */
    private enum Phase {
        SELECT4 {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                kr.anyRare = select4(a, off, n, kr.k, ids, o, kr.counts, kr.rare, kr.keys);
            }
        },
        SELECT4_K2 {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                keysOf(a, off, n * 4 * L, kr.keys);
                kr.anyRare = select4k2(kr.keys, n, ids, o, kr.counts, kr.rare);
            }
        },
        SELECT_ANY {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                kr.anyRare = selectAny(a, off, kr.experts, n, kr.k, ids, o, kr.counts, kr.rare, kr.keys);
            }
        },
        EXP_SUMS4 {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                expSums4(a, off, n, kr.k, ids, o, kr.rare, kr.sums);
            }
        },
        EXP_SUMS_ANY {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                expSumsAny(a, off, kr.experts, n, kr.k, ids, o, kr.rare, kr.sums);
            }
        },
        /** exp(x_j − m) for the k − 1 runners-up of every row, one vectorised pass ({@link #dd}). */
        SELECTED_EXPS {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                kr.selectedExps(a, off, kr.experts, n, kr.k, ids, o, kr.rare);
            }
        },
        FULL_WEIGHTS {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                kr.fullWeights(a, off, kr.experts, n, kr.k, ids, w, o, kr.rare, kr.sums);
            }
        },
        RENORMALISED_WEIGHTS {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                kr.renormalisedWeights(a, off, kr.experts, n, kr.k, ids, w, o, kr.rare);
            }
        },
        UNIT_WEIGHTS {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                java.util.Arrays.fill(w, o, o + n, 1f);
            }
        },
        /** Rows whose best logit is ±∞ or NaN: the reference code (exact by construction). */
        RARE_ROWS {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                if (kr.anyRare) {
                    kr.rareRows(a, off, n, ids, w, o);
                }
            }
        },
        /** sigmoid-grouped: float keys sigmoid(x) + bias of the block as integer keys; flags rows holding NaN. */
        GROUPED_KEYS {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                groupedKeys(a, off, kr.experts, n, kr.biasF, kr.keys, kr.fast);
            }
        },
        /** sigmoid-grouped: group scores and the kept groups (unless near a tie); dropped groups' keys GONE. */
        GROUPED_GROUPS {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                kr.groupedGroups(n);
            }
        },
        /** sigmoid-grouped: {@link #picks} selection passes over the allowed experts, rows inner. */
        GROUPED_TOPK {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                groupedTopK(kr.keys, kr.nv, n, kr.k, kr.picks, kr.fast, kr.topKeys, ids, o);
            }
        },
        /** sigmoid-grouped: margin checks, weights and counts; other rows through the double path. */
        GROUPED_FINISH {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                kr.groupedFinish(a, off, n, ids, w, o);
            }
        },
        /** sigmoid-grouped: x and −|x| of the block in double ({@link #xs}, {@link #sig}); flags rows to leave. */
        SIGMOID_PREPARE {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                kr.sigmoidPrepare(a, off, n);
            }
        },
        /** exp(−|x|), vectorised. */
        SIGMOID_EXP {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                VectorMath.expNonPositiveInPlace(kr.sig, n * kr.experts);
            }
        },
        /** sigmoid(x) from exp(−|x|), vectorised. */
        SIGMOID_DIVIDE {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                VectorMath.sigmoidFromExp(kr.xs, kr.sig, n * kr.experts);
            }
        },
        /** sigmoid-grouped: groups, top-k and weights on the keys, checked; near-ties go to the reference. */
        SIGMOID_SELECT {
            @Override
            void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o) {
                kr.sigmoidSelect(a, off, n, ids, w, o);
            }
        };

        abstract void run(RowKernels kr, float[] a, int off, int n, int[] ids, float[] w, int o);
    }

    private static long locate(IntVector k0, IntVector k1, IntVector k2, IntVector k3, int s) {
        return k0.eq(s).toLong() | k1.eq(s).toLong() << L | k2.eq(s).toLong() << (2 * L) | k3.eq(s).toLong() << (3 * L);
    }

    private static int max4(IntVector k0, IntVector k1, IntVector k2, IntVector k3) {
        return k0.max(k1).max(k2.max(k3)).reduceLanes(VectorOperators.MAX);
    }

    /**
     * How far ahead of the row being routed the first pass touches the input, in floats (8 KiB).
     * Java has no software prefetch, and with 60-120 instructions per 256-byte row the core does not
     * keep enough reads in flight on its own; one plain load per 64-byte line this far ahead starts
     * those misses early, so the row's own loads later hit the cache. Used by the k = 1 kernel, where
     * it measured better every time (T = 2^20, E = 64: 39-40 → 29-34 ms per batch, three paired JMH
     * runs); for k ≥ 2 and the other first passes it measured no better (more instructions per row, or
     * already a streaming loop), so they do without.
     */
    static final int TOUCH_AHEAD = 2048;
    /** Written only when an impossible value comes up: it keeps the touches from being optimised away. */
    static int touchSink;

    /** One load per 64-byte line of {@code a[from .. from+len)} (nothing when that runs past the end); their bits xored. */
    private static int touch(float[] a, int from, int len) {
        int s = 0;
        if (from + len <= a.length) {
            for (int i = 0; i < len; i += 16) {
                s ^= Float.floatToRawIntBits(a[from + i]);
            }
        }
        return s;
    }

    private static void keep(int sink) {
        if (sink == 0x7fc12345) { // a NaN payload no logit block xors to in practice; either way only a store
            touchSink = sink;
        }
    }

    /** Rows per block: selection, then exponential sums, then weights, each a phase of its own. */
    private static final int BLOCK = 64;

    private final boolean[] rare = new boolean[BLOCK];
    /** Keys of a block of rows for E = 4L ({@code [BLOCK][4L]}, 16 KiB with AVX-512). */
    private final int[] blockKeys = new int[BLOCK * 4 * L];
    private final double[] sums = new double[BLOCK];

    /**
     * Top-k ids of n rows with E = 4L; marks rows whose best is ±∞ or NaN as rare (not counted). Pass 1
     * runs per row with the keys in registers; for k &gt; 1 the keys of the block are kept in
     * {@code ks} ({@code [n][4L]}, L1-resident) and passes 2..k run with the rows as the inner loop, so
     * the long dependency chain of a pass (max tree, reduceLanes, locate) of one row overlaps with the
     * next rows' instead of stalling the core.
     */
    private static boolean select4(float[] a, int off, int n, int k, int[] ids, int o, long[] cnt, boolean[] rare,
                                   int[] ks) {
        boolean anyRare = false;
        final int E = 4 * L;
        if (k == 1) {
            return select4k1(a, off, n, ids, o, cnt, rare);
        }
        for (int r = 0, ro = off, oo = o; r < n; r++, ro += E, oo += k) {
            IntVector k0 = VectorMath.keys(FloatVector.fromArray(F, a, ro));
            IntVector k1 = VectorMath.keys(FloatVector.fromArray(F, a, ro + L));
            IntVector k2 = VectorMath.keys(FloatVector.fromArray(F, a, ro + 2 * L));
            IntVector k3 = VectorMath.keys(FloatVector.fromArray(F, a, ro + 3 * L));
            int s = max4(k0, k1, k2, k3);
            boolean isRare = s >= POS_INF_KEY || s <= NEG_INF_KEY;
            rare[r] = isRare;
            if (isRare) {
                anyRare = true;
                continue;
            }
            int id = Long.numberOfTrailingZeros(locate(k0, k1, k2, k3, s));
            ids[oo] = id;
            cnt[id]++;
            if (k > 1) {
                int ko = r * E;
                k0.intoArray(ks, ko);
                k1.intoArray(ks, ko + L);
                k2.intoArray(ks, ko + 2 * L);
                k3.intoArray(ks, ko + 3 * L);
                ks[ko + id] = GONE_KEY;
            }
        }
        for (int j = 1; j < k; j++) {
            laterPass4(n, k, ids, o + j, cnt, rare, ks);
        }
        return anyRare;
    }

    /** Selection keys of {@code a[off .. off+len)} into {@code ks[0 .. len)}, len a multiple of L. */
    private static void keysOf(float[] a, int off, int len, int[] ks) {
        for (int i = 0; i < len; i += L) { // a streaming loop: keeps enough reads in flight without touches
            VectorMath.keys(FloatVector.fromArray(F, a, off + i)).intoArray(ks, i);
        }
    }

    /**
     * k = 2 with E = 4L (keys from {@link #keysOf}), in registers: besides the lane-wise maximum M1 of the four key vectors keep
     * the lane-wise runner-up M2 (a min/max network); the second best overall is the maximum of M1 with
     * the winner's lane replaced by M2's, located like the first (the winner's own bit cleared, so a tie
     * with the winner finds the next index holding the same key).
     */
    private static boolean select4k2(int[] ks, int n, int[] ids, int o, long[] cnt, boolean[] rare) {
        boolean anyRare = false;
        for (int r = 0, ro = 0, oo = o; r < n; r++, ro += 4 * L, oo += 2) {
            IntVector k0 = IntVector.fromArray(I, ks, ro);
            IntVector k1 = IntVector.fromArray(I, ks, ro + L);
            IntVector k2 = IntVector.fromArray(I, ks, ro + 2 * L);
            IntVector k3 = IntVector.fromArray(I, ks, ro + 3 * L);
            IntVector hi01 = k0.max(k1);
            IntVector hi23 = k2.max(k3);
            IntVector m1 = hi01.max(hi23);
            int s = m1.reduceLanes(VectorOperators.MAX);
            boolean isRare = s >= POS_INF_KEY || s <= NEG_INF_KEY;
            rare[r] = isRare;
            if (isRare) {
                anyRare = true;
                continue;
            }
            IntVector m2 = hi01.min(hi23).max(k0.min(k1).max(k2.min(k3)));
            long bits = locate(k0, k1, k2, k3, s);
            long first = bits & -bits;
            int id = Long.numberOfTrailingZeros(first);
            ids[oo] = id;
            cnt[id]++;
            IntVector rest = m1.blend(m2, VectorMask.fromLong(I, 1L << (id & (L - 1))));
            int s2 = rest.reduceLanes(VectorOperators.MAX);
            int id2 = Long.numberOfTrailingZeros(locate(k0, k1, k2, k3, s2) & ~first);
            ids[oo + 1] = id2;
            cnt[id2]++;
        }
        return anyRare;
    }

    /** k = 1, E = 4L: one pass on {@link VectorMath#keysFirstPass} keys (NaN rows come out rare). */
    private static boolean select4k1(float[] a, int off, int n, int[] ids, int o, long[] cnt, boolean[] rare) {
        boolean anyRare = false;
        int sink = 0;
        for (int r = 0, ro = off; r < n; r++, ro += 4 * L) {
            sink ^= touch(a, ro + TOUCH_AHEAD, 4 * L);
            IntVector k0 = VectorMath.keysFirstPass(FloatVector.fromArray(F, a, ro));
            IntVector k1 = VectorMath.keysFirstPass(FloatVector.fromArray(F, a, ro + L));
            IntVector k2 = VectorMath.keysFirstPass(FloatVector.fromArray(F, a, ro + 2 * L));
            IntVector k3 = VectorMath.keysFirstPass(FloatVector.fromArray(F, a, ro + 3 * L));
            int s = max4(k0, k1, k2, k3);
            boolean isRare = s >= POS_INF_KEY || s <= NEG_INF_KEY;
            rare[r] = isRare;
            if (isRare) {
                anyRare = true;
                continue;
            }
            int id = Long.numberOfTrailingZeros(locate(k0, k1, k2, k3, s));
            ids[o + r] = id;
            cnt[id]++;
        }
        keep(sink);
        return anyRare;
    }

    /**
     * Pass j (&gt; 1) over the rows of a block: its own compile root, so {@link #nextBest4} inlines. The
     * winner is knocked out with a plain store; the row's next pass loads it n − 1 rows later, long after
     * the store retired (no store-forwarding stall).
     */
    private static void laterPass4(int n, int k, int[] ids, int oo, long[] cnt, boolean[] rare, int[] ks) {
        for (int r = 0, ko = 0; r < n; r++, oo += k, ko += 4 * L) {
            if (rare[r]) {
                continue;
            }
            int id = nextBest4(ks, ko);
            ks[ko + id] = GONE_KEY;
            ids[oo] = id;
            cnt[id]++;
        }
    }

    /**
     * One pass over the keys of one row ({@code ks[ko .. ko+4L)}): the lowest index holding the largest
     * key. Scalar signature on purpose: whether C2 inlines it or not, no vector crosses a call boundary.
     */
    private static int nextBest4(int[] ks, int ko) {
        IntVector m0 = IntVector.fromArray(I, ks, ko);
        IntVector m1 = IntVector.fromArray(I, ks, ko + L);
        IntVector m2 = IntVector.fromArray(I, ks, ko + 2 * L);
        IntVector m3 = IntVector.fromArray(I, ks, ko + 3 * L);
        return Long.numberOfTrailingZeros(locate(m0, m1, m2, m3, max4(m0, m1, m2, m3)));
    }

    /** Σ_E exp(x − m) per row (m = the row's best logit), E = 4L, vectorised float exps. */
    private static void expSums4(float[] a, int off, int n, int k, int[] ids, int o, boolean[] rare, double[] sums) {
        for (int r = 0; r < n; r++, off += 4 * L, o += k) {
            if (!rare[r]) {
                sums[r] = expSum(a, off, 4 * L, a[off + ids[o]]);
            }
        }
    }

    /** Σ exp(a[i] − m) over a[off .. off+len), len a multiple of L (one exp in the loop body: see above). */
    private static float expSum(float[] a, int off, int len, float m) {
        FloatVector acc = FloatVector.zero(F);
        for (int v = 0; v < len; v += L) {
            acc = acc.add(VectorMath.expNonPositive(FloatVector.fromArray(F, a, off + v).sub(m)));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Rare rows (best logit ±∞ or NaN): the reference code, exact by construction. */
    private void rareRows(float[] a, int off, int n, int[] ids, float[] w, int o) {
        int E = experts;
        for (int r = 0; r < n; r++) {
            if (rare[r]) {
                scalar.routeOne(a, off + r * E, spec, ids, w, o + r * k, counts);
            }
        }
    }

    /**
     * Any E: the keys of the block go to {@code ks} ({@code [n][P]}, P = E rounded up to whole vectors,
     * padding {@link VectorMath#GONE_KEY}); then k passes with the rows as the inner loop (independent
     * chains overlap), each knocking its winner out with a plain store, long retired by the row's next pass.
     */
    private static boolean selectAny(float[] a, int off, int E, int n, int k, int[] ids, int o, long[] cnt,
                                     boolean[] rare, int[] ks) {
        final int nv = (E + L - 1) / L;
        final int last = (nv - 1) * L;
        final int P = nv * L;
        final VectorMask<Float> tail = F.indexInRange(last, E);
        final VectorMask<Integer> pad = tail.not().cast(I);
        boolean anyRare = false;
        for (int r = 0, ro = off, ko = 0; r < n; r++, ro += E, ko += P) {
            IntVector mx = VectorMath.keys(FloatVector.fromArray(F, a, ro + last, tail)).blend(GONE_KEY, pad);
            mx.intoArray(ks, ko + last);
            for (int v = 0; v < last; v += L) {
                IntVector kv = VectorMath.keys(FloatVector.fromArray(F, a, ro + v));
                kv.intoArray(ks, ko + v);
                mx = mx.max(kv);
            }
            int s = mx.reduceLanes(VectorOperators.MAX);
            boolean isRare = s >= POS_INF_KEY || s <= NEG_INF_KEY;
            rare[r] = isRare;
            anyRare |= isRare;
        }
        for (int j = 0; j < k; j++) {
            for (int r = 0, ko = 0, oo = o + j; r < n; r++, ko += P, oo += k) {
                if (rare[r]) {
                    continue;
                }
                int id = nextBestAny(ks, ko, last);
                ks[ko + id] = GONE_KEY;
                ids[oo] = id;
                cnt[id]++;
            }
        }
        return anyRare;
    }

    /** Index (relative to {@code ko}) of the largest key in {@code ks[ko .. ko+last+L)}, lowest on ties. */
    private static int nextBestAny(int[] ks, int ko, int last) {
        IntVector m = IntVector.fromArray(I, ks, ko);
        for (int v = L; v <= last; v += L) {
            m = m.max(IntVector.fromArray(I, ks, ko + v));
        }
        int s = m.reduceLanes(VectorOperators.MAX);
        for (int v = 0; ; v += L) {
            long bits = IntVector.fromArray(I, ks, ko + v).eq(s).toLong();
            if (bits != 0) {
                return v + Long.numberOfTrailingZeros(bits);
            }
        }
    }

    private static void expSumsAny(float[] a, int off, int E, int n, int k, int[] ids, int o, boolean[] rare, double[] sums) {
        final int nv = (E + L - 1) / L;
        final int last = (nv - 1) * L;
        final VectorMask<Float> tail = F.indexInRange(last, E);
        final VectorMask<Float> pad = tail.not();
        for (int r = 0; r < n; r++, off += E, o += k) {
            if (rare[r]) {
                continue;
            }
            float m = a[off + ids[o]];
            FloatVector acc = VectorMath.expNonPositive(FloatVector.fromArray(F, a, off + last, tail).sub(m)).blend(0f, pad);
            for (int v = 0; v < last; v += L) {
                acc = acc.add(VectorMath.expNonPositive(FloatVector.fromArray(F, a, off + v).sub(m)));
            }
            sums[r] = acc.reduceLanes(VectorOperators.ADD);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // sigmoid-grouped, float fast path
    //
    // Keys are computed in float, key_f = fl(sigmoid_f(x) + bias), within keyError = SIGMOID_ABS_ERROR
    // + half an ulp of |key| (≤ (1 + max|bias|)·2^-24, doubled) of the reference's double key. Group
    // scores (the sum of a group's two best keys: order statistics move by at most the perturbation)
    // are within 2·keyError plus one more rounding. A decision is taken on the float values only when
    // it is clear by more than twice the error of both sides: the kept-group boundary (tg-th vs
    // (tg+1)-th group score) and every step of the selected order (j-th vs (j+1)-th key, j < picks).
    // Then the exact keys decide the same way, ties included (equal exact keys give float keys closer
    // than the margin). Any other row (NaN, |x| > 700, a decision within the margin) goes through the
    // double-precision path below (itself exact by falling back to the reference on its own near-ties).
    // ------------------------------------------------------------------------------------------------

    /**
     * Integer keys of sigmoid_f(x) + bias for n rows ({@code ks[n][padded]}, padding GONE); fast[r] = no
     * NaN in the row (the float sigmoid is within its bound for every other x, ±∞ included). The vector
     * work sits in small methods taking arrays only: one method holding several inlined sigmoids hits
     * C2's NodeCountInliningCutoff, and a vector crossing a call that was not inlined is boxed.
     */
    private static void groupedKeys(float[] a, int off, int E, int n, float[] biasF, int[] ks, boolean[] fast) {
        final int nv = (E + L - 1) / L;
        final int full = E / L * L;
        final int P = nv * L;
        for (int r = 0, ro = off, ko = 0; r < n; r++, ro += E, ko += P) {
            long nan = 0;
            for (int v = 0; v < full; v += L) {
                nan |= sigmoidKeys(a, ro + v, biasF, v, ks, ko + v);
            }
            if (full < E) {
                nan |= sigmoidKeysTail(a, ro + full, E - full, biasF, full, ks, ko + full);
            }
            fast[r] = nan == 0;
        }
    }

    /** Keys of {@code sigmoid_f(a[ai .. ai+L)) + biasF[bi ..]} into {@code ks[ki ..]}; the NaN lanes as bits. */
    private static long sigmoidKeys(float[] a, int ai, float[] biasF, int bi, int[] ks, int ki) {
        FloatVector x = FloatVector.fromArray(F, a, ai);
        VectorMath.keysFirstPass(VectorMath.sigmoid(x).add(FloatVector.fromArray(F, biasF, bi))).intoArray(ks, ki);
        return x.compare(VectorOperators.NE, x).toLong();
    }

    /** {@link #sigmoidKeys} for the last {@code len} &lt; L experts of a row; the other lanes get GONE. */
    private static long sigmoidKeysTail(float[] a, int ai, int len, float[] biasF, int bi, int[] ks, int ki) {
        VectorMask<Float> m = F.indexInRange(0, len);
        FloatVector x = FloatVector.fromArray(F, a, ai, m);
        VectorMath.keysFirstPass(VectorMath.sigmoid(x).add(FloatVector.fromArray(F, biasF, bi)))
                .blend(GONE_KEY, m.not().cast(I)).intoArray(ks, ki);
        return x.compare(VectorOperators.NE, x).toLong();
    }

    /** Sets bits [from, from + len) of the bitset at {@code bits[at ..]}. */
    private static void setRange(long[] bits, int at, int from, int len) {
        while (len > 0) {
            int b = from & 63;
            int take = Math.min(len, 64 - b);
            long m = take == 64 ? -1L : ((1L << take) - 1) << b;
            bits[at + (from >>> 6)] |= m;
            from += take;
            len -= take;
        }
    }

    /**
     * The kept groups of every fast row (unless their boundary is within the margin: then the row is
     * no longer fast); the keys of the dropped groups become GONE in place.
     */
    private void groupedGroups(int n) {
        if (groupKind == 0) {
            return;
        }
        final int W = words;
        final int G = spec.groups();
        final int size = spec.groupSize();
        final int tg = spec.topkGroups();
        final float[] gs = groupScores;
        final long[] bits = allowed;
        for (int r = 0, ko = 0; r < n; r++, ko += padded) {
            if (!fast[r]) {
                continue;
            }
            switch (groupKind) {
                case 1 -> {
                    groupScoresInVector(keys, ko, nv, size, groupLanes);
                    for (int g = 0; g < G; g++) {
                        gs[g] = groupLanes[g * size];
                    }
                }
                case 2 -> groupScoresWide(keys, ko, G, size, gs);
                default -> groupScoresScalar(keys, ko, G, size, gs);
            }
            if (G <= L) {
                long kept = keptGroups(gs, G, tg, groupTie);
                if (kept == 0) {
                    fast[r] = false;
                    continue;
                }
                if (padded <= 64) {
                    bits[0] = Long.expand(kept, groupStarts) * groupOnes;
                } else {
                    java.util.Arrays.fill(bits, 0, W, 0L);
                    for (; kept != 0; kept &= kept - 1) {
                        setRange(bits, 0, Long.numberOfTrailingZeros(kept) * size, size);
                    }
                }
            } else {
                topGroups(gs, G, tg + 1);
                if ((double) groupTop[tg - 1] - groupTop[tg] <= groupTie) {
                    fast[r] = false;
                    continue;
                }
                java.util.Arrays.fill(bits, 0, W, 0L);
                for (int j = 0; j < tg; j++) {
                    setRange(bits, 0, groupTopIdx[j] * size, size);
                }
            }
            dropNotAllowed(keys, ko, nv, bits);
        }
    }

    /** Keys of the row {@code ks[ko ..]} whose bit in {@code bits} is clear become GONE. */
    private static void dropNotAllowed(int[] ks, int ko, int nv, long[] bits) {
        for (int v = 0; v < nv; v++) {
            long b = bits[v * L >>> 6] >>> (v * L & 63);
            IntVector.fromArray(I, ks, ko + v * L).blend(GONE_KEY, VectorMask.fromLong(I, ~b)).intoArray(ks, ko + v * L);
        }
    }

    /**
     * The tg best of G ≤ L group scores {@code gs[0 .. G)} as a bitmask, branch-free: each group's rank
     * is the number of groups beating it (higher score, or equal and lower index), counted lane-wise;
     * 0 when the worst kept and the best dropped score are within {@code tie} (then the exact scores
     * may rank them the other way).
     */
    private static final int[] IOTA = new int[L];

    static {
        for (int i = 0; i < L; i++) {
            IOTA[i] = i;
        }
    }

    private static long keptGroups(float[] gs, int G, int tg, double tie) {
        VectorMask<Float> valid = F.indexInRange(0, G);
        // a gather, not a vector load: the scores were just stored one by one, and a vector load of
        // several recent scalar stores stalls until they reach the cache (no store forwarding)
        FloatVector sv = FloatVector.fromArray(F, gs, 0, IOTA, 0, valid);
        IntVector lane = IntVector.zero(I).addIndex(1);
        IntVector rank = IntVector.zero(I);
        for (int h = 0; h < G; h++) {
            float sh = gs[h];
            VectorMask<Float> beaten = sv.compare(VectorOperators.LT, sh)
                    .or(sv.compare(VectorOperators.EQ, sh).and(lane.compare(VectorOperators.GT, h).cast(F)));
            rank = rank.lanewise(VectorOperators.ADD, 1, beaten.cast(I));
        }
        VectorMask<Float> kept = rank.compare(VectorOperators.LT, tg).cast(F).and(valid);
        float minKept = sv.blend(Float.POSITIVE_INFINITY, kept.not()).reduceLanes(VectorOperators.MIN);
        float maxOut = sv.blend(Float.NEGATIVE_INFINITY, kept.or(valid.not())).reduceLanes(VectorOperators.MAX);
        return (double) minKept - maxOut <= tie ? 0 : kept.toLong();
    }

    /**
     * Group scores for groups of {@code size} (a power of two, ≤ L) lanes: a butterfly inside each
     * vector keeps every lane's group top two (lane i meets lane i XOR d, d = 1, 2, 4, 8), so every lane
     * ends with its group's score; lanes written to {@code out[v·L ..]}.
     */
    private static void groupScoresInVector(int[] ks, int ko, int nv, int size, float[] out) {
        for (int v = 0; v < nv; v++) {
            IntVector m1 = IntVector.fromArray(I, ks, ko + v * L);
            if (size == 1) {
                VectorMath.unkeys(m1).intoArray(out, v * L);
                continue;
            }
            IntVector p1 = m1.rearrange(VectorMath.XOR1);
            IntVector m2 = m1.min(p1);
            m1 = m1.max(p1);
            if (size > 2) {
                p1 = m1.rearrange(VectorMath.XOR2);
                IntVector p2 = m2.rearrange(VectorMath.XOR2);
                m2 = m1.min(p1).max(m2.max(p2));
                m1 = m1.max(p1);
            }
            if (size > 4) {
                p1 = m1.rearrange(VectorMath.XOR4);
                IntVector p2 = m2.rearrange(VectorMath.XOR4);
                m2 = m1.min(p1).max(m2.max(p2));
                m1 = m1.max(p1);
            }
            if (size > 8) {
                p1 = m1.rearrange(VectorMath.XOR8);
                IntVector p2 = m2.rearrange(VectorMath.XOR8);
                m2 = m1.min(p1).max(m2.max(p2));
                m1 = m1.max(p1);
            }
            VectorMath.unkeys(m1).add(VectorMath.unkeys(m2)).intoArray(out, v * L);
        }
    }

    /** Group scores for groups of whole vectors (size a multiple of L): lane-wise top two, then a butterfly. */
    private static void groupScoresWide(int[] ks, int ko, int G, int size, float[] out) {
        for (int g = 0, go = ko; g < G; g++, go += size) {
            IntVector m1 = IntVector.fromArray(I, ks, go);
            IntVector m2 = IntVector.broadcast(I, GONE_KEY);
            for (int v = L; v < size; v += L) {
                IntVector kv = IntVector.fromArray(I, ks, go + v);
                m2 = m2.max(m1.min(kv));
                m1 = m1.max(kv);
            }
            if (L > 1) {
                IntVector p1 = m1.rearrange(VectorMath.XOR1);
                IntVector p2 = m2.rearrange(VectorMath.XOR1);
                m2 = m1.min(p1).max(m2.max(p2));
                m1 = m1.max(p1);
            }
            if (L > 2) {
                IntVector p1 = m1.rearrange(VectorMath.XOR2);
                IntVector p2 = m2.rearrange(VectorMath.XOR2);
                m2 = m1.min(p1).max(m2.max(p2));
                m1 = m1.max(p1);
            }
            if (L > 4) {
                IntVector p1 = m1.rearrange(VectorMath.XOR4);
                IntVector p2 = m2.rearrange(VectorMath.XOR4);
                m2 = m1.min(p1).max(m2.max(p2));
                m1 = m1.max(p1);
            }
            if (L > 8) {
                IntVector p1 = m1.rearrange(VectorMath.XOR8);
                IntVector p2 = m2.rearrange(VectorMath.XOR8);
                m2 = m1.min(p1).max(m2.max(p2));
                m1 = m1.max(p1);
            }
            out[g] = VectorMath.unkey(m1.lane(0)) + VectorMath.unkey(m2.lane(0));
        }
    }

    /** Group scores, any size: the two best integer keys of each group (float sum, like the vector paths). */
    private static void groupScoresScalar(int[] ks, int ko, int G, int size, float[] out) {
        for (int g = 0, i = ko; g < G; g++) {
            int b1 = GONE_KEY;
            int b2 = GONE_KEY;
            for (int end = i + size; i < end; i++) {
                int v = ks[i];
                b2 = Math.max(b2, Math.min(b1, v));
                b1 = Math.max(b1, v);
            }
            out[g] = size == 1 ? VectorMath.unkey(b1) : VectorMath.unkey(b1) + VectorMath.unkey(b2);
        }
    }

    /** The {@code want} best of {@code v[0 .. G)} into {@link #groupTop}/{@link #groupTopIdx}, descending (lower index first on ties). */
    private void topGroups(float[] v, int G, int want) {
        final float[] tv = groupTop;
        final int[] ti = groupTopIdx;
        int c = 0;
        for (int g = 0; g < G; g++) {
            float x = v[g];
            if (c == want && !(x > tv[c - 1])) {
                continue;
            }
            int j = c == want ? c - 1 : c++;
            while (j > 0 && x > tv[j - 1]) {
                tv[j] = tv[j - 1];
                ti[j] = ti[j - 1];
                j--;
            }
            tv[j] = x;
            ti[j] = g;
        }
    }

    /**
     * {@code picks} passes, rows inner: the best remaining key of each fast row, its id into {@code ids}
     * (first k passes) and its key into {@code top}, then knocked out with a plain store (the row's
     * next pass loads it n − 1 rows later, long after the store retired).
     */
    private static void groupedTopK(int[] ks, int nv, int n, int k, int picks, boolean[] fast, int[] top, int[] ids, int o) {
        final int P = nv * L;
        final int last = P - L;
        for (int j = 0; j < picks; j++) {
            for (int r = 0, ko = 0, to = j, oo = o + j; r < n; r++, ko += P, to += k + 1, oo += k) {
                if (!fast[r]) {
                    continue;
                }
                int id = nv == 4 ? nextBest4(ks, ko) : nextBestAny(ks, ko, last);
                top[to] = ks[ko + id];
                ks[ko + id] = GONE_KEY;
                if (j < k) {
                    ids[oo] = id;
                }
            }
        }
    }

    /**
     * Margin checks on the selected order; the fast rows' weights (the unbiased sigmoid of the k selected
     * in double, vectorised over the block: e = exp(−|x|) then (x &lt; 0 ? e : 1)/(1 + e)) and counts;
     * the other rows through the double path.
     */
    private void groupedFinish(float[] a, int off, int n, int[] ids, float[] w, int o) {
        final int E = experts;
        final int k1 = k + 1;
        final double[] x = xs;
        final double[] e = sig;
        int c = 0;
        for (int r = 0, ro = off, oo = o, to = 0; r < n; r++, ro += E, oo += k, to += k1) {
            if (!fast[r]) {
                continue;
            }
            double prev = VectorMath.unkey(topKeys[to]);
            for (int j = 1; j < picks; j++) {
                double cur = VectorMath.unkey(topKeys[to + j]);
                if (prev - cur <= keyTie) {
                    fast[r] = false;
                    break;
                }
                prev = cur;
            }
            if (fast[r]) {
                for (int j = 0; j < k; j++, c++) {
                    double v = a[ro + ids[oo + j]];
                    x[c] = v;
                    e[c] = -Math.abs(v);
                }
            }
        }
        int pad = (c + VectorMath.D.length() - 1) / VectorMath.D.length() * VectorMath.D.length();
        java.util.Arrays.fill(x, c, pad, 0.0);
        java.util.Arrays.fill(e, c, pad, 0.0);
        VectorMath.expNonPositiveInPlace(e, c);
        VectorMath.sigmoidFromExp(x, e, c);
        int slow = 0;
        c = 0;
        for (int r = 0, oo = o; r < n; r++, oo += k) {
            if (fast[r]) {
                double sum = 0;
                boolean tiny = false;
                for (int j = 0; j < k; j++) {
                    double sj = e[c + j];
                    tiny |= a_tooSmall(sj);
                    sum += sj;
                }
                if (!tiny) {
                    double inv = 1.0 / sum;
                    for (int j = 0; j < k; j++) {
                        counts[ids[oo + j]]++;
                        w[oo + j] = (float) (e[c + j] * inv);
                    }
                    c += k;
                    continue;
                }
                c += k;
            }
            slowAt[slow++] = r;
        }
        if (slow > 0) {
            slowRows(a, off, slow, ids, w, o);
        }
    }

    /** The rows listed in {@link #slowAt}: gathered, routed by the double-precision path, scattered back. */
    private void slowRows(float[] a, int off, int m, int[] ids, float[] w, int o) {
        final int E = experts;
        for (int i = 0; i < m; i++) {
            System.arraycopy(a, off + slowAt[i] * E, slowRows, i * E, E);
        }
        sigmoidPrepare(slowRows, 0, m);
        VectorMath.expNonPositiveInPlace(sig, m * E);
        VectorMath.sigmoidFromExp(xs, sig, m * E);
        sigmoidSelect(slowRows, 0, m, slowIds, slowW, 0);
        for (int i = 0; i < m; i++) {
            System.arraycopy(slowIds, i * k, ids, o + slowAt[i] * k, k);
            System.arraycopy(slowW, i * k, w, o + slowAt[i] * k, k);
        }
    }

    /**
     * Gap below which two sigmoid-grouped keys (or group scores) count as a possible tie. The vector
     * sigmoid is within ~1e-13 of the reference's {@code 1/(1 + Math.exp(−x))}; any decision closer than
     * this goes to the reference code, so ids are identical, near-ties included.
     */
    static final double TIE_MARGIN = 0x1p-36;

    private void sigmoidPrepare(float[] a, int off, int n) {
        final int total = n * experts;
        final double[] s = sig;
        final double[] x = xs;
        for (int r = 0, i = 0; r < n; r++) {
            boolean bad = false;
            for (int e = 0; e < experts; e++, i++) {
                float v = a[off + i];
                bad |= !(Math.abs(v) <= 700f);
                x[i] = v;
                s[i] = -Math.abs((double) v);
            }
            nonFinite[r] = bad;
        }
        int padded = (total + VectorMath.D.length() - 1) / VectorMath.D.length() * VectorMath.D.length();
        java.util.Arrays.fill(s, total, padded, 0.0);
        java.util.Arrays.fill(x, total, padded, 0.0);
    }

    /**
     * Groups by the sum of their top-2 keys, the kept groups, top-k inside them and the renormalised
     * unbiased weights, from the vector sigmoid. Rows with |x| &gt; 700 or NaN, and rows where a decision
     * (kept-group boundary, order of the k selected, k-th vs next) is closer than {@link #TIE_MARGIN},
     * are routed by the reference code instead.
     */
    private void sigmoidSelect(float[] a, int off, int n, int[] ids, float[] w, int o) {
        final int E = experts;
        final int G = spec.groups();
        final int size = E / G;
        final int tg = spec.topkGroups();
        final double[] s = sig;
        final double[] kk = key;
        for (int r = 0; r < n; r++, o += k) {
            int so = r * E;
            if (nonFinite[r] || !sigmoidRow(s, so, E, G, size, tg, ids, w, o, kk)) {
                scalar.routeOne(a, off + r * E, spec, ids, w, o, counts);
            }
        }
    }

    /** One row; false (nothing written, nothing counted) when a decision is too close to call. */
    private boolean sigmoidRow(double[] s, int so, int E, int G, int size, int tg, int[] ids, float[] w, int o, double[] kk) {
        for (int e = 0; e < E; e++) {
            kk[e] = s[so + e] + bias[e];
        }
        boolean[] kg = keep;
        if (G > 1) {
            if (size == VectorMath.D.length()) {
                groupScoresOneVector(kk, G, groupScore);
            } else {
                groupScoresScalar(kk, G, size, groupScore);
            }
            if (tg < G) {
                topK(groupScore, 1, G, null, tg + 1);
                if (topVal[tg - 1] - topVal[tg] <= 4 * TIE_MARGIN) {
                    return false;
                }
                java.util.Arrays.fill(kg, false);
                for (int j = 0; j < tg; j++) {
                    kg[topIdx[j]] = true;
                }
            } else {
                java.util.Arrays.fill(kg, true);
            }
        }
        int want = Math.min(k + 1, G > 1 ? tg * size : E);
        int c = G > 1 ? topK(kk, G, size, kg, want) : topK(kk, 1, E, null, want);
        for (int j = 0; j + 1 < c; j++) {
            if (topVal[j] - topVal[j + 1] <= 2 * TIE_MARGIN) {
                return false;
            }
        }
        double sum = 0;
        for (int j = 0; j < k; j++) {
            int id = topIdx[j];
            if (a_tooSmall(s[so + id])) {
                return false;
            }
            sum += s[so + id];
        }
        for (int j = 0; j < k; j++) {
            int id = topIdx[j];
            ids[o + j] = id;
            counts[id]++;
            w[o + j] = sum > 0 ? (float) (s[so + id] / sum) : (float) (1.0 / k);
        }
        return true;
    }

    /** Sum of the top two keys of each group, one group per double vector (two reductions each). */
    private static void groupScoresOneVector(double[] kk, int G, double[] out) {
        final int dl = VectorMath.D.length();
        for (int g = 0; g < G; g++) {
            DoubleVector v = DoubleVector.fromArray(VectorMath.D, kk, g * dl);
            double b1 = v.reduceLanes(VectorOperators.MAX);
            long at = v.eq(b1).toLong();
            double b2 = v.blend(Double.NEGATIVE_INFINITY, VectorMask.fromLong(VectorMath.D, at & -at)).reduceLanes(VectorOperators.MAX);
            out[g] = b1 + b2;
        }
    }

    /** Sum of the top two keys of each group (its only key for groups of one). */
    private static void groupScoresScalar(double[] kk, int G, int size, double[] out) {
        for (int g = 0; g < G; g++) {
            double b1 = Double.NEGATIVE_INFINITY;
            double b2 = Double.NEGATIVE_INFINITY;
            for (int e = g * size; e < (g + 1) * size; e++) {
                double v = kk[e];
                b2 = Math.max(b2, Math.min(b1, v)); // branch-free: keys are finite here
                b1 = Math.max(b1, v);
            }
            out[g] = size == 1 ? b1 : b1 + b2;
        }
    }

    /** A sigmoid so small (x below about −700) that the reference's own exp may differ: leave it to it. */
    private static boolean a_tooSmall(double sigmoid) {
        return sigmoid < 1e-300;
    }

    /**
     * The {@code want} largest of {@code v[0 .. groups·size)}, only in groups g with {@code allowed[g]}
     * when allowed is given, into {@link #topVal}/{@link #topIdx}, descending, lower index first on
     * equal values; returns how many.
     */
    private int topK(double[] v, int groups, int size, boolean[] allowed, int want) {
        final double[] tv = topVal;
        final int[] ti = topIdx;
        int c = 0;
        for (int g = 0; g < groups; g++) {
            if (allowed != null && !allowed[g]) {
                continue;
            }
            for (int i = g * size, end = i + size; i < end; i++) {
                double x = v[i];
                if (c == want && !(x > tv[c - 1])) {
                    continue;
                }
                int j = c == want ? c - 1 : c++;
                while (j > 0 && x > tv[j - 1]) {
                    tv[j] = tv[j - 1];
                    ti[j] = ti[j - 1];
                    j--;
                }
                tv[j] = x;
                ti[j] = i;
            }
        }
        return c;
    }

    /**
     * The k − 1 exponentials exp(x_j − m) (j ≥ 1) of every non-rare row of the block, gathered into
     * {@code dd} and computed in one vectorised pass; returns how many. The weights phases read them.
     */
    private int selectedExps(float[] a, int off, int E, int n, int k, int[] ids, int o, boolean[] rare) {
        double[] d = dd;
        int c = 0;
        for (int r = 0; r < n; r++, off += E, o += k) {
            if (rare[r]) {
                continue;
            }
            float m = a[off + ids[o]];
            for (int j = 1; j < k; j++) {
                d[c++] = (double) a[off + ids[o + j]] - m;
            }
        }
        int padded = (c + VectorMath.D.length() - 1) / VectorMath.D.length() * VectorMath.D.length();
        java.util.Arrays.fill(d, c, padded, 0.0);
        VectorMath.expNonPositiveInPlace(d, c);
        return c;
    }

    /** softmax-topk: p_j = exp(x_j − m) / Σ_E exp(x_e − m); the k numerators in accurate double. */
    private void fullWeights(float[] a, int off, int E, int n, int k, int[] ids, float[] w, int o,
                             boolean[] rare, double[] sums) {
        double[] d = dd;
        int c = 0;
        for (int r = 0; r < n; r++, o += k) {
            if (rare[r]) {
                continue;
            }
            double inv = 1.0 / sums[r];
            w[o] = (float) inv;
            for (int j = 1; j < k; j++) {
                w[o + j] = (float) (d[c++] * inv);
            }
        }
    }

    /** topk-softmax: softmax over the k selected (the first is the largest and finite), in double. */
    private void renormalisedWeights(float[] a, int off, int E, int n, int k, int[] ids, float[] w, int o, boolean[] rare) {
        double[] d = dd;
        int c = 0;
        for (int r = 0; r < n; r++, o += k) {
            if (rare[r]) {
                continue;
            }
            double sum = 1.0;
            for (int j = 0; j < k - 1; j++) {
                sum += d[c + j];
            }
            double inv = 1.0 / sum;
            w[o] = (float) inv;
            for (int j = 1; j < k; j++) {
                w[o + j] = (float) (d[c++] * inv);
            }
        }
    }
}
