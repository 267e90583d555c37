package io.moecast.cli;

import io.moecast.trace.NpyFixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kind of bad input gives exactly one line on stderr naming the file, the position (byte, line or
 * step) and the problem; exit code 2; no stack trace; and {@code trace convert} leaves no output behind.
 * The problems are placed late in the files where possible, so the converter has already written steps
 * when it meets them.
 */
class BadInputTest {
    private static final Pattern POSITION = Pattern.compile("\\b(byte|line|step) \\d+|zip entr");

    @TempDir
    Path dir;

    /** A bad file: its name, how to make it, the position and the problem its message must give. */
    record Case(String file, Maker maker, String position, String problem) {
        @Override
        public String toString() {
            return file + " -> " + problem;
        }
    }

    interface Maker {
        byte[] make() throws IOException;
    }

    static byte[] npy(String descr, long[] shape, double[] values) {
        return cat(NpyFixtures.header(1, descr, false, shape), NpyFixtures.data(descr, values));
    }

    /** 5 steps x 2 layers x 3 experts of int32 with one value replaced. */
    static byte[] npyWith(String descr, int at, double v) {
        double[] d = NpyFixtures.asDoubles(NpyFixtures.randomCounts(1, 30, 100));
        d[at] = v;
        return npy(descr, new long[] {5, 2, 3}, d);
    }

