package io.moecast.trace;

import java.io.IOException;

/**
 * Writes a trace step by step. Output goes to a temporary file that {@link #commit()} moves into place
 * (with the JSON sidecar); closing without commit leaves nothing behind.
 */
public interface TraceWriter extends AutoCloseable {
    /** Appends one step: {@code counts[layer * experts + expert]}. */
    void write(int[] counts) throws IOException;

    /** Finishes the file and its sidecar and moves both into place. */
    void commit() throws IOException;

    @Override
    void close() throws IOException;
}
