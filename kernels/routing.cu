// moecast CUDA routing kernels: gating top-k with per-expert load histograms.
//
// Semantics are those of io.moecast.routing.ScalarRouter (the reference oracle):
//   * keys: the logit x for softmax-topk and topk-softmax; sigmoid(x) + bias[e] computed in DOUBLE for
//     sigmoid-grouped (the reference computes them in double, so float keys could order near-ties
//     differently);
//   * order: larger key first, equal keys -> lower expert index, NaN below every number (-inf included),
//     -0.0 == +0.0;
//   * sigmoid-grouped: group score = sum of the group's best two keys (its best when a group holds one
//     expert), NaN counting as -inf; the topkGroups best groups are kept (ties -> lower group index);
//   * weights: NaN logits count as -inf (sigmoid score 0); several +inf share the mass equally; uniform
//     weights when the sum is 0 / not finite (1/E for softmax-topk, 1/k for the renormalised modes);
//   * histogram: counts[e] += number of (token, slot) pairs that chose e.
//
// Entry points (extern "C", one per mode x input type x path; all share one parameter list):
//   moecast_route_<mode>_<f32|bf16>_v<VPT>   fast path: a power-of-two sub-warp of TPR = 2^tprLog2 lanes
//                                            per token, lane l holding experts [l*VPT, (l+1)*VPT) in
//                                            registers (16-byte loads), butterfly shuffles.
//                                            Needs E % VPT == 0, E <= 32*VPT, a 16-byte aligned base;
//                                            sigmoid-grouped also needs groups == 1 or
//                                            (E/G) % VPT == 0 with (E/G)/VPT a power of two.
//   moecast_route_<mode>_<f32|bf16>_generic  any E (bounded by shared memory), any grouping: one warp per
//                                            token, experts strided over lanes, the row re-read from L1/L2
//                                            for each of the k passes.
// Histograms: per-block shared-memory counters, then one global 64-bit atomicAdd per expert per block.
// The host (io.moecast.routing.cuda.KernelPlan) picks the entry point and the launch shape.
//
// Helpers: moecast_fill_normal_{f32,bf16} (GPU-side random logits for timing), moecast_gate_f32 (the
// optional fused gate: logits = X.W, float multiply then add in ascending i, as the reference).

#include <stdint.h>

#define MOE_MAXK 8
#define FULL_MASK 0xffffffffu
#define LOG2E_F 1.4426950408889634f

