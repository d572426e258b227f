package io.slab4j.arena;

import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test seam under the arena: a region's page calls, each of which can be made to fail on
 * demand with the ENOMEM a process at {@code vm.max_map_count} sees, without exhausting
 * the machine. Counts every call, so a test can tell a retry from a spin. A one-shot hook
 * ({@link #beforeNextCall}) runs at the start of the next page call of a kind, before it
 * reaches the region: to close the region between a span's acceptance and its page call,
 * deterministically. The region's close notice ({@link #onClose}) is forwarded, as the
 * production pages forward it, so a close releases the arena's waiters by the same path.
 * Thread-safe.
 */
final class FaultyPages implements Pages {
    private static final int ENOMEM = 12;

    private final VirtualRegion region;
    private final Pages real;
    volatile boolean failCommits;
    volatile boolean failDecommits;
    volatile boolean failReleases;
    /** Releases throw an {@link IllegalStateException} as a bug would, whether or not the region is open. */
    volatile boolean releasesThrowIllegalState;
    /** One-shot hooks: {@code "commit"}, {@code "decommit"} or {@code "release"} to the action its next call runs first. */
    private final java.util.Map<String, Runnable> hooks = new java.util.concurrent.ConcurrentHashMap<>();
    /** Percent of commits and releases that fail at random (stress runs); 0 for none. */
    volatile int failPercent;
    /** When set to n ≥ 0: the commit call after the next n fails (once). */
    final AtomicInteger commitsUntilFailure = new AtomicInteger(-1);
    final AtomicInteger commits = new AtomicInteger();
    final AtomicInteger failedCommits = new AtomicInteger();
    final AtomicInteger failedDecommits = new AtomicInteger();
    final AtomicInteger failedReleases = new AtomicInteger();

    FaultyPages(VirtualRegion region) {
        this.region = region;
        this.real = Pages.of(region);
    }

    /** An arena over the region whose page calls go through this. */
    Arena.Builder arena() {
        return Arena.builder(this, region.address(), region.size(), VirtualRegion.pageSize());
    }

    /** Runs {@code action} at the start of the next {@code call} ("commit", "decommit", "release"), once. */
    void beforeNextCall(String call, Runnable action) {
        if (!call.equals("commit") && !call.equals("decommit") && !call.equals("release")) {
            throw new IllegalArgumentException("beforeNextCall(" + call + "): expected commit, decommit or release");
        }
        hooks.put(call, action);
    }

    private void runHook(String call) {
        Runnable action = hooks.remove(call);
        if (action != null) {
            action.run();
        }
    }

    @Override
    public void commit(long offset, long length) {
        runHook("commit");
        commits.incrementAndGet();
        if (failCommits || commitsUntilFailure.getAndUpdate(n -> n >= 0 ? n - 1 : n) == 0 || randomFailure()) {
            failedCommits.incrementAndGet();
            throw injected("mprotect", offset, length);
        }
        real.commit(offset, length);
    }

    @Override
    public void decommit(long offset, long length) {
        runHook("decommit");
        if (failDecommits || randomFailure()) {
            failedDecommits.incrementAndGet();
            throw injected("mprotect", offset, length);
        }
        real.decommit(offset, length);
    }

    @Override
    public void release(long offset, long length) {
        runHook("release");
        if (failReleases || randomFailure()) {
            failedReleases.incrementAndGet();
            throw injected("madvise", offset, length);
        }
        if (releasesThrowIllegalState) {
            failedReleases.incrementAndGet();
            throw new IllegalStateException("release(offset=" + Hex.of(offset) + ", length=" + Hex.of(length)
                    + "): an injected bug");
        }
        real.release(offset, length);
    }

    private boolean randomFailure() {
        int p = failPercent;
        return p > 0 && java.util.concurrent.ThreadLocalRandom.current().nextInt(100) < p;
    }

    @Override
    public boolean isOpen() {
        return real.isOpen();
    }

    /** Forwarded: without it a close would release no waiter, and close tests would skip the production path. */
    @Override
    public void onClose(Runnable action) {
        real.onClose(action);
    }

    private NativeMemoryException injected(String call, long offset, long length) {
        return new NativeMemoryException(call, "offset=" + Hex.of(offset) + ", length=" + Hex.of(length) + " (injected)", ENOMEM);
    }

    @Override
    public String toString() {
        return "faulty " + real;
    }
}
