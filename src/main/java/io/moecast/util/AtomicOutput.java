package io.moecast.util;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a file through a temporary sibling and moves it into place on {@link #commit()}, so a failure
 * never leaves a half-written output. Closing without commit deletes the temporary file.
 *
 * <pre>{@code
 * try (AtomicOutput out = AtomicOutput.create(path)) {
 *     write(out.stream());
 *     out.commit();
 * }
 * }</pre>
 */
public final class AtomicOutput implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final OutputStream stream;
    private boolean committed;
    private boolean streamClosed;

    private AtomicOutput(Path target) throws IOException {
        this.target = target.toAbsolutePath();
        Path dir = this.target.getParent();
        Files.createDirectories(dir);
        // createFile (not createTempFile, which makes the file owner-only) so the result gets the usual umask permissions
        this.temp = Files.createFile(dir.resolve("." + this.target.getFileName() + "." + Long.toHexString(System.nanoTime())
                + Integer.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextInt()) + ".part"));
        this.stream = Files.newOutputStream(temp);
    }

    public static AtomicOutput create(Path target) throws IOException {
        return new AtomicOutput(target);
    }

    public OutputStream stream() {
        return stream;
    }

    public Path tempPath() {
        return temp;
    }

    /** Flushes, closes and atomically moves the temporary file onto the target. */
    public void commit() throws IOException {
        if (!streamClosed) {
            stream.close();
            streamClosed = true;
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        committed = true;
    }

    @Override
    public void close() throws IOException {
        if (!streamClosed) {
            try {
                stream.close();
            } catch (IOException ignored) {
                // the temporary file is deleted anyway
            }
            streamClosed = true;
        }
        if (!committed) {
            Files.deleteIfExists(temp);
        }
    }

    /** Writes bytes atomically. */
    public static void write(Path target, byte[] bytes) {
        try (AtomicOutput out = create(target)) {
            out.stream().write(bytes);
            out.commit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a UTF-8 string atomically. */
    public static void writeString(Path target, String text) {
        write(target, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
