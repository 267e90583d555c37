package io.moecast.sim;

import io.moecast.routing.Router;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A router under training, step by step: draws a batch of tokens, routes every MoE layer's hidden states
 * through a {@link Router} (the fused {@link Router#routeHidden} entry point: logits = X·W, top-k,
 * histogram), applies the capacity limit, and takes an Adam step on the gate weights W of every layer.
 * The per-step histograms are the load trace. Deterministic for a seed and a router implementation.
 *
 * <h2>Data</h2>
 * A vocabulary of V tokens with Zipfian frequencies (rank r has weight 1/(r+1)^s); each token belongs to
 * one of C clusters (topics). A batch is T/seqLen sequences; each sequence has a topic (drawn by cluster
 * mass) and draws {@code topicMix} of its tokens from that topic's tokens, the rest from the whole
 * vocabulary, so tokens of a sequence are correlated (loads fluctuate more than independent tokens
 * would, as on real traces). The hidden state of an occurrence of token v in layer l is
 * <pre>  x = c_l[cluster(v)] + O[v] + N[j]</pre>
 * with c_l the layer's cluster centres (unit variance per coordinate), O[v] = R·u_v a token-specific
 * part (rank 16, variance 0.25) and N[j] = Q·n_j a context part from a bank of 256 (rank 16, variance
 * 0.25), j drawn per occurrence and layer. The cluster centres drift as representations do under
 * training: a random walk pulled back to where it started, with steps proportional to the current
 * learning rate ({@code drift} at the peak).
 *
 * <h2>Objective</h2>
 * Each expert e has a skill q[e][c] for each cluster, which follows the share of cluster c's
 * token-slots it processed (experts get better at what they are sent: q ← q + ρ·(lr/lr_peak)·(a − q),
 * a the share, ρ = {@code expertRate}). The router minimises, per step,
 * <pre>  L = −(β/T) Σ_t Σ_{j ∈ kept top-k of t} w_tj · q[j][cluster(t)]  +  α · E · Σ_e f_e · P_e</pre>
 * The first term, <b>specialisation</b>, rewards sending a token with a large gate weight w to experts
 * skilled at its cluster (w as the scoring mode defines it: the softmax probability, the softmax over the
 * selected k, or the renormalised sigmoid; dropped slots count nothing, since their expert never sees the
 * token). Together with the skills it is a rich-get-richer loop that makes experts specialise on
 * clusters; β = 0.1 (what an expert's skill brings is a small part of a language model's loss, of the
 * order of the balancing term). The second is the standard (Switch/GShard) <b>auxiliary load-balancing loss</b>: f_e the
 * fraction of token-slots routed to e (the router's histogram, before capacity), P_e the mean router
 * probability of e (softmax over all experts; the sigmoid scores normalised over all experts for
 * sigmoid-grouped); α = {@code aux}, 0 allowed. Gradients are exact (dL/dlogits per token, then
 * dL/dW = Xᵀ·dL/dlogits using the structure of x); the step is Adam (β 0.9/0.95, decoupled weight decay
 * 0.1) with linear warm-up and cosine decay ({@link SimConfig#lrAt}).
 *
 * <p>So the loads go through a transient (experts symmetric at first; clusters migrate between experts
 * while skills form, the learning rate is high and the embeddings move) and settle into a stable state
 * (clusters owned by experts, the balance between specialisation and the auxiliary loss reached, drift
 * slowed by the decaying learning rate).
 */
public final class RouterTrainingSimulator {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.95;
    private static final double EPS = 1e-8;
    private static final double WEIGHT_DECAY = 0.1;
    private static final double INIT_STD = 0.02;
    private static final double TOKEN_VAR = 0.25;
    private static final double CONTEXT_VAR = 0.25;
    private static final double DRIFT_PULL = 0.002;
    private static final double TOKEN_BOOST = 2.0;
    /** Weight of the specialisation term (the skill an expert brings is a small part of the loss). */
    private static final double SPEC_SCALE = 0.1;

    /** Default tokens per routing call: 1,024 tokens × d = 256 floats = 1 MiB of hidden states, cache-sized. */
    public static final int DEFAULT_MICRO_BATCH = 1024;

    private final SimConfig cfg;
    private final int microBatch;
    private final HiddenKernels kernels = HiddenKernels.best();
    private final RowOps ops = RowOps.best();
    private final int[] ids;
    private final long[] hist;
    private final Router router;
    private final RoutingSpec spec;
    private final int L;
    private final int E;
    private final int K;
    private final int D;
    private final int T;
    private final int C;
    private final int V;
    private final int R = SimConfig.RANK;
    private final int P = SimConfig.CONTEXTS;
    private final int cap;
    private final SplittableRandom rnd;

    // vocabulary
    private final double[] vocabCdf;
    private final int[] tokenCluster;
    private final double[] clusterCdf;
    private final int[][] clusterTokens;
    private final double[][] clusterTokenCdf;
    // hidden-state structure
    private final float[] tokenLatent;   // [V][R]
    private final float[] tokenBasis;    // [R][D]
    private final float[] tokenPart;     // [V][D] = latent · basis
    private final float[] ctxLatent;     // [P][R]
    private final float[] ctxBasis;      // [R][D]
    private final float[] ctxPart;       // [P][D]
    private final float[][] centres;     // [L][C][D] current
    private final float[][] centresInit; // where representations start
    private final float[][] centresGoal; // the trained structure they settle to
    private final float[][] walk;        // the random-walk part of the drift
    // trainable state
    private final float[][] gate;        // [L][D][E]
    private final double[][] gateD;      // the same weights as double, for the backward pass
    private final double[][] adamM;
    private final double[][] adamV;
    private final double[][] skill;      // [L][E][C]
    // per-step scratch
    private final int[] tok;
    private final int[] tokC;
    private final int[] ctx;
    private final float[] hidden;
    private final RoutingOutput out = new RoutingOutput();
    private final boolean[] kept;
    private final int[] keptCount;
    private final int[] dropCount;
    private final int[] clusterSlots;
    private final int[] clusterExpert;   // [E][C]
    private final double[] cw;           // [C][E]
    private final double[] rw;           // [R][E]
    private final double[] qw;           // [R][E]
    private final double[] nw;           // [P][E]
    private final double[] prob;         // [E]
    private final double[] g;            // [E]
    private final double[] gc;           // [C][E]
    private final double[] gu;           // [R][E]
    private final double[] gn;           // [P][E]
    private final double[] gr;           // [R][E]
    private final double[] dW;           // [D][E]
    private final double[] probSum;      // [E]
    private final double[] fe;           // [E] routed fraction
    private final double[] sigv;         // [E] sigmoid scores of the current token
    private final double[] sigd;         // [E] s(1−s)/Σs
    private final double[] ez;           // [E] unnormalised softmax of the current token
    private final double[] ecw;          // [C][E] exponentials of the logit parts (see expTables)
    private final double[] enw;          // [P][E]
    private final double[] ezu;          // [distinct][E]
    private double sigSum;
    private final double[] selW;         // [K]
    private final double[] zu;           // [distinct][E] token part of the logits
    private final double[] gv;           // [distinct][E]
    private final int[] tokSlot;         // [T] index of the token among the batch's distinct tokens
    private final int[] distinctTokens;  // [distinct]
    private final int[] stamp;           // [V] last step + 1 a token was seen, for the distinct list
    private int distinct;
    private final int[] slotOf;          // [V] slot of a token in the distinct list (valid when stamped)
    private final int[] counts;          // [L][E] kept
    private final int[] dropped;         // [L][E]
    private long step;
    /** Σ lr/lr_peak over the steps taken: training time in steps at the peak learning rate. */
    private double trainingTime;
    /** Scale of the token-specific part of the hidden states (large at first, 1 once settled). */
    private float tokenScale = 1f;
    private double lastLoss;

    /** A simulator routing each layer's step in micro-batches of {@link #DEFAULT_MICRO_BATCH} tokens. */
    public RouterTrainingSimulator(SimConfig cfg, Router router) {
        this(cfg, router, DEFAULT_MICRO_BATCH);
    }

    /**
     * @param microBatch tokens per routing call (results do not depend on it; 0 = the whole step in one
     *                   call, which suits a GPU router)
     */
    public RouterTrainingSimulator(SimConfig cfg, Router router, int microBatch) {
        if (microBatch < 0) {
            throw new IllegalArgumentException("micro-batch must be 0 (whole step) or positive, got " + microBatch);
        }
        this.microBatch = microBatch == 0 ? cfg.tokens() : Math.min(microBatch, cfg.tokens());
        this.cfg = cfg;
        this.router = router;
        this.spec = cfg.spec();
        L = cfg.layers();
        E = cfg.experts();
        K = cfg.k();
        D = cfg.d();
        T = cfg.tokens();
        C = cfg.clusters();
        V = cfg.vocab();
        cap = cfg.capacity();
        rnd = new SplittableRandom(cfg.seed());

        // vocabulary: Zipf weights, clusters at random
        double[] w = new double[V];
        double tot = 0;
        for (int r = 0; r < V; r++) {
            w[r] = 1.0 / Math.pow(r + 1, cfg.zipf());
            tot += w[r];
        }
        vocabCdf = new double[V];
        double acc = 0;
        for (int r = 0; r < V; r++) {
            acc += w[r] / tot;
            vocabCdf[r] = acc;
        }
        vocabCdf[V - 1] = 1.0;
        tokenCluster = new int[V];
        int[] perCluster = new int[C];
        double[] mass = new double[C];
        for (int v = 0; v < V; v++) {
            // every cluster gets at least one token
            int c = v < C ? v : rnd.nextInt(C);
            tokenCluster[v] = c;
            perCluster[c]++;
            mass[c] += w[v] / tot;
        }
        clusterTokens = new int[C][];
        clusterTokenCdf = new double[C][];
        for (int c = 0; c < C; c++) {
            clusterTokens[c] = new int[perCluster[c]];
            clusterTokenCdf[c] = new double[perCluster[c]];
        }
        int[] fill = new int[C];
        double[] cacc = new double[C];
        for (int v = 0; v < V; v++) {
            int c = tokenCluster[v];
            cacc[c] += w[v] / tot / mass[c];
            clusterTokens[c][fill[c]] = v;
            clusterTokenCdf[c][fill[c]] = cacc[c];
            fill[c]++;
        }
        for (int c = 0; c < C; c++) {
            clusterTokenCdf[c][perCluster[c] - 1] = 1.0;
        }
        clusterCdf = new double[C];
        acc = 0;
        for (int c = 0; c < C; c++) {
            acc += mass[c];
            clusterCdf[c] = acc;
        }
        clusterCdf[C - 1] = 1.0;

        // hidden-state parts
        tokenLatent = gaussian(V * R, 1.0);
        tokenBasis = gaussian(R * D, Math.sqrt(TOKEN_VAR / R));
        tokenPart = product(tokenLatent, V, tokenBasis);
        ctxLatent = gaussian(P * R, 1.0);
        ctxBasis = gaussian(R * D, Math.sqrt(CONTEXT_VAR / R));
        ctxPart = product(ctxLatent, P, ctxBasis);
        centres = new float[L][];
        centresInit = new float[L][];
        centresGoal = new float[L][];
        walk = new float[L][];
        gate = new float[L][];
        gateD = new double[L][];
        adamM = new double[L][D * E];
        adamV = new double[L][D * E];
        skill = new double[L][E * C];
        for (int l = 0; l < L; l++) {
            centresInit[l] = gaussian(C * D, 1.0);
            centresGoal[l] = gaussian(C * D, 1.0);
            centres[l] = centresInit[l].clone();
            walk[l] = new float[C * D];
            gate[l] = gaussian(D * E, INIT_STD);
            gateD[l] = new double[D * E];
            for (int i = 0; i < D * E; i++) {
                gateD[l][i] = gate[l][i];
            }
            for (int i = 0; i < E * C; i++) {
                skill[l][i] = (1.0 / E) * (1 + 0.1 * gauss());
            }
        }

        tok = new int[T];
        tokC = new int[T];
        ctx = new int[T];
        hidden = new float[this.microBatch * D];
        ids = new int[T * K];
        hist = new long[E];
        kept = new boolean[T * K];
        keptCount = new int[E];
        dropCount = new int[E];
        clusterSlots = new int[C];
        clusterExpert = new int[E * C];
        cw = new double[C * E];
        rw = new double[R * E];
        qw = new double[R * E];
        nw = new double[P * E];
        prob = new double[E];
        g = new double[E];
        gc = new double[C * E];
        gu = new double[R * E];
        gn = new double[P * E];
        gr = new double[R * E];
        dW = new double[D * E];
        probSum = new double[E];
        fe = new double[E];
        int maxDistinct = Math.min(T, V);
        sigv = new double[E];
        sigd = new double[E];
        ez = new double[E];
        ecw = new double[C * E];
        enw = new double[P * E];
        ezu = new double[maxDistinct * E];
        selW = new double[K];
        zu = new double[maxDistinct * E];
        gv = new double[maxDistinct * E];
        tokSlot = new int[T];
        distinctTokens = new int[maxDistinct];
        stamp = new int[V];
        slotOf = new int[V];
        counts = new int[L * E];
        dropped = new int[L * E];
    }

    public SimConfig config() {
        return cfg;
    }

    public Router router() {
        return router;
    }

    /** Steps taken so far. */
    public long stepsDone() {
        return step;
    }

    /** The loss L of the last step, summed over layers. */
    public double lastLoss() {
        return lastLoss;
    }

    /**
     * Runs one training step. Returns the tokens each expert processed, {@code [layer*experts + expert]}
     * (token-slots within capacity; live array, overwritten by the next step).
     */
    public int[] step() {
        double lrNow = cfg.lrAt(step);
        double lrRatio = lrNow / cfg.lr();
        drawBatch();
        settle();
        double loss = 0;
        for (int l = 0; l < L; l++) {
            drawContexts();
            route(l);
            applyCapacity(l);
            loss += backward(l);
            adam(l, lrNow);
            learnSkills(l, lrRatio);
            driftCentres(l, lrRatio);
        }
        lastLoss = loss;
        trainingTime += lrRatio;
        step++;
        return counts;
    }

    /** Token-slots dropped at capacity in the last step, {@code [layer*experts + expert]} (live array). */
    public int[] dropped() {
        return dropped;
    }

    /** The last step's counts (live array). */
    public int[] counts() {
        return counts;
    }

    private void drawBatch() {
        double mix = cfg.topicMix();
        int seq = cfg.seqLen();
        int topic = 0;
        for (int t = 0; t < T; t++) {
            if (t % seq == 0) {
                topic = search(clusterCdf, rnd.nextDouble());
            }
            int v;
            if (rnd.nextDouble() < mix) {
                v = clusterTokens[topic][search(clusterTokenCdf[topic], rnd.nextDouble())];
            } else {
                v = search(vocabCdf, rnd.nextDouble());
            }
            tok[t] = v;
            tokC[t] = tokenCluster[v];
        }
        // distinct tokens of the batch (the token part of the logits is computed once per token)
        int mark = (int) (step + 1);
        distinct = 0;
        for (int t = 0; t < T; t++) {
            int v = tok[t];
            if (stamp[v] != mark) {
                stamp[v] = mark;
                slotOf[v] = distinct;
                distinctTokens[distinct++] = v;
            }
            tokSlot[t] = slotOf[v];
        }
    }

    private void drawContexts() {
        for (int t = 0; t < T; t++) {
            ctx[t] = rnd.nextInt(P);
        }
    }

    /** First index with cdf[i] ≥ u (cdf ascending, last = 1). */
    private static int search(double[] cdf, double u) {
        int lo = 0;
        int hi = cdf.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] < u) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /**
     * Routes the layer's tokens in micro-batches of {@code microBatch} tokens (routing is per token,
     * so this changes nothing but cache behaviour: a micro-batch's hidden states stay in cache between
     * being built and being routed). Collects the ids and the histogram of the whole step.
     */
    private void route(int l) {
        Arrays.fill(hist, 0L);
        for (int s0 = 0; s0 < T; s0 += microBatch) {
            int n = Math.min(microBatch, T - s0);
            buildHidden(l, s0, n);
            router.routeHidden(hidden, gate[l], n, D, spec, out);
            System.arraycopy(out.ids(), 0, ids, s0 * K, n * K);
            long[] c = out.counts();
            for (int e = 0; e < E; e++) {
                hist[e] += c[e];
            }
        }
    }

    private void buildHidden(int l, int from, int n) {
        kernels.build(hidden, centres[l], tokenPart, ctxPart, tokC, tok, ctx, from, n, D, tokenScale);
    }

    private void applyCapacity(int l) {
        Arrays.fill(keptCount, 0);
        Arrays.fill(dropCount, 0);
        Arrays.fill(clusterSlots, 0);
        Arrays.fill(clusterExpert, 0);
        // first choices first (GShard priority), tokens in order within a slot
        for (int j = 0; j < K; j++) {
            for (int t = 0; t < T; t++) {
                int s = t * K + j;
                int e = ids[s];
                if (keptCount[e] < cap) {
                    keptCount[e]++;
                    kept[s] = true;
                    clusterExpert[e * C + tokC[t]]++;
                    clusterSlots[tokC[t]]++;
                } else {
                    dropCount[e]++;
                    kept[s] = false;
                }
            }
        }
        System.arraycopy(keptCount, 0, counts, l * E, E);
        System.arraycopy(dropCount, 0, dropped, l * E, E);
    }

    /** Gradient of L with respect to the layer's gate weights into dW; returns the layer's loss. */
    private double backward(int l) {
        float[] cen = centres[l];
        double[] q = skill[l];
        // logits through the structure of x = c + R·u + Q·n: c·W per cluster, u·(RᵀW) per distinct
        // token of the batch, n·(QᵀW) per context
        double[] wd = gateD[l];
        project(cen, C, wd, cw);
        project(tokenBasis, R, wd, rw);
        for (int i = 0; i < R * E; i++) {
            rw[i] *= tokenScale;
        }
        project(ctxBasis, R, wd, qw);
        latentTimes(ctxLatent, P, null, qw, nw);
        latentTimes(tokenLatent, distinct, distinctTokens, rw, zu);
        boolean sigmoid = cfg.mode() == ScoringMode.SIGMOID_GROUPED;
        expTables(sigmoid);
        double slots = (double) T * K;
        for (int e = 0; e < E; e++) {
            fe[e] = hist[e] / slots;
        }
        Arrays.fill(probSum, 0.0);
        Arrays.fill(gc, 0.0);
        Arrays.fill(gn, 0.0);
        Arrays.fill(gv, 0, distinct * E, 0.0);
        double aux = cfg.aux();
        double invT = 1.0 / T;
        double auxScale = aux * E * invT;
        double spec = 0;
        double[] f = g;
        for (int t = 0; t < T; t++) {
            int c = tokC[t];
            int co = c * E;
            int no = ctx[t] * E;
            int vo = tokSlot[t] * E;
            probs(sigmoid, co, no, vo);
            for (int e = 0; e < E; e++) {
                probSum[e] += prob[e];
            }
            Arrays.fill(f, 0.0);
            spec += specialisation(t, c, q, ids, f);
            ops.scale(f, SPEC_SCALE, E);
            if (aux > 0) {
                double fp = 0;
                for (int e = 0; e < E; e++) {
                    fp += fe[e] * prob[e];
                }
                if (sigmoid) {
                    // d(normalised score)/dz = s(1−s)/Σs · (δ − P): sigv holds s, sigSum Σs
                    for (int i = 0; i < E; i++) {
                        sigd[i] = sigv[i] * (1 - sigv[i]) / sigSum;
                    }
                    ops.auxAdd(f, sigd, fe, fp, auxScale, E);
                } else {
                    ops.auxAdd(f, prob, fe, fp, auxScale, E);
                }
            }
            ops.add3(f, gc, co, gn, no, gv, vo, E);
        }
        double auxLoss = 0;
        for (int e = 0; e < E; e++) {
            auxLoss += fe[e] * probSum[e] * invT;
        }
        auxLoss *= aux * E;
        // back to rank space: gu[a][e] = Σ_v u[v][a]·gv[v][e], gr[a][e] = Σ_j n[j][a]·gn[j][e]
        latentTransposeTimes(tokenLatent, distinct, distinctTokens, gv, gu);
        for (int i = 0; i < R * E; i++) {
            gu[i] *= tokenScale;
        }
        latentTransposeTimes(ctxLatent, P, null, gn, gr);
        // dW[i][e] = Σ_c c[c][i]·gc[c][e] + Σ_a R[a][i]·gu[a][e] + Σ_a Q[a][i]·gr[a][e]
        Arrays.fill(dW, 0.0);
        accumulate(cen, C, gc);
        accumulate(tokenBasis, R, gu);
        accumulate(ctxBasis, R, gr);
        return SPEC_SCALE * spec * invT + auxLoss;
    }

    /**
     * The specialisation term of one token: adds dL_t/dz (times T) into f, returns L_t (times T).
     * Uses the router's selection (ids) and the capacity decisions (kept).
     */
    private double specialisation(int t, int c, double[] q, int[] ids, double[] f) {
        int base = t * K;
        switch (cfg.mode()) {
            case SOFTMAX_TOPK -> {
                // w = p (softmax over all): dL/dz_i = p_i·A − [i kept]·q_i·p_i, A = Σ_kept q·p
                double a = 0;
                for (int j = 0; j < K; j++) {
                    if (kept[base + j]) {
                        int e = ids[base + j];
                        a += q[e * C + c] * prob[e];
                    }
                }
                for (int i = 0; i < E; i++) {
                    f[i] = prob[i] * a;
                }
                for (int j = 0; j < K; j++) {
                    if (kept[base + j]) {
                        int e = ids[base + j];
                        f[e] -= q[e * C + c] * prob[e];
                    }
                }
                return -a;
            }
            case TOPK_SOFTMAX -> {
                // w = softmax over the k selected: dL/dz_i = w_i·A − [i kept]·q_i·w_i for selected i
                double zs = 0;
                for (int j = 0; j < K; j++) {
                    double x = ez[ids[base + j]];
                    selW[j] = x;
                    zs += x;
                }
                double a = 0;
                for (int j = 0; j < K; j++) {
                    selW[j] /= zs;
                    if (kept[base + j]) {
                        a += q[ids[base + j] * C + c] * selW[j];
                    }
                }
                for (int j = 0; j < K; j++) {
                    int e = ids[base + j];
                    f[e] = selW[j] * (a - (kept[base + j] ? q[e * C + c] : 0.0));
                }
                return -a;
            }
            case SIGMOID_GROUPED -> {
                // w = s/Σ_selected s: dL/dz_i = s_i(1−s_i)/Σ · (A − [i kept]·q_i) for selected i
                double ssum = 0;
                for (int j = 0; j < K; j++) {
                    ssum += sigv[ids[base + j]];
                }
                double a = 0;
                for (int j = 0; j < K; j++) {
                    if (kept[base + j]) {
                        int e = ids[base + j];
                        a += q[e * C + c] * sigv[e] / ssum;
                    }
                }
                for (int j = 0; j < K; j++) {
                    int e = ids[base + j];
                    double se = sigv[e];
                    f[e] = se * (1 - se) / ssum * (a - (kept[base + j] ? q[e * C + c] : 0.0));
                }
                return -a;
            }
            default -> throw new IllegalStateException();
        }
    }

    /** dst[r][e] = Σ_a lat[row(r)][a]·m[a][e] for r < rows (row(r) = rowIds[r], or r when null). */
    private void latentTimes(float[] lat, int rows, int[] rowIds, double[] m, double[] dst) {
        Arrays.fill(dst, 0, rows * E, 0.0);
        for (int r = 0; r < rows; r++) {
            int lo = (rowIds == null ? r : rowIds[r]) * R;
            for (int a = 0; a < R; a++) {
                ops.axpy(lat[lo + a], m, a * E, dst, r * E, E);
            }
        }
    }

    /** dst[a][e] = Σ_r lat[row(r)][a]·g[r][e]. */
    private void latentTransposeTimes(float[] lat, int rows, int[] rowIds, double[] gsrc, double[] dst) {
        Arrays.fill(dst, 0, R * E, 0.0);
        for (int r = 0; r < rows; r++) {
            int lo = (rowIds == null ? r : rowIds[r]) * R;
            for (int a = 0; a < R; a++) {
                ops.axpy(lat[lo + a], gsrc, r * E, dst, a * E, E);
            }
        }
    }

    /** out[r][e] = Σ_i m[r][i]·w[i][e] for the rows of m ({@code rows × D}). */
    private void project(float[] m, int rows, double[] w, double[] dst) {
        Arrays.fill(dst, 0, rows * E, 0.0);
        for (int r = 0; r < rows; r++) {
            int mo = r * D;
            for (int i = 0; i < D; i++) {
                ops.axpy(m[mo + i], w, i * E, dst, r * E, E);
            }
        }
    }

    /** dW[i][e] += Σ_r m[r][i]·grad[r][e]. */
    private void accumulate(float[] m, int rows, double[] grad) {
        for (int r = 0; r < rows; r++) {
            int mo = r * D;
            for (int i = 0; i < D; i++) {
                ops.axpy(m[mo + i], grad, r * E, dW, i * E, E);
            }
        }
    }

    /**
     * Exponentials of the logit parts, so a token's softmax (or sigmoid) costs products, not exp calls:
     * exp(z − m) = exp(cw − m_c)·exp(nw − m_n)·exp(zu − m_u) with each part shifted by its row maximum
     * (all factors ≤ 1), and for sigmoid exp(−z) = exp(−cw)·exp(−nw)·exp(−zu).
     */
    private void expTables(boolean sigmoid) {
        expRows(cw, C, sigmoid, ecw);
        expRows(nw, P, sigmoid, enw);
        expRows(zu, distinct, sigmoid, ezu);
    }

    private void expRows(double[] src, int rows, boolean negate, double[] dst) {
        for (int r = 0; r < rows; r++) {
            ops.expRow(src, r * E, dst, r * E, E, negate);
        }
    }

    /**
     * prob = softmax of the token's logits over all experts (unnormalised values kept in {@code ez}),
     * or for sigmoid-grouped the scores s (in {@code sigv}) normalised over all experts.
     */
    private void probs(boolean sigmoid, int co, int no, int vo) {
        ops.mul3(ecw, co, enw, no, ezu, vo, ez, E);
        double s = 0;
        if (sigmoid) {
            for (int e = 0; e < E; e++) {
                double x = 1.0 / (1.0 + ez[e]);
                sigv[e] = x;
                prob[e] = x;
                s += x;
            }
            sigSum = s;
        } else {
            for (int e = 0; e < E; e++) {
                double x = ez[e];
                prob[e] = x;
                s += x;
            }
        }
        ops.scale(prob, 1.0 / s, E);
    }

    private void adam(int l, double lrNow) {
        float[] w = gate[l];
        double[] wd = gateD[l];
        double[] m = adamM[l];
        double[] v = adamV[l];
        long n = step + 1;
        double c1 = 1 - Math.pow(BETA1, n);
        double c2 = 1 - Math.pow(BETA2, n);
        for (int i = 0; i < w.length; i++) {
            double gi = dW[i];
            m[i] = BETA1 * m[i] + (1 - BETA1) * gi;
            v[i] = BETA2 * v[i] + (1 - BETA2) * gi * gi;
            double upd = (m[i] / c1) / (Math.sqrt(v[i] / c2) + EPS);
            w[i] = (float) (w[i] - lrNow * (upd + WEIGHT_DECAY * w[i]));
            wd[i] = w[i];
        }
    }

    private void learnSkills(int l, double lrRatio) {
        double rate = cfg.expertRate() * lrRatio;
        double[] q = skill[l];
        for (int c = 0; c < C; c++) {
            int n = clusterSlots[c];
            if (n == 0) {
                continue;
            }
            for (int e = 0; e < E; e++) {
                double a = clusterExpert[e * C + c] / (double) n;
                q[e * C + c] += rate * (a - q[e * C + c]);
            }
        }
    }

    /**
     * Representations at this step: the cluster centres move from their initial to their trained
     * structure and the token-specific part shrinks from 1 + {@value #TOKEN_BOOST} times to its final
     * size, both as exp(−τ/settle) with τ the training time; plus the random-walk drift.
     */
    private void settle() {
        double a = Math.exp(-trainingTime / cfg.settle());
        tokenScale = (float) (1 + TOKEN_BOOST * a);
        for (int l = 0; l < L; l++) {
            float[] cen = centres[l];
            float[] c0 = centresInit[l];
            float[] c1 = centresGoal[l];
            float[] wk = walk[l];
            for (int i = 0; i < cen.length; i++) {
                cen[i] = (float) (c1[i] + (c0[i] - c1[i]) * a + wk[i]);
            }
        }
    }

    /** The random-walk drift of the centres, steps proportional to the learning rate, pulled back to 0. */
    private void driftCentres(int l, double lrRatio) {
        double sd = cfg.drift() * lrRatio;
        if (sd == 0) {
            return;
        }
        float[] wk = walk[l];
        double uniformSd = sd * Math.sqrt(12);
        for (int i = 0; i < wk.length; i++) {
            // a uniform step with the same variance as a Gaussian one (cheaper, and the walk sums many)
            wk[i] = (float) (wk[i] * (1 - DRIFT_PULL) + uniformSd * (rnd.nextDouble() - 0.5));
        }
    }

    private float[] gaussian(int n, double sd) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (sd * gauss());
        }
        return a;
    }

    /** {@code latent [rows][R] · basis [R][D]}. */
    private float[] product(float[] latent, int rows, float[] basis) {
        float[] outM = new float[rows * D];
        for (int r = 0; r < rows; r++) {
            for (int a = 0; a < R; a++) {
                float u = latent[r * R + a];
                int bo = a * D;
                int oo = r * D;
                for (int i = 0; i < D; i++) {
                    outM[oo + i] += u * basis[bo + i];
                }
            }
        }
        return outM;
    }

    private double gauss() {
        // Box-Muller on the simulator's own generator (deterministic for a seed)
        double u = rnd.nextDouble();
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }
}
