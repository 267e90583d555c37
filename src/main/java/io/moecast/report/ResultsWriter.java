package io.moecast.report;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moecast.UserError;
import io.moecast.util.AtomicOutput;
import io.moecast.util.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place results are written. Every command that produces results gets a folder (its
 * {@code --out DIR}, else {@code runs/<command>-<timestamp>/}, which git ignores), a
 * {@code machine.json} there, and the machine and commit inside every JSON result. Files are written
 * atomically (temporary file, then move).
 */
public final class ResultsWriter {
    private final Path dir;
    private final String command;

    private ResultsWriter(Path dir, String command) {
        this.dir = dir;
        this.command = command;
    }

    /** Opens (creating) the results folder for a command. */
    public static ResultsWriter open(String command, Path out) {
        Path dir = out != null ? out
                : Path.of("runs", command.replace(' ', '-') + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw UserError.option("--out", "cannot create " + dir + ": " + e.getMessage());
        }
        ResultsWriter w = new ResultsWriter(dir, command);
        w.writeRaw("machine.json", w.envelope(null));
        return w;
    }

    public Path dir() {
        return dir;
    }

    /** {@code {"moecast": {command, created, version, machine{..., commit}}, "result": value}} */
    public Map<String, Object> envelope(Object result) {
        return envelope(command, result);
    }

    /** The wrapper every JSON result gets: the command, time, version, machine and git commit. */
    public static Map<String, Object> envelope(String command, Object result) {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("command", command);
        meta.put("created", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        meta.put("version", io.moecast.Build.version());
        meta.put("machine", MachineInfo.get());
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("moecast", meta);
        if (result != null) {
            root.put("result", result);
        }
        return root;
    }

    /** Writes a JSON result (wrapped with the machine and commit). Returns its path. */
    public Path writeJson(String name, Object result) {
        return writeRaw(name, envelope(result));
    }

    private Path writeRaw(String name, Object value) {
        try {
            byte[] bytes = Json.MAPPER.writeValueAsBytes(value);
            Path p = dir.resolve(name);
            AtomicOutput.write(p, bytes);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a text file (Markdown, CSV, ...). */
    public Path writeText(String name, String text) {
        Path p = dir.resolve(name);
        AtomicOutput.writeString(p, text);
        return p;
    }

    /** Writes a PNG (bytes from {@link Charts}). */
    public Path writeBytes(String name, byte[] bytes) {
        Path p = dir.resolve(name);
        AtomicOutput.write(p, bytes);
        return p;
    }

    /** A JSON tree with the machine facts, for embedding in another document. */
    public static ObjectNode machineNode() {
        return Json.MAPPER.valueToTree(MachineInfo.get());
    }
}
