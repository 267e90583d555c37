package io.moecast.trace.format;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.moecast.UserError;
import io.moecast.trace.TraceMeta;
import io.moecast.trace.TraceReader;
import io.moecast.util.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Streams JSON Lines, one step per line: {@code {"step": s, "loads": [[per expert] per layer]}}
 * ({@code "loads": [per expert]} is read as one layer). The first line fixes the shape.
 */
public final class JsonlTraceReader implements TraceReader {
    private final Path path;
    private final TraceMeta meta;
    private final BufferedReader in;
    private final int layers;
    private final int experts;
    private final long firstStep;
    private long lineNo;
    private JsonNode pending;
    private long pendingLine;
    private long prevStep = Long.MIN_VALUE;
    private long index = -1;

    public JsonlTraceReader(Path path, BufferedReader in, TraceMeta meta) throws IOException {
        this.path = path;
        this.meta = meta;
        this.in = in;
        this.pending = readLine();
        if (pending == null) {
            throw UserError.inFile(path, "", "empty file");
        }
        JsonNode loads = loads(pending, pendingLine);
        if (loads.get(0).isArray()) {
            layers = loads.size();
            experts = loads.get(0).size();
        } else {
            layers = 1;
            experts = loads.size();
        }
        if (experts == 0) {
            throw UserError.inFile(path, "line " + pendingLine, "\"loads\" has no experts");
        }
        this.firstStep = stepOf(pending, pendingLine);
    }

    private JsonNode readLine() throws IOException {
        String s;
        while ((s = readRaw()) != null) {
            lineNo++;
            if (s.isBlank()) {
                continue;
            }
            try {
                JsonNode n = Json.MAPPER.readTree(s);
                if (n == null || !n.isObject()) {
                    throw UserError.inFile(path, "line " + lineNo, "expected a JSON object {\"step\": s, \"loads\": [...]}");
                }
                pendingLine = lineNo;
                return n;
            } catch (JacksonException e) {
                throw UserError.inFile(path, "line " + lineNo, "invalid JSON (" + e.getOriginalMessage() + ")");
            }
        }
        return null;
    }

    private String readRaw() {
        try {
            return in.readLine();
        } catch (IOException e) {
            throw UserError.inFile(path, "line " + (lineNo + 1), CsvTraceReader.textProblem(e, "cannot read"));
        }
    }

    private JsonNode loads(JsonNode n, long line) {
        JsonNode loads = n.get("loads");
        if (loads == null || !loads.isArray() || loads.isEmpty()) {
            throw UserError.inFile(path, "line " + line, "missing or empty \"loads\" array");
        }
        return loads;
    }

    private long stepOf(JsonNode n, long line) {
        JsonNode s = n.get("step");
        if (s == null || !s.canConvertToLong() || !s.isIntegralNumber() || s.asLong() < 0) {
            throw UserError.inFile(path, "line " + line, "missing or invalid \"step\" (a non-negative whole number)");
        }
        return s.asLong();
    }

    @Override
    public boolean next(int[] dst) throws IOException {
        if (pending == null) {
            return false;
        }
        JsonNode n = pending;
        long line = pendingLine;
        long step = stepOf(n, line);
        String where = "line " + line;
        if (prevStep != Long.MIN_VALUE) {
            CsvTraceReader.checkOrder(path, where, prevStep, step);
        }
        JsonNode loads = loads(n, line);
        boolean nested = loads.get(0).isArray();
        if ((layers == 1 && !nested && loads.size() != experts) || (nested && loads.size() != layers) || (layers > 1 && !nested)) {
            throw UserError.inFile(path, where, "ragged \"loads\": expected " + layers + " layers of " + experts + " experts");
        }
        for (int l = 0; l < layers; l++) {
            JsonNode row = nested ? loads.get(l) : loads;
            if (!row.isArray() || row.size() != experts) {
                throw UserError.inFile(path, where, "ragged \"loads\": layer " + l + " has " + (row.isArray() ? row.size() : 0) + " values, expected " + experts);
            }
            for (int e = 0; e < experts; e++) {
                JsonNode v = row.get(e);
                String at = where + " (" + CountCheck.where(step, l, e) + ")";
                int c;
                if (v.isIntegralNumber()) {
                    c = CountCheck.fromLong(v.canConvertToLong() ? v.asLong() : Long.MAX_VALUE, path, at);
                } else if (v.isNumber()) {
                    c = CountCheck.fromDouble(v.asDouble(), path, at);
                } else if (v.isTextual()) {
                    c = CountCheck.fromText(v.asText(), path, at);
                } else {
                    throw UserError.inFile(path, at, "not a number: " + CountCheck.clip(v.toString()));
                }
                dst[l * experts + e] = c;
            }
        }
        prevStep = step;
        index++;
        pending = readLine();
        return true;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public TraceMeta meta() {
        return meta;
    }

    @Override
    public int layers() {
        return layers;
    }

    @Override
    public int experts() {
        return experts;
    }

    @Override
    public long steps() {
        return -1;
    }

    @Override
    public long firstStep() {
        return firstStep;
    }

    @Override
    public long index() {
        return index;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
