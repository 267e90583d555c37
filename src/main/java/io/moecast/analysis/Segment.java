package io.moecast.analysis;

/** A run of steps {@code [start, end)} (trace step numbers) in one state. */
public record Segment(LoadState state, long start, long end) {
    public long length() {
        return end - start;
    }

    public boolean contains(long step) {
        return step >= start && step < end;
    }
}