namespace {

enum Mode { SOFTMAX_TOPK = 0, TOPK_SOFTMAX = 1, SIGMOID_GROUPED = 2 };

__device__ __forceinline__ float bf16_to_f32(unsigned int h) { return __uint_as_float(h << 16); }

__device__ __forceinline__ float nan_to_ninf(float x) { return x != x ? -INFINITY : x; }

// Order-preserving map float -> uint32: NaN -> 0 (below -inf), -0.0 -> +0.0.
__device__ __forceinline__ uint32_t ford(float x) {
    uint32_t u = __float_as_uint(x + 0.0f);            // x + 0.0f turns -0.0 into +0.0 (IEEE, not folded)
    uint32_t o = u ^ ((uint32_t)((int32_t)u >> 31) | 0x80000000u);
    return x != x ? 0u : o;
}

// Inverse of ford (0 -> NaN).
__device__ __forceinline__ float ford_inv(uint32_t o) {
    if (o == 0u) return __uint_as_float(0x7fc00000u);
    return __uint_as_float((o & 0x80000000u) ? (o & 0x7fffffffu) : ~o);
}

// Packed softmax-mode key: high word the ordered logit, low word ~e, so one unsigned max picks the
// larger logit and, on ties, the lower index. 0 is the "taken / invalid" sentinel (every real key is
// above it: its low word ~e is non-zero).
__device__ __forceinline__ unsigned long long pack_key(float x, int e) {
    return ((unsigned long long)ford(x) << 32) | (unsigned long long)(0xffffffffu - (uint32_t)e);
}

// Order-preserving map double -> uint64: NaN -> 1, -0.0 -> +0.0; 0 is the "taken / invalid" sentinel.
__device__ __forceinline__ unsigned long long dord(double x) {
    if (x != x) return 1ull;
    unsigned long long u = (unsigned long long)__double_as_longlong(x + 0.0);
    return u ^ ((unsigned long long)((long long)u >> 63) | 0x8000000000000000ull);
}

// The reference's sigmoid: 1 / (1 + exp(-x)) in double.
__device__ __forceinline__ double sigmoid_d(float x) { return 1.0 / (1.0 + exp(-(double)x)); }

// (key a, index ia) beats (key b, index ib): larger key, then lower index.
__device__ __forceinline__ bool beats(unsigned long long a, int ia, unsigned long long b, int ib) {
    return a > b || (a == b && ia < ib);
}

// Group scores are never NaN (NaN keys count as -inf), so plain comparisons order them.
__device__ __forceinline__ bool beats_score(double a, int ga, double b, int gb) {
    return a > b || (a == b && ga < gb);
}

// Butterfly all-reductions inside an aligned group of `width` lanes (width a power of two <= 32).
// Every lane of the warp executes them (the loop bound is warp-uniform).
__device__ __forceinline__ float group_max(float v, int width) {
    for (int off = width >> 1; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, off));
    return v;
}
__device__ __forceinline__ float group_sum(float v, int width) {
    for (int off = width >> 1; off > 0; off >>= 1) v += __shfl_xor_sync(FULL_MASK, v, off);
    return v;
}
__device__ __forceinline__ unsigned long long group_max_u64(unsigned long long v, int width) {
    for (int off = width >> 1; off > 0; off >>= 1) {
        unsigned long long o = __shfl_xor_sync(FULL_MASK, v, off);
        v = o > v ? o : v;
    }
    return v;
}
// Top two values (b1 >= b2) of the union of the lanes' multisets; lanes hold disjoint element sets.
__device__ __forceinline__ void group_top2(double& b1, double& b2, int width) {
    for (int off = 1; off < width; off <<= 1) {
        double p1 = __shfl_xor_sync(FULL_MASK, b1, off);
        double p2 = __shfl_xor_sync(FULL_MASK, b2, off);
        double n2 = fmax(fmin(b1, p1), fmax(b2, p2));
        b1 = fmax(b1, p1);
        b2 = n2;
    }
}
__device__ __forceinline__ void top2_insert(double y, double& b1, double& b2) {
    if (y > b1) { b2 = b1; b1 = y; } else if (y > b2) { b2 = y; }
}

// Softmax statistics of a row: m = max (NaN as -inf); c = number of +inf when m = +inf, else
// sum exp(x - m) (0 when m = -inf, the uniform case). Per lane, then reduced over `width` lanes.
__device__ __forceinline__ float softmax_partial(float x, float m) {
    // called only with m finite; NaN and -inf contribute exp2(-inf) = 0
    return exp2f(fmaf(nan_to_ninf(x), LOG2E_F, -m * LOG2E_F));
}

// softmax-topk weight of a chosen logit x, given the row's m and c (see softmax_partial).
__device__ __forceinline__ float softmax_topk_weight(float x, float m, float c, int E) {
    if (m == INFINITY) return x == INFINITY ? 1.0f / c : 0.0f;
    if (m == -INFINITY) return 1.0f / (float)E;
    return exp2f(fmaf(nan_to_ninf(x), LOG2E_F, -m * LOG2E_F)) / c;
}

// Weights of the renormalised modes from the k chosen logits (best first), identical on every lane of
// the token's group. topk-softmax: softmax over the chosen (float); sigmoid-grouped: sigmoid(x)/sum in
// double, as the reference.
template <int MODE>
__device__ __forceinline__ void renormalised_weights(const float (&selX)[MOE_MAXK], int k, float (&w)[MOE_MAXK]) {
    if (MODE == TOPK_SOFTMAX) {
        // Selection order puts the largest logit first (NaN last), so the max over the chosen is selX[0].
        const float mm = nan_to_ninf(selX[0]);
        float s = 0.0f;
#pragma unroll
        for (int j = 0; j < MOE_MAXK; ++j) {
            float v = 0.0f;
            if (j < k) {
                if (mm == INFINITY) v = selX[j] == INFINITY ? 1.0f : 0.0f;
                else if (mm != -INFINITY) v = exp2f(fmaf(nan_to_ninf(selX[j]), LOG2E_F, -mm * LOG2E_F));
            }
            w[j] = v;
            s += v;
        }
#pragma unroll
        for (int j = 0; j < MOE_MAXK; ++j) w[j] = mm == -INFINITY ? 1.0f / (float)k : w[j] / s;
    } else {
        double sd[MOE_MAXK];
        double s = 0.0;
#pragma unroll
        for (int j = 0; j < MOE_MAXK; ++j) {
            sd[j] = (j < k && selX[j] == selX[j]) ? sigmoid_d(selX[j]) : 0.0;   // NaN scores 0
            s += sd[j];
        }
        const bool ok = s > 0.0 && s < INFINITY;
#pragma unroll
        for (int j = 0; j < MOE_MAXK; ++j) w[j] = ok ? (float)(sd[j] / s) : (float)(1.0 / (double)k);
    }
}

