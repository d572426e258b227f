package io.slab4j.arena;

import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test seam under the arena: a region's page calls, each of which can be made to fail on
 * demand with the ENOMEM a process at {@code vm.max_map_count} sees, without exhausting
 * the machine. Counts every call, so a test can tell a retry from a spin. Thread-safe.
 */
final class FaultyPages implements Pages {
    private static final int ENOMEM = 12;

    private final VirtualRegion region;
    private final Pages real;
    volatile boolean failCommits;
    volatile boolean failDecommits;
    volatile boolean failReleases;
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

    @Override
    public void commit(long offset, long length) {
        commits.incrementAndGet();
        if (failCommits || commitsUntilFailure.getAndUpdate(n -> n >= 0 ? n - 1 : n) == 0 || randomFailure()) {
            failedCommits.incrementAndGet();
            throw injected("mprotect", offset, length);
        }
        real.commit(offset, length);
    }

    @Override
    public void decommit(long offset, long length) {
        if (failDecommits || randomFailure()) {
            failedDecommits.incrementAndGet();
            throw injected("mprotect", offset, length);
        }
        real.decommit(offset, length);
    }

    @Override
    public void release(long offset, long length) {
        if (failReleases || randomFailure()) {
            failedReleases.incrementAndGet();
            throw injected("madvise", offset, length);
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

    private NativeMemoryException injected(String call, long offset, long length) {
        return new NativeMemoryException(call, "offset=" + Hex.of(offset) + ", length=" + Hex.of(length) + " (injected)", ENOMEM);
    }

    @Override
    public String toString() {
        return "faulty " + real;
    }
}
