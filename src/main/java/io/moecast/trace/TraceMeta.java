package io.moecast.trace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Arrays;

/**
 * Metadata of a load trace. Backed by the JSON sidecar object, so keys moecast does not know (the
 * training recipe, losses, ...) survive every round trip untouched. Typed accessors cover the keys
 * moecast uses; they follow the sidecar keys of the bundled traces:
 * {@code model}, {@code tokens_per_step}, {@code topk}, {@code moe_layer_indices}, {@code source}.
 */
public final class TraceMeta {
    public static final String MODEL = "model";
    public static final String TOKENS_PER_STEP = "tokens_per_step";
    public static final String TOPK = "topk";
    public static final String MOE_LAYER_INDICES = "moe_layer_indices";
    public static final String SOURCE = "source";
    public static final String FIRST_STEP = "first_step";

    private final ObjectNode node;

    public TraceMeta(ObjectNode node) {
        this.node = node == null ? JsonNodeFactory.instance.objectNode() : node;
    }

    public static TraceMeta empty() {
        return new TraceMeta(null);
    }

    /** A deep copy (writers update shape keys on their copy). */
    public TraceMeta copy() {
        return new TraceMeta(node.deepCopy());
    }

    /** The sidecar object itself (live view). */
    public ObjectNode json() {
        return node;
    }

    public String model() {
        return text(MODEL);
    }

    public TraceMeta model(String v) {
        node.put(MODEL, v);
        return this;
    }

    public String source() {
        return text(SOURCE);
    }

    public TraceMeta source(String v) {
        node.put(SOURCE, v);
        return this;
    }

    /** Tokens per training step (before top-k), or 0 when unknown. */
    public long tokensPerStep() {
        JsonNode n = node.get(TOKENS_PER_STEP);
        return n != null && n.canConvertToLong() ? n.asLong() : 0L;
    }

    public TraceMeta tokensPerStep(long v) {
        node.put(TOKENS_PER_STEP, v);
        return this;
    }

    /** Top-k of the router, or 0 when unknown. */
    public int topK() {
        JsonNode n = node.get(TOPK);
        return n != null && n.canConvertToInt() ? n.asInt() : 0;
    }

    public TraceMeta topK(int v) {
        node.put(TOPK, v);
        return this;
    }

    /** The model-layer index of each MoE layer, or null when unknown. */
    public int[] moeLayerIndices() {
        JsonNode n = node.get(MOE_LAYER_INDICES);
        if (n == null || !n.isArray()) {
            return null;
        }
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asInt();
        }
        return out;
    }

    public TraceMeta moeLayerIndices(int[] v) {
        ArrayNode a = node.putArray(MOE_LAYER_INDICES);
        for (int x : v) {
            a.add(x);
        }
        return this;
    }

    /** Step number of the first row (0 unless the trace is a later chunk of a run). */
    public long firstStep() {
        JsonNode n = node.get(FIRST_STEP);
        return n != null && n.canConvertToLong() ? n.asLong() : 0L;
    }

    public TraceMeta firstStep(long v) {
        node.put(FIRST_STEP, v);
        return this;
    }

    /** Model-layer label of MoE layer {@code l} (its model-layer index when known, else l). */
    public int layerLabel(int l) {
        int[] idx = moeLayerIndices();
        return idx != null && l < idx.length ? idx[l] : l;
    }

    private String text(String key) {
        JsonNode n = node.get(key);
        return n == null || n.isNull() ? null : n.asText();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TraceMeta m && m.node.equals(node);
    }

    @Override
    public int hashCode() {
        return node.hashCode();
    }

    @Override
    public String toString() {
        return "TraceMeta" + node + (moeLayerIndices() == null ? "" : " layers=" + Arrays.toString(moeLayerIndices()));
    }
}