// ---- row loads for the fast path: VPT consecutive experts of one lane, 16-byte (or 8-byte) loads ----

template <typename In, int VPT> struct RowLoad;

template <int VPT> struct RowLoad<float, VPT> {
    static_assert(VPT % 4 == 0, "f32 rows load 4 floats at a time");
    __device__ static __forceinline__ void load(const float* p, float (&x)[VPT]) {
        const float4* q = reinterpret_cast<const float4*>(p);
#pragma unroll
        for (int i = 0; i < VPT / 4; ++i) {
            float4 v = __ldcs(q + i);   // streamed once: evict-first
            x[4 * i] = v.x; x[4 * i + 1] = v.y; x[4 * i + 2] = v.z; x[4 * i + 3] = v.w;
        }
    }
};

template <> struct RowLoad<unsigned short, 8> {
    __device__ static __forceinline__ void load(const unsigned short* p, float (&x)[8]) {
        uint4 v = __ldcs(reinterpret_cast<const uint4*>(p));
        uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) { x[2 * i] = bf16_to_f32(w[i] & 0xffffu); x[2 * i + 1] = bf16_to_f32(w[i] >> 16); }
    }
};

template <> struct RowLoad<unsigned short, 4> {
    __device__ static __forceinline__ void load(const unsigned short* p, float (&x)[4]) {
        uint2 v = __ldcs(reinterpret_cast<const uint2*>(p));
        x[0] = bf16_to_f32(v.x & 0xffffu); x[1] = bf16_to_f32(v.x >> 16);
        x[2] = bf16_to_f32(v.y & 0xffffu); x[3] = bf16_to_f32(v.y >> 16);
    }
};

__device__ __forceinline__ float load_one(const float* p, long long i) { return __ldg(p + i); }
__device__ __forceinline__ float load_one(const unsigned short* p, long long i) { return bf16_to_f32(__ldg(p + i)); }

__device__ __forceinline__ void hist_clear(unsigned int* h, int E) {
    for (int i = threadIdx.x; i < E; i += blockDim.x) h[i] = 0u;
    __syncthreads();
}
__device__ __forceinline__ void hist_flush(const unsigned int* h, int E, unsigned long long* counts) {
    __syncthreads();
    for (int i = threadIdx.x; i < E; i += blockDim.x) {
        unsigned int c = h[i];
        if (c) atomicAdd(counts + i, (unsigned long long)c);
    }
}

// ============================================ fast path ============================================