    static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(o)) {
            g.write(b);
        }
        return o.toByteArray();
    }

    static byte[] cat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    static final String WIDE = "step,layer,e0,e1,e2\n";
    static final String WIDE_OK = "0,0,1,2,3\n0,1,4,5,6\n1,0,1,2,3\n1,1,4,5,6\n2,0,7,8,9\n2,1,1,1,1\n";

    static Stream<Case> cases() {
        byte[] good = npyWith("<i4", 0, 1);
        List<Case> c = new ArrayList<>();
        // --- NPY ---
        c.add(new Case("trunc-header.npy", () -> Arrays.copyOf(good, 40), "byte 40", "truncated NPY header"));
        c.add(new Case("trunc-prefix.npy", () -> Arrays.copyOf(good, 7), "byte 7", "truncated NPY header"));
        c.add(new Case("trunc-data.npy", () -> Arrays.copyOf(good, good.length - 6), "byte " + (good.length - 6), "truncated"));
        c.add(new Case("trunc-data.npy.gz", () -> {
            byte[] big = npy("<i4", new long[] {400, 2, 64}, NpyFixtures.asDoubles(NpyFixtures.randomCounts(2, 400 * 128, 1 << 30)));
            byte[] gz = gzip(big);
            return Arrays.copyOf(gz, gz.length * 2 / 3);
        }, "step ", "truncated or corrupt compressed data"));
        c.add(new Case("corrupt-header.npy", () -> {
            byte[] b = good.clone();
            System.arraycopy(text("garbage!"), 0, b, 10, 8);
            return b;
        }, "byte 10", "corrupt NPY header"));
        c.add(new Case("corrupt-shape.npy", () -> new String(npy("<i4", new long[] {5, 2, 3}, new double[30]), StandardCharsets.ISO_8859_1)
                .replace("(5, 2, 3)", "(5, x, 3)").getBytes(StandardCharsets.ISO_8859_1), "byte 10", "corrupt NPY header (shape"));
        c.add(new Case("corrupt-length.npy", () -> {
            byte[] b = good.clone();
            b[8] = (byte) 0xff;
            b[9] = (byte) 0xff;
            return b;
        }, "byte ", "truncated NPY header"));
        c.add(new Case("bad-version.npy", () -> {
            byte[] b = good.clone();
            b[6] = 9;
            return b;
        }, "byte 6", "unsupported NPY format version 9"));
        c.add(new Case("dtype.npy", () -> cat(NpyFixtures.header(1, "<c16", false, 5, 2, 3), new byte[480]), "byte 10", "unsupported dtype '<c16'"));
        c.add(new Case("fortran.npy", () -> cat(NpyFixtures.header(1, "<i4", true, 5, 2, 3), new byte[120]), "byte 10", "Fortran-order"));
        c.add(new Case("fraction.npy", () -> npyWith("<f8", 25, 2.5), "step 4, layer 0, expert 1", "non-integral count 2.5"));
        c.add(new Case("negative.npy", () -> npyWith("<i4", 22, -3), "step 3, layer 1, expert 1", "negative count -3"));
        c.add(new Case("negative64.npy", () -> npyWith("<i8", 29, -1), "step 4, layer 1, expert 2", "negative count -1"));
        c.add(new Case("nan.npy", () -> npyWith("<f4", 20, Double.NaN), "step 3, layer 0, expert 2", "NaN count"));
        c.add(new Case("two-arrays.npz", () -> {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            try (ZipOutputStream z = new ZipOutputStream(o)) {
                for (String n : new String[] {"a.npy", "b.npy"}) {
                    z.putNextEntry(new ZipEntry(n));
                    z.write(good);
                    z.closeEntry();
                }
            }
            return o.toByteArray();
        }, "zip entries 'a.npy', 'b.npy'", ".npz must hold exactly one array, found 2"));
        // --- CSV ---
        c.add(new Case("ragged.csv", () -> text(WIDE + "0,0,1,2,3\n0,1,4,5\n"), "line 3", "ragged row: 4 fields, the header has 5"));
        c.add(new Case("nonnumeric.csv", () -> text(WIDE + WIDE_OK + "3,0,1,two,3\n3,1,1,1,1\n"), "line 8 (step 3, layer 0, expert 1)", "not a number: 'two'"));
        c.add(new Case("nonnumeric-step.csv", () -> text(WIDE + WIDE_OK + "x,0,1,2,3\n"), "line 8", "step is not a whole number: 'x'"));
        c.add(new Case("fraction.csv", () -> text(WIDE + WIDE_OK + "3,0,1,2.5,3\n3,1,1,1,1\n"), "line 8", "non-integral count 2.5"));
        c.add(new Case("negative.csv", () -> text(WIDE + WIDE_OK + "3,0,1,2,3\n3,1,1,-4,1\n"), "line 9", "negative count -4"));
        c.add(new Case("nan.csv", () -> text(WIDE + WIDE_OK + "3,0,1,nan,3\n3,1,1,1,1\n"), "line 8", "NaN count"));
        c.add(new Case("order.csv", () -> text(WIDE + WIDE_OK + "1,0,1,2,3\n1,1,1,1,1\n"), "line 8", "step 1 after step 2: steps out of order"));
        c.add(new Case("gap.csv", () -> text(WIDE + WIDE_OK + "4,0,1,2,3\n4,1,1,1,1\n"), "line 8", "step 4 follows step 2: steps must be consecutive"));
        c.add(new Case("order-long.csv", () -> text("step,layer,expert,tokens\n0,0,0,5\n1,0,0,5\n0,0,1,5\n"), "line 4", "steps out of order"));
        c.add(new Case("missing-layer.csv", () -> text(WIDE + WIDE_OK + "3,0,1,2,3\n"), "line ", "step 3 has 1 layer rows, expected 2"));
        c.add(new Case("twice.csv", () -> text("step,layer,expert,tokens\n0,0,0,5\n0,0,1,5\n1,0,1,5\n1,0,1,6\n"), "line 5", "appears twice"));
        c.add(new Case("header-only.csv", () -> text(WIDE), "line 2", "no data rows"));
        c.add(new Case("no-header.csv", () -> text("0,0,1,2,3\n"), "line 1", "expected a header"));
        c.add(new Case("trunc.csv.gz", () -> {
            StringBuilder sb = new StringBuilder(WIDE);
            java.util.Random r = new java.util.Random(3);
            for (int s = 0; s < 3000; s++) {
                sb.append(s).append(",0,").append(r.nextInt(1000)).append(',').append(r.nextInt(1000)).append(',').append(r.nextInt(1000)).append('\n');
            }
            byte[] gz = gzip(text(sb.toString()));
            return Arrays.copyOf(gz, gz.length / 2);
        }, "line ", "truncated or corrupt compressed data"));
        // --- JSON Lines ---
        c.add(new Case("order.jsonl", () -> text("{\"step\": 3, \"loads\": [[1, 2]]}\n{\"step\": 4, \"loads\": [[1, 2]]}\n{\"step\": 2, \"loads\": [[1, 2]]}\n"), "line 3", "step 2 after step 4: steps out of order"));
        c.add(new Case("nan.jsonl", () -> text("{\"step\": 0, \"loads\": [[1, 2]]}\n{\"step\": 1, \"loads\": [[1, NaN]]}\n"), "line 2 (step 1, layer 0, expert 1)", "NaN count"));
        c.add(new Case("negative.jsonl", () -> text("{\"step\": 0, \"loads\": [[1, 2]]}\n{\"step\": 1, \"loads\": [[-1, 2]]}\n"), "line 2", "negative count -1"));
        c.add(new Case("fraction.jsonl", () -> text("{\"step\": 0, \"loads\": [[1, 2]]}\n{\"step\": 1, \"loads\": [[1.25, 2]]}\n"), "line 2", "non-integral count 1.25"));
        c.add(new Case("ragged.jsonl", () -> text("{\"step\": 0, \"loads\": [[1, 2], [3, 4]]}\n{\"step\": 1, \"loads\": [[1, 2], [3]]}\n"), "line 2", "ragged \"loads\": layer 1 has 1 values, expected 2"));
        c.add(new Case("nonnumeric.jsonl", () -> text("{\"step\": 0, \"loads\": [[1, 2]]}\n{\"step\": 1, \"loads\": [[true, 2]]}\n"), "line 2", "not a number: true"));
        c.add(new Case("invalid.jsonl", () -> text("{\"step\": 0, \"loads\": [[1, 2]]}\n{\"step\": 1, \"loads\": [[1, 2]\n"), "line 2", "invalid JSON"));
        c.add(new Case("nostep.jsonl", () -> text("{\"step\": 0, \"loads\": [[1, 2]]}\n{\"loads\": [[1, 2]]}\n"), "line 2", "missing or invalid \"step\""));
        // --- any format ---
        c.add(new Case("empty.npy", () -> new byte[0], "byte 0", "empty file"));
        c.add(new Case("empty.csv", () -> new byte[0], "byte 0", "empty file"));
        c.add(new Case("blank.jsonl", () -> text(" \n\n  \n"), "byte 0", "empty file"));
        c.add(new Case("binary.dat", () -> new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, "byte 0", "not a recognised trace format"));
        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void oneLineExitTwoNoOutput(Case k) throws IOException {
        Path f = dir.resolve(k.file());
        Files.write(f, k.maker().make());
        for (String cmd : new String[] {"info", "convert"}) {
            Path outDir = Files.createDirectories(dir.resolve("out-" + cmd));
            List<String> args = new ArrayList<>(List.of("trace", cmd, f.toString()));
            if (cmd.equals("convert")) {
                args.add(outDir.resolve("converted.npy").toString());
            }
            CliRun r = CliRun.run(args.toArray(String[]::new));
            assertMessage(r, f, k.position(), k.problem());
            try (var files = Files.list(outDir)) {
                List<Path> left = files.toList();
                assertTrue(left.isEmpty(), "left behind: " + left);
            }
        }
    }

    static void assertMessage(CliRun r, Path f, String position, String problem) {
        assertEquals(2, r.exitCode(), r.toString());
        String[] lines = r.errLines();
        assertEquals(1, lines.length, "exactly one line on stderr: " + r);
        String line = lines[0];
        assertTrue(line.startsWith("moecast: " + f + ": "), "names the file: " + line);
        assertTrue(line.contains(position), "gives the position '" + position + "': " + line);
        assertTrue(POSITION.matcher(line).find(), "gives a byte, line or step: " + line);
        assertTrue(line.contains(problem), "names the problem '" + problem + "': " + line);
        assertFalse(line.contains("Exception") || r.err().contains("\tat "), "no stack trace: " + r);
    }

    @ParameterizedTest
    @MethodSource("otherProblems")
    void fileLevelProblems(String name, String problem) throws IOException {
        Path f = dir.resolve(name);
        if (name.startsWith("dir")) {
            Files.createDirectories(f);
        }
        CliRun r = CliRun.run("trace", "info", f.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(1, r.errLines().length, r.toString());
        assertEquals("moecast: " + f + ": " + problem, r.errLines()[0]);
    }

    static Stream<Arguments> otherProblems() {
        return Stream.of(Arguments.of("missing.npy", "no such file"),
                Arguments.of("dir.npy", "is a directory, not a trace file"));
    }

    @org.junit.jupiter.api.Test
    void badSidecar() throws IOException {
        Path f = dir.resolve("run.jsonl");
        Files.writeString(f, "{\"step\": 0, \"loads\": [[1, 2]]}\n");
        Path side = dir.resolve("run.json");
        Files.writeString(side, "{\"model\": \"x\",\n \"topk\": }\n");
        CliRun r = CliRun.run("trace", "info", f.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(1, r.errLines().length, r.toString());
        assertTrue(r.errLines()[0].startsWith("moecast: " + side + ": line 2: metadata sidecar is not valid JSON"), r.err());
    }
}
