package io.moecast.placement;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Plans as JSON in DeepSeek EPLB's layout, so a plan can be loaded where {@code rebalance_experts}'
 * output would be (vLLM, SGLang):
 * <pre>{@code
 * { "shape": {"layers", "experts", "redundant", "gpus", "nodes", "groups", "slots_per_gpu"},
 *   "phy2log": [layer][slot]           logical expert of each physical slot (slots GPU by GPU),
 *   "log2phy": [layer][expert][maxcnt] slot of each replica rank, padded with -1,
 *   "logcnt":  [layer][expert]         replicas per expert }
 * }</pre>
 * {@code maxcnt} is the largest replica count over all layers, as in the reference.
 */
public final class PlanJson {
    private PlanJson() {
    }

    /** The plan as a JSON-ready map (primitive arrays serialise as JSON arrays). */
    public static Map<String, Object> toMap(Placement p) {
        PlacementShape s = p.shape();
        int L = s.layers();
        int P = s.slots();
        int E = s.experts();
        int maxcnt = p.maxReplicas();
        int[][] phy2log = new int[L][];
        int[][][] log2phy = new int[L][E][maxcnt];
        int[][] logcnt = new int[L][];
        for (int l = 0; l < L; l++) {
            phy2log[l] = Arrays.copyOfRange(p.phy2log, l * P, (l + 1) * P);
            logcnt[l] = Arrays.copyOfRange(p.logcnt, l * E, (l + 1) * E);
            for (int e = 0; e < E; e++) {
                Arrays.fill(log2phy[l][e], -1);
            }
            for (int q = 0; q < P; q++) {
                log2phy[l][p.phy2log[l * P + q]][p.rank[l * P + q]] = q;
            }
        }
        Map<String, Object> shape = new LinkedHashMap<>();
        shape.put("layers", L);
        shape.put("experts", E);
        shape.put("redundant", s.redundant());
        shape.put("gpus", s.gpus());
        shape.put("nodes", s.nodes());
        shape.put("groups", s.groups());
        shape.put("slots_per_gpu", s.slotsPerGpu());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("shape", shape);
        m.put("phy2log", phy2log);
        m.put("log2phy", log2phy);
        m.put("logcnt", logcnt);
        return m;
    }

    /**
     * Reads a plan written by {@link #toMap} (or by EPLB's tensors converted with {@code .tolist()} plus a
     * shape object). Checks that the three arrays agree.
     *
     * @throws IllegalArgumentException naming the first inconsistency
     */
    public static Placement fromJson(JsonNode root) {
        JsonNode sh = need(root, "shape");
        int L = need(sh, "layers").asInt();
        int E = need(sh, "experts").asInt();
        int R = need(sh, "redundant").asInt();
        int G = need(sh, "gpus").asInt();
        int N = sh.path("nodes").asInt(1);
        int Gr = sh.path("groups").asInt(1);
        PlacementShape s = PlacementShape.of(L, E, R, G, N, Gr);
        int P = s.slots();
        JsonNode phy2log = need(root, "phy2log");
        JsonNode logcnt = need(root, "logcnt");
        JsonNode log2phy = need(root, "log2phy");
        if (phy2log.size() != L || logcnt.size() != L || log2phy.size() != L) {
            throw new IllegalArgumentException("phy2log, log2phy and logcnt must each have " + L + " layers");
        }
        Placement p = new Placement(s);
        int[] row = new int[P];
        for (int l = 0; l < L; l++) {
            JsonNode r = phy2log.get(l);
            if (r.size() != P) {
                throw new IllegalArgumentException("phy2log[" + l + "] has " + r.size() + " slots, expected " + P);
            }
            for (int q = 0; q < P; q++) {
                row[q] = intAt(r.get(q), "phy2log[" + l + "][" + q + "]");
            }
            p.setLayer(l, row);
            JsonNode c = logcnt.get(l);
            JsonNode lp = log2phy.get(l);
            if (c.size() != E || lp.size() != E) {
                throw new IllegalArgumentException("logcnt[" + l + "] and log2phy[" + l + "] must have " + E + " experts");
            }
            for (int e = 0; e < E; e++) {
                int cnt = intAt(c.get(e), "logcnt[" + l + "][" + e + "]");
                if (cnt != p.replicas(l, e)) {
                    throw new IllegalArgumentException("logcnt[" + l + "][" + e + "] = " + cnt + " but phy2log holds "
                            + p.replicas(l, e) + " replicas of expert " + e);
                }
                JsonNode slotsOf = lp.get(e);
                for (int k = 0; k < slotsOf.size(); k++) {
                    int q = intAt(slotsOf.get(k), "log2phy[" + l + "][" + e + "][" + k + "]");
                    if (k < cnt) {
                        if (q < 0 || q >= P || p.expertAt(l, q) != e) {
                            throw new IllegalArgumentException("log2phy[" + l + "][" + e + "][" + k + "] = " + q
                                    + " is not a slot of expert " + e);
                        }
                        p.rank[l * P + q] = k;
                    } else if (q != -1) {
                        throw new IllegalArgumentException("log2phy[" + l + "][" + e + "][" + k + "] = " + q
                                + " but expert " + e + " has only " + cnt + " replicas (pad with -1)");
                    }
                }
                if (slotsOf.size() < cnt) {
                    throw new IllegalArgumentException("log2phy[" + l + "][" + e + "] lists " + slotsOf.size() + " of " + cnt + " replicas");
                }
            }
        }
        try {
            p.validate();
        } catch (IllegalStateException ex) {
            throw new IllegalArgumentException(ex.getMessage());
        }
        return p;
    }

    private static JsonNode need(JsonNode n, String key) {
        JsonNode v = n == null ? null : n.get(key);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("missing \"" + key + "\"");
        }
        return v;
    }

    private static int intAt(JsonNode v, String where) {
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException(where + " is not an integer");
        }
        return v.asInt();
    }
}
