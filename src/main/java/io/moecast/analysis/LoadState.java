package io.moecast.analysis;

/** The two states of expert load the source paper describes. */
public enum LoadState {
    /** Early training: loads change irregularly from step to step (large fluctuation). */
    TRANSIENT,
    /** Later training: loads similar across adjacent steps (temporal locality). */
    STABLE;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
