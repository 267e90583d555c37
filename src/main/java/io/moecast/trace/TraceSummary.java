package io.moecast.trace;

import io.moecast.util.Progress;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One streaming pass over a trace: shape, routed token-slots per step (min/median/max), and per-layer
 * imbalance (max load / mean load) at the start, middle and end. Memory: one float per step and layer.
 */
public record TraceSummary(String file, String model, long steps, int layers, int experts, long firstStep,
                           long tokensPerStepMeta, int topK, int[] layerLabels,
                           long slotsMin, long slotsMedian, long slotsMax, long total,
                           double[] imbalanceStart, double[] imbalanceMiddle, double[] imbalanceEnd,
                           double[] imbalanceMean) {

    public static TraceSummary of(TraceReader r) throws IOException {
        int L = r.layers();
        int E = r.experts();
        int[] step = new int[L * E];
        long[] slots = new long[1024];
        float[] imb = new float[1024 * L];
        int n = 0;
        long total = 0;
        try (Progress p = Progress.start("reading trace", r.steps())) {
            while (r.next(step)) {
                if (n == slots.length) {
                    slots = Arrays.copyOf(slots, n * 2);
                    imb = Arrays.copyOf(imb, n * 2 * L);
                }
                long stepSlots = 0;
                for (int l = 0; l < L; l++) {
                    long sum = 0;
                    int max = 0;
                    for (int e = 0; e < E; e++) {
                        int c = step[l * E + e];
                        sum += c;
                        max = Math.max(max, c);
                    }
                    stepSlots += sum;
                    imb[n * L + l] = sum == 0 ? 0f : (float) (max * (double) E / sum);
                }
                total += stepSlots;
                slots[n] = stepSlots / L;
                n++;
                p.step(1);
            }
        }
        if (n == 0) {
            throw io.moecast.UserError.inFile(r.path(), "", "the trace has no steps");
        }
        long[] sorted = Arrays.copyOf(slots, n);
        Arrays.sort(sorted);
        double[] mean = new double[L];
        for (int s = 0; s < n; s++) {
            for (int l = 0; l < L; l++) {
                mean[l] += imb[s * L + l];
            }
        }
        for (int l = 0; l < L; l++) {
            mean[l] /= n;
        }
        int[] labels = new int[L];
        for (int l = 0; l < L; l++) {
            labels[l] = r.meta().layerLabel(l);
        }
        return new TraceSummary(r.path().toString(), r.meta().model(), n, L, E, r.firstStep(), r.meta().tokensPerStep(), r.meta().topK(), labels,
                sorted[0], sorted[n / 2], sorted[n - 1], total,
                row(imb, 0, L), row(imb, n / 2, L), row(imb, n - 1, L), mean);
    }

    private static double[] row(float[] imb, int s, int L) {
        double[] out = new double[L];
        for (int l = 0; l < L; l++) {
            out[l] = imb[s * L + l];
        }
        return out;
    }

    /** For --json. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("file", file);
        m.put("model", model);
        m.put("shape", new long[] {steps, layers, experts});
        m.put("steps", steps);
        m.put("firstStep", firstStep);
        m.put("layers", layers);
        m.put("experts", experts);
        m.put("moeLayerIndices", layerLabels);
        m.put("tokensPerStep", tokensPerStepMeta);
        m.put("topK", topK);
        m.put("routedSlotsPerLayerStep", Map.of("min", slotsMin, "median", slotsMedian, "max", slotsMax));
        if (topK > 0) {
            m.put("tokensPerStepObserved", Map.of("min", slotsMin / topK, "median", slotsMedian / topK, "max", slotsMax / topK));
        }
        m.put("totalCount", total);
        List<Map<String, Object>> perLayer = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("layer", layerLabels[l]);
            x.put("imbalanceStart", imbalanceStart[l]);
            x.put("imbalanceMiddle", imbalanceMiddle[l]);
            x.put("imbalanceEnd", imbalanceEnd[l]);
            x.put("imbalanceMean", imbalanceMean[l]);
            perLayer.add(x);
        }
        m.put("imbalanceMaxOverMean", perLayer);
        return m;
    }

    /** Human-readable text (Markdown-friendly). */
    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append("trace     ").append(file).append('\n');
        if (model != null) {
            sb.append("model     ").append(model).append('\n');
        }
        sb.append(String.format("shape     [%d steps, %d MoE layers, %d experts]  (steps %d..%d)%n", steps, layers, experts, firstStep, firstStep + steps - 1));
        sb.append(String.format("routing   top-%s, %s tokens per step (metadata)%n", topK > 0 ? topK : "?", tokensPerStepMeta > 0 ? tokensPerStepMeta : "?"));
        sb.append(String.format("routed    token-slots per layer and step: min %d, median %d, max %d; total %d%n", slotsMin, slotsMedian, slotsMax, total));
        if (topK > 0) {
            sb.append(String.format("tokens    per step (token-slots / top-k): min %d, median %d, max %d%n", slotsMin / topK, slotsMedian / topK, slotsMax / topK));
        }
        sb.append("imbalance (max / mean expert load) per MoE layer\n");
        sb.append(String.format("  %-6s %10s %10s %10s %10s%n", "layer", "start", "middle", "end", "mean"));
        for (int l = 0; l < layers; l++) {
            sb.append(String.format("  %-6d %10.3f %10.3f %10.3f %10.3f%n", layerLabels[l], imbalanceStart[l], imbalanceMiddle[l], imbalanceEnd[l], imbalanceMean[l]));
        }
        return sb.toString();
    }
}
