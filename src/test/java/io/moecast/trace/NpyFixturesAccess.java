package io.moecast.trace;

/** Public access to {@link NpyFixtures} for tests in other packages. */
public final class NpyFixturesAccess {
    private NpyFixturesAccess() {
    }

    /** A v1 .npy header for little-endian int32 of the given shape. */
    public static byte[] header(long... shape) {
        return NpyFixtures.header(1, "<i4", false, shape);
    }
}