template <typename In, int MODE, int VPT>
__device__ __forceinline__ void route_fast(const In* __restrict__ logits, long long T, int E, int k,
                                           int tprLog2, int G, int gs, int lpgLog2, int keepG,
                                           const float* __restrict__ bias, int* __restrict__ ids,
                                           float* __restrict__ wts, unsigned long long* __restrict__ counts) {
    extern __shared__ unsigned int s_hist[];
    hist_clear(s_hist, E);

    const int tpr = 1 << tprLog2;
    const int lane = threadIdx.x & 31;
    const int sub = lane & (tpr - 1);                 // lane inside the token's group
    const int groupBase = lane & ~(tpr - 1);          // first warp lane of the token's group
    const int rowsPerWarp = 32 >> tprLog2;
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const long long nwarps = ((long long)gridDim.x * blockDim.x) >> 5;
    const long long step = nwarps * rowsPerWarp;
    const int e0 = sub * VPT;                         // this lane's first expert
    const bool laneHas = e0 < E;                      // E % VPT == 0: a lane is all in or all out

    float xn[VPT];
    long long row = warp * rowsPerWarp + (lane >> tprLog2);
    if (row < T && laneHas) RowLoad<In, VPT>::load(logits + row * E + e0, xn);

    // `base` is warp-uniform, so every lane runs every iteration and every shuffle; rows past T idle.
    for (long long base = warp * rowsPerWarp; base < T; base += step) {
        const long long cur = row;
        const bool active = cur < T;
        const bool valid = active && laneHas;
        float x[VPT];
#pragma unroll
        for (int v = 0; v < VPT; ++v) x[v] = xn[v];
        row = cur + step;
        if (row < T && laneHas) RowLoad<In, VPT>::load(logits + row * E + e0, xn);   // prefetch the next row

        // Slot j's id is stored (and counted) by lane j mod TPR as soon as it is chosen; its weight too
        // for softmax-topk. The renormalised modes keep the chosen logits (selX) for the weights.
        float selX[MOE_MAXK];
        float m = 0.0f, c = 0.0f;

        if (MODE != SIGMOID_GROUPED) {
            unsigned long long key[VPT];
#pragma unroll
            for (int v = 0; v < VPT; ++v) key[v] = valid ? pack_key(x[v], e0 + v) : 0ull;
            if (MODE == SOFTMAX_TOPK) {
                float lm = -INFINITY;
#pragma unroll
                for (int v = 0; v < VPT; ++v) lm = valid ? fmaxf(lm, x[v]) : lm;   // fmaxf ignores NaN
                m = group_max(lm, tpr);
                float lc = 0.0f;
                if (valid) {
                    if (m == INFINITY) {
#pragma unroll
                        for (int v = 0; v < VPT; ++v) lc += x[v] == INFINITY ? 1.0f : 0.0f;
                    } else if (m != -INFINITY) {
#pragma unroll
                        for (int v = 0; v < VPT; ++v) lc += softmax_partial(x[v], m);
                    }
                }
                c = group_sum(lc, tpr);
            }
#pragma unroll
            for (int j = 0; j < MOE_MAXK; ++j) {
                selX[j] = 0.0f;
                if (j < k) {                                          // k is uniform: no divergence
                    unsigned long long b = key[0];
#pragma unroll
                    for (int v = 1; v < VPT; ++v) b = key[v] > b ? key[v] : b;
                    b = group_max_u64(b, tpr);
                    const int e = (int)(0xffffffffu - (uint32_t)b);
                    const float xe = ford_inv((uint32_t)(b >> 32));
                    selX[j] = xe;
#pragma unroll
                    for (int v = 0; v < VPT; ++v) key[v] = key[v] == b ? 0ull : key[v];   // owner knocks it out
                    if (active && (j & (tpr - 1)) == sub) {
                        const long long o = cur * k + j;
                        ids[o] = e;
                        atomicAdd(s_hist + e, 1u);
                        if (MODE == SOFTMAX_TOPK) wts[o] = softmax_topk_weight(xe, m, c, E);
                    }
                }
            }
        } else {
            // keys in double, exactly as the reference computes them
            double kd[VPT];
#pragma unroll
            for (int v = 0; v < VPT; ++v) kd[v] = valid ? sigmoid_d(x[v]) + (double)__ldg(bias + e0 + v) : 0.0;
            bool kept = true;
            if (G > 1) {
                // every group spans LPG = 2^lpgLog2 whole, aligned lanes: reduce the best two inside it
                double b1 = -INFINITY, b2 = -INFINITY;
                if (valid) {
#pragma unroll
                    for (int v = 0; v < VPT; ++v) top2_insert(kd[v] != kd[v] ? -INFINITY : kd[v], b1, b2);
                }
                group_top2(b1, b2, 1 << lpgLog2);
                const double score = gs == 1 ? b1 : b1 + b2;
                const int myG = sub >> lpgLog2;
                int rank = 0;
                for (int g = 0; g < G; ++g) {                         // G is uniform: no divergence
                    double sg = __shfl_sync(FULL_MASK, score, groupBase + (g << lpgLog2));
                    rank += beats_score(sg, g, score, myG) ? 1 : 0;
                }
                kept = rank < keepG;
            }
            unsigned long long ko[VPT];
#pragma unroll
            for (int v = 0; v < VPT; ++v) ko[v] = (valid && kept) ? dord(kd[v]) : 0ull;
#pragma unroll
            for (int j = 0; j < MOE_MAXK; ++j) {
                selX[j] = 0.0f;
                if (j < k) {
                    unsigned long long bk = ko[0];
                    int be = e0;
                    float bx = x[0];
#pragma unroll
                    for (int v = 1; v < VPT; ++v) {
                        if (ko[v] > bk) { bk = ko[v]; be = e0 + v; bx = x[v]; }   // strict: lower index kept
                    }
                    for (int off = tpr >> 1; off > 0; off >>= 1) {
                        unsigned long long ok = __shfl_xor_sync(FULL_MASK, bk, off);
                        int oe = __shfl_xor_sync(FULL_MASK, be, off);
                        float ox = __shfl_xor_sync(FULL_MASK, bx, off);
                        if (beats(ok, oe, bk, be)) { bk = ok; be = oe; bx = ox; }
                    }
                    selX[j] = bx;
#pragma unroll
                    for (int v = 0; v < VPT; ++v) ko[v] = (e0 + v == be) ? 0ull : ko[v];
                    if (active && (j & (tpr - 1)) == sub) {
                        ids[cur * k + j] = be;
                        atomicAdd(s_hist + be, 1u);
                    }
                }
            }
        }

        if (MODE != SOFTMAX_TOPK) {
            float w[MOE_MAXK];
            renormalised_weights<MODE>(selX, k, w);
#pragma unroll
            for (int j = 0; j < MOE_MAXK; ++j) {
                if (j < k && active && (j & (tpr - 1)) == sub) wts[cur * k + j] = w[j];
            }
        }
    }
    hist_flush(s_hist, E, counts);
}

