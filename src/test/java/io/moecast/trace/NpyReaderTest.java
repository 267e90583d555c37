package io.moecast.trace;

import io.moecast.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The NPY reader on every header version, dtype, byte order and shape it accepts, and on real numpy files. */
class NpyReaderTest {
    @TempDir
    Path dir;

    static Stream<Arguments> dtypes() {
        List<Arguments> a = new ArrayList<>();
        for (int version : new int[] {1, 2, 3}) {
            for (String d : new String[] {"<i4", "<i8", "<f4", "<f8", ">i4", ">i8", ">f4", ">f8", "|i1", "<i2", "|u1", "<u2", "<u4", "<u8"}) {
                a.add(Arguments.of(version, d));
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "v{0} {1}")
    @MethodSource("dtypes")
    void readsEveryDtypeAndVersion3d(int version, String descr) throws IOException {
        int steps = 7, layers = 3, experts = 5;
        int max = descr.endsWith("1") ? 127 : descr.endsWith("2") ? 30_000 : 1 << 20;
        int[] counts = NpyFixtures.randomCounts(version * 31L + descr.hashCode(), steps * layers * experts, max);
        counts[0] = 0;
        counts[1] = max - 1;
        Path f = NpyFixtures.write(dir.resolve("t.npy"), version, descr, new long[] {steps, layers, experts}, NpyFixtures.asDoubles(counts));
        try (TraceReader r = Traces.open(f)) {
            assertEquals(steps, r.steps());
            assertEquals(layers, r.layers());
            assertEquals(experts, r.experts());
        }
        assertArrayEquals(counts, NpyFixtures.readAll(f));
    }

    @ParameterizedTest
    @ValueSource(strings = {"<i4", "<i8", "<f4", "<f8"})
    void readsTwoDimensionalAsOneLayer(String descr) throws IOException {
        int[] counts = NpyFixtures.randomCounts(5, 11 * 8, 1000);
        Path f = NpyFixtures.write(dir.resolve("t2.npy"), 1, descr, new long[] {11, 8}, NpyFixtures.asDoubles(counts));
        LoadTrace t = Traces.load(f);
        assertEquals(11, t.steps());
        assertEquals(1, t.layers());
        assertEquals(8, t.experts());
        assertArrayEquals(counts, t.counts());
    }

    @Test
    void floatCountsMustBeWholeNonNegativeAndFinite() throws IOException {
        double[][] bad = {{1, 2.5}, {1, Double.NaN}, {1, Double.POSITIVE_INFINITY}, {1, -1}, {1, 3e9}};
        String[] problem = {"non-integral count 2.5", "NaN count", "infinite count", "negative count", "too large"};
        for (int i = 0; i < bad.length; i++) {
            Path f = NpyFixtures.write(dir.resolve("bad" + i + ".npy"), 1, "<f8", new long[] {1, 1, 2}, bad[i]);
            UserError e = assertThrows(UserError.class, () -> NpyFixtures.readAll(f));
            assertTrue(e.getMessage().contains(problem[i]), e.getMessage());
            // the element's byte offset and its step/layer/expert
            assertTrue(e.getMessage().contains("byte " + (128 + 8) + " (step 0, layer 0, expert 1)"), e.getMessage());
        }
    }

    @Test
    void unsignedAndWideIntegersBeyondIntAreRejected() throws IOException {
        Path f = NpyFixtures.write(dir.resolve("big.npy"), 1, "<i8", new long[] {2, 1}, new double[] {1, 1L << 33});
        UserError e = assertThrows(UserError.class, () -> NpyFixtures.readAll(f));
        assertTrue(e.getMessage().contains("step 1, layer 0, expert 0") && e.getMessage().contains("too large"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"<f2", "|b1", "<c8", "<U3", "|O", "<M8[ns]", "<i3"})
    void unsupportedDtypes(String descr) throws IOException {
        byte[] h = NpyFixtures.header(1, descr, false, 1, 1, 4);
        Path f = dir.resolve("u.npy");
        Files.write(f, concat(h, new byte[64]));
        UserError e = assertThrows(UserError.class, () -> Traces.open(f).close());
        assertTrue(e.getMessage().contains("byte 10 (NPY header): unsupported dtype '" + descr + "'"), e.getMessage());
    }

    @Test
    void shapesThatAreNotTraces() throws IOException {
        for (long[] shape : new long[][] {{12}, {2, 2, 3, 1}, {}}) {
            Path f = dir.resolve("s.npy");
            Files.write(f, concat(NpyFixtures.header(1, "<i4", false, shape), new byte[48]));
            UserError e = assertThrows(UserError.class, () -> Traces.open(f).close());
            assertTrue(e.getMessage().contains("is not a trace"), e.getMessage());
        }
    }

    @Test
    void zeroStepsIsReportedWhenLoading() throws IOException {
        Path f = NpyFixtures.write(dir.resolve("z.npy"), 1, "<i4", new long[] {0, 2, 3}, new double[0]);
        UserError e = assertThrows(UserError.class, () -> Traces.load(f));
        assertTrue(e.getMessage().contains("no steps"), e.getMessage());
    }

    // ---- files written by numpy itself (src/test/resources/npy/make_npy.py) ----

    static Path resource(String name) {
        try {
            return Path.of(NpyReaderTest.class.getResource("/npy/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** value(s, l, e) = 100 s + 10 l + e, as make_npy.py writes it. */
    static int[] expected(int layers, int mod) {
        int[] c = new int[3 * layers * 5];
        for (int s = 0; s < 3; s++) {
            for (int l = 0; l < layers; l++) {
                for (int e = 0; e < 5; e++) {
                    c[(s * layers + l) * 5 + e] = (100 * s + 10 * l + e) % mod;
                }
            }
        }
        return c;
    }

    @ParameterizedTest
    @ValueSource(strings = {"le-i2.npy", "le-i4.npy", "le-i8.npy", "le-u2.npy", "le-u4.npy", "le-u8.npy", "le-f4.npy", "le-f8.npy",
            "be-i4.npy", "be-i8.npy", "be-f8.npy", "le-i4-v2.npy", "le-i4-v3.npy", "one-array.npz", "one-array-compressed.npz", "le-i4.npy.gz"})
    void readsFilesWrittenByNumpy(String name) {
        LoadTrace t = Traces.load(resource(name));
        assertEquals(2, t.layers());
        assertArrayEquals(expected(2, Integer.MAX_VALUE), t.counts(), name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"le-i1.npy", "le-u1.npy"})
    void readsByteFilesWrittenByNumpy(String name) {
        assertArrayEquals(expected(2, 128), Traces.load(resource(name)).counts(), name);
    }

    @Test
    void readsTwoDimensionalFileWrittenByNumpy() {
        LoadTrace t = Traces.load(resource("le-i4-2d.npy"));
        assertEquals(1, t.layers());
        assertArrayEquals(expected(1, Integer.MAX_VALUE), t.counts());
    }

    @Test
    void rejectsNumpyFortranOrderAndFloat16() {
        UserError e = assertThrows(UserError.class, () -> Traces.load(resource("fortran.npy")));
        assertTrue(e.getMessage().contains("Fortran-order"), e.getMessage());
        e = assertThrows(UserError.class, () -> Traces.load(resource("f2.npy")));
        assertTrue(e.getMessage().contains("unsupported dtype '<f2'"), e.getMessage());
    }

    @Test
    void writerHeaderIsNumpyShaped() throws IOException {
        LoadTrace t = new LoadTrace(TraceMeta.empty(), 3, 2, 5, 0, expected(2, Integer.MAX_VALUE));
        Path f = dir.resolve("w.npy");
        Traces.write(t, f);
        byte[] b = Files.readAllBytes(f);
        int hlen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        assertEquals(0, (10 + hlen) % 64, "data must start 64-byte aligned");
        assertEquals('\n', b[10 + hlen - 1]);
        String dict = new String(b, 10, hlen, java.nio.charset.StandardCharsets.ISO_8859_1).trim();
        assertEquals("{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2, 5), }", dict);
        assertEquals(10 + hlen + 3 * 2 * 5 * 4, b.length);
        // byte-identical to the file numpy wrote for the same array
        assertArrayEquals(readBytes(resource("le-i4.npy")), b);
    }

    static byte[] readBytes(Path p) throws IOException {
        return Files.readAllBytes(p);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = new byte[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
