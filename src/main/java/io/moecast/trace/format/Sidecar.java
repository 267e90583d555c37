package io.moecast.trace.format;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moecast.UserError;
import io.moecast.trace.TraceMeta;
import io.moecast.util.AtomicOutput;
import io.moecast.util.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The JSON metadata sidecar of a trace: {@code <name>.json} next to {@code <name>.npy},
 * {@code <name>.csv}, {@code <name>.jsonl} (and their {@code .gz} forms), holding {@link TraceMeta}.
 */
public final class Sidecar {
    private Sidecar() {
    }

    /** {@code dir/run.npy.gz → dir/run.json}. */
    public static Path of(Path trace) {
        String name = trace.getFileName().toString();
        if (name.toLowerCase().endsWith(".gz")) {
            name = name.substring(0, name.length() - 3);
        }
        int dot = name.lastIndexOf('.');
        if (dot > 0) {
            name = name.substring(0, dot);
        }
        Path parent = trace.toAbsolutePath().getParent();
        return parent.resolve(name + ".json");
    }

    /** Reads the sidecar if there is one; an empty meta otherwise. */
    public static TraceMeta read(Path trace) {
        Path p = of(trace);
        if (!Files.isRegularFile(p)) {
            return TraceMeta.empty();
        }
        try {
            JsonNode n = Json.MAPPER.readTree(p.toFile());
            if (n == null || !n.isObject()) {
                throw UserError.inFile(p, "", "metadata sidecar is not a JSON object");
            }
            return new TraceMeta((ObjectNode) n);
        } catch (JacksonException e) {
            String where = e.getLocation() == null ? "" : "line " + e.getLocation().getLineNr();
            throw UserError.inFile(p, where, "metadata sidecar is not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw UserError.inFile(p, "", "cannot read metadata sidecar: " + e.getMessage());
        }
    }

    /** Writes the sidecar of {@code trace} atomically. */
    public static void write(Path trace, TraceMeta meta) throws IOException {
        try (AtomicOutput out = AtomicOutput.create(of(trace))) {
            Json.MAPPER.writeValue(out.stream(), meta.json());
            out.stream().write('\n');
            out.commit();
        }
    }
}