// =========================================== generic path ==========================================

template <typename In>
__device__ __forceinline__ double generic_key(const In* r, int e, const float* __restrict__ bias) {
    return sigmoid_d(load_one(r, e)) + (double)__ldg(bias + e);
}

// Shared memory: hist[E] (u32), then per warp: score[G] (f64) and keep[G] (u8).
template <typename In, int MODE>
__device__ __forceinline__ void route_generic(const In* __restrict__ logits, long long T, int E, int k,
                                              int G, int gs, int keepG, const float* __restrict__ bias,
                                              int* __restrict__ ids, float* __restrict__ wts,
                                              unsigned long long* __restrict__ counts) {
    extern __shared__ __align__(16) unsigned char smem[];
    unsigned int* s_hist = reinterpret_cast<unsigned int*>(smem);
    hist_clear(s_hist, E);
    const int lane = threadIdx.x & 31;
    const int wib = threadIdx.x >> 5;
    const int warpsPerBlock = blockDim.x >> 5;
    const size_t histBytes = ((size_t)E * 4 + 15) & ~(size_t)15;
    double* s_score = reinterpret_cast<double*>(smem + histBytes) + (size_t)wib * G;
    unsigned char* s_keep = smem + histBytes + (size_t)warpsPerBlock * G * 8 + (size_t)wib * G;
    const bool grouped = MODE == SIGMOID_GROUPED && G > 1;

    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const long long nwarps = ((long long)gridDim.x * blockDim.x) >> 5;
    for (long long row = warp; row < T; row += nwarps) {             // warp-uniform
        const In* r = logits + row * E;
        float m = 0.0f, c = 0.0f;
        if (MODE == SOFTMAX_TOPK) {
            float lm = -INFINITY;
            for (int e = lane; e < E; e += 32) lm = fmaxf(lm, load_one(r, e));
            m = group_max(lm, 32);
            float lc = 0.0f;
            if (m == INFINITY) {
                for (int e = lane; e < E; e += 32) lc += load_one(r, e) == INFINITY ? 1.0f : 0.0f;
            } else if (m != -INFINITY) {
                for (int e = lane; e < E; e += 32) lc += softmax_partial(load_one(r, e), m);
            }
            c = group_sum(lc, 32);
        }
        if (grouped) {
            for (int g = 0; g < G; ++g) {
                double b1 = -INFINITY, b2 = -INFINITY;
                for (int e = g * gs + lane; e < (g + 1) * gs; e += 32) {
                    double y = generic_key(r, e, bias);
                    top2_insert(y != y ? -INFINITY : y, b1, b2);
                }
                group_top2(b1, b2, 32);
                if (lane == 0) s_score[g] = gs == 1 ? b1 : b1 + b2;
            }
            __syncwarp();
            for (int g = lane; g < G; g += 32) {
                const double sg = s_score[g];
                int rank = 0;
                for (int h = 0; h < G; ++h) rank += beats_score(s_score[h], h, sg, g) ? 1 : 0;
                s_keep[g] = rank < keepG ? 1 : 0;
            }
            __syncwarp();
        }

        int selE[MOE_MAXK];
        float selX[MOE_MAXK];
#pragma unroll
        for (int j = 0; j < MOE_MAXK; ++j) {
            selE[j] = -1; selX[j] = 0.0f;
            if (j < k) {
                unsigned long long bk = 0ull;
                int be = 0x7fffffff;
                float bx = 0.0f;
                for (int e = lane; e < E; e += 32) {
                    bool taken = false;
#pragma unroll
                    for (int jj = 0; jj < MOE_MAXK; ++jj) taken |= (jj < j && selE[jj] == e);
                    if (taken || (grouped && !s_keep[e / gs])) continue;
                    const float xv = load_one(r, e);
                    const unsigned long long kv = MODE == SIGMOID_GROUPED
                            ? dord(sigmoid_d(xv) + (double)__ldg(bias + e)) : pack_key(xv, e);
                    if (kv > bk) { bk = kv; be = e; bx = xv; }           // e ascending: ties keep the lower
                }
                for (int off = 16; off > 0; off >>= 1) {
                    unsigned long long ok = __shfl_xor_sync(FULL_MASK, bk, off);
                    int oe = __shfl_xor_sync(FULL_MASK, be, off);
                    float ox = __shfl_xor_sync(FULL_MASK, bx, off);
                    if (beats(ok, oe, bk, be)) { bk = ok; be = oe; bx = ox; }
                }
                selE[j] = be;
                selX[j] = bx;
            }
        }
        float w[MOE_MAXK];
        if (MODE == SOFTMAX_TOPK) {
#pragma unroll
            for (int j = 0; j < MOE_MAXK; ++j) w[j] = softmax_topk_weight(selX[j], m, c, E);
        } else {
            renormalised_weights<MODE>(selX, k, w);
        }
#pragma unroll
        for (int j = 0; j < MOE_MAXK; ++j) {
            if (j < k && lane == j) {
                const long long o = row * k + j;
                ids[o] = selE[j];
                wts[o] = w[j];
                atomicAdd(s_hist + selE[j], 1u);
            }
        }
        __syncwarp();   // s_score / s_keep are rewritten by the next row
    }
    hist_flush(s_hist, E, counts);
}

}  // namespace

