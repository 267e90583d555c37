package io.moecast.routing.panama;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A tiny fork-join for routing batches: {@code n − 1} daemon helper threads plus the calling thread run
 * one {@link Task} per batch, each with its own worker index. Allocation-free per batch (no futures,
 * no lambdas captured per call): the caller publishes the task in a volatile field, bumps a generation
 * counter and unparks the helpers; helpers spin briefly, then park, waiting for the next generation.
 * One batch at a time: {@link #run} is not reentrant and must be called from one thread at a time.
 */
final class WorkerPool implements AutoCloseable {
    /** Work split across workers; worker 0 is the calling thread. */
    interface Task {
        void run(int worker);
    }

    private static final int SPINS = 2_000;

    private final int size;
    private final Thread[] helpers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile int generation;
    private volatile Task task;
    private volatile Thread caller;
    private volatile Throwable failure;
    private volatile boolean closed;

    WorkerPool(int size, String name) {
        if (size < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + size);
        }
        this.size = size;
        this.helpers = new Thread[size - 1];
        for (int i = 0; i < helpers.length; i++) {
            int worker = i + 1;
            Thread t = new Thread(() -> helperLoop(worker), name + "-" + worker);
            t.setDaemon(true);
            helpers[i] = t;
            t.start();
        }
    }

    int size() {
        return size;
    }

    /** Whether every helper thread may access the segment (a confined segment: only its owner). */
    boolean canAccess(java.lang.foreign.MemorySegment segment) {
        for (Thread h : helpers) {
            if (!segment.isAccessibleBy(h)) {
                return false;
            }
        }
        return true;
    }

    /** Runs {@code t.run(w)} for every worker w in [0, size) and returns when all are done. */
    void run(Task t) {
        if (closed) {
            throw new IllegalStateException("worker pool closed");
        }
        if (size == 1) {
            t.run(0);
            return;
        }
        failure = null;
        caller = Thread.currentThread();
        task = t;
        pending.set(size - 1);
        generation = generation + 1; // publishes task (volatile write after the plain ones)
        for (Thread h : helpers) {
            LockSupport.unpark(h);
        }
        Throwable mine = null;
        try {
            t.run(0);
        } catch (Throwable e) {
            mine = e;
        }
        int spins = 0;
        while (pending.get() != 0) {
            if (spins++ < SPINS) {
                Thread.onSpinWait();
            } else {
                LockSupport.park(this);
            }
        }
        task = null;
        Throwable f = mine != null ? mine : failure;
        if (f instanceof RuntimeException re) {
            throw re;
        }
        if (f instanceof Error err) {
            throw err;
        }
        if (f != null) {
            throw new IllegalStateException(f);
        }
    }

    private void helperLoop(int worker) {
        int seen = 0;
        while (true) {
            int spins = 0;
            int g;
            while ((g = generation) == seen) {
                if (closed) {
                    return;
                }
                if (spins++ < SPINS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            seen = g;
            if (closed) {
                return;
            }
            try {
                task.run(worker);
            } catch (Throwable e) {
                failure = e;
            }
            if (pending.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread h : helpers) {
            LockSupport.unpark(h);
        }
    }
}