// ========================================== entry points ===========================================

#define MOE_FAST_PARAMS(In)                                                                              \
    const In* __restrict__ logits, long long T, int E, int k, int tprLog2, int G, int gs, int lpgLog2, \
        int keepG, const float* __restrict__ bias, int* __restrict__ ids, float* __restrict__ wts,     \
        unsigned long long* __restrict__ counts

#define MOE_FAST(name, In, MODE, VPT)                                                                  \
    extern "C" __global__ void __launch_bounds__(256) name(MOE_FAST_PARAMS(In)) {                     \
        route_fast<In, MODE, VPT>(logits, T, E, k, tprLog2, G, gs, lpgLog2, keepG, bias, ids, wts, counts); \
    }

#define MOE_GENERIC(name, In, MODE)                                                                    \
    extern "C" __global__ void __launch_bounds__(128) name(MOE_FAST_PARAMS(In)) {                     \
        (void)tprLog2; (void)lpgLog2;                                                                  \
        route_generic<In, MODE>(logits, T, E, k, G, gs, keepG, bias, ids, wts, counts);               \
    }

MOE_FAST(moecast_route_softmax_topk_f32_v4, float, SOFTMAX_TOPK, 4)
MOE_FAST(moecast_route_softmax_topk_f32_v8, float, SOFTMAX_TOPK, 8)
MOE_FAST(moecast_route_softmax_topk_bf16_v4, unsigned short, SOFTMAX_TOPK, 4)
MOE_FAST(moecast_route_softmax_topk_bf16_v8, unsigned short, SOFTMAX_TOPK, 8)
MOE_FAST(moecast_route_topk_softmax_f32_v4, float, TOPK_SOFTMAX, 4)
MOE_FAST(moecast_route_topk_softmax_f32_v8, float, TOPK_SOFTMAX, 8)
MOE_FAST(moecast_route_topk_softmax_bf16_v4, unsigned short, TOPK_SOFTMAX, 4)
MOE_FAST(moecast_route_topk_softmax_bf16_v8, unsigned short, TOPK_SOFTMAX, 8)
MOE_FAST(moecast_route_sigmoid_grouped_f32_v4, float, SIGMOID_GROUPED, 4)
MOE_FAST(moecast_route_sigmoid_grouped_f32_v8, float, SIGMOID_GROUPED, 8)
MOE_FAST(moecast_route_sigmoid_grouped_bf16_v4, unsigned short, SIGMOID_GROUPED, 4)
MOE_FAST(moecast_route_sigmoid_grouped_bf16_v8, unsigned short, SIGMOID_GROUPED, 8)

MOE_GENERIC(moecast_route_softmax_topk_f32_generic, float, SOFTMAX_TOPK)
MOE_GENERIC(moecast_route_softmax_topk_bf16_generic, unsigned short, SOFTMAX_TOPK)
MOE_GENERIC(moecast_route_topk_softmax_f32_generic, float, TOPK_SOFTMAX)
MOE_GENERIC(moecast_route_topk_softmax_bf16_generic, unsigned short, TOPK_SOFTMAX)
MOE_GENERIC(moecast_route_sigmoid_grouped_f32_generic, float, SIGMOID_GROUPED)
MOE_GENERIC(moecast_route_sigmoid_grouped_bf16_generic, unsigned short, SIGMOID_GROUPED)

// ============================================= helpers =============================================

namespace {
__device__ __forceinline__ unsigned long long splitmix64(unsigned long long z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
// N(0, scale^2) from a counter (Box-Muller on two 24-bit uniforms), the same value for f32 and bf16.
__device__ __forceinline__ float normal_at(unsigned long long seed, long long i, float scale) {
    unsigned long long h = splitmix64(seed ^ splitmix64((unsigned long long)i));
    float u1 = ((float)(h >> 40) + 0.5f) * (1.0f / 16777216.0f);
    float u2 = (float)((h >> 16) & 0xffffffull) * (1.0f / 16777216.0f);
    return scale * sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
}
__device__ __forceinline__ unsigned short f32_to_bf16_rne(float f) {
    uint32_t x = __float_as_uint(f);
    if (f != f) return (unsigned short)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (unsigned short)(x >> 16);
}
}  // namespace

extern "C" __global__ void moecast_fill_normal_f32(float* __restrict__ out, long long n, unsigned long long seed, float scale) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = normal_at(seed, i, scale);
}

extern "C" __global__ void moecast_fill_normal_bf16(unsigned short* __restrict__ out, long long n, unsigned long long seed, float scale) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = f32_to_bf16_rne(normal_at(seed, i, scale));
}

// logits[t*E + e] = sum_i x[t*d + i] * w[i*E + e]: float multiply, then float add, i ascending (no FMA
// contraction), bit-identical to ScalarRouter.gateRow. A plain kernel: the fused gate is optional.
extern "C" __global__ void moecast_gate_f32(const float* __restrict__ x, const float* __restrict__ w,
                                            long long T, int d, int E, float* __restrict__ logits) {
    const long long n = T * (long long)E;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < n; idx += (long long)gridDim.x * blockDim.x) {
        const long long t = idx / E;
        const int e = (int)(idx - t * E);
        const float* xr = x + t * d;
        float acc = 0.0f;
        for (int i = 0; i < d; ++i) acc = __fadd_rn(acc, __fmul_rn(__ldg(xr + i), __ldg(w + (long long)i * E + e)));
        logits[idx] = acc;
    }
}

// Keeps the stream busy for `ns` nanoseconds (one thread), so that the host can queue a run of timed
// launches before the GPU reaches them: the CUDA events then time back-to-back kernels, not launch gaps.
extern "C" __global__ void moecast_spin(long long ns) {
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do {
        __nanosleep(1000);
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while ((long long)(t - t0) < ns);
}
