package io.slab4j.arena;

import io.slab4j.nativemem.VirtualRegion;

import java.util.ArrayList;
import java.util.List;

/**
 * Test seam for layers above the arena (the buffer pool's tests): builds an arena whose
 * commits (or decommits) fail on demand ({@link FaultyPages}), over whichever region the layer reserves.
 * One arena per instance. Thread-safe.
 */
public final class FailingCommits {
    private volatile FaultyPages pages;

    /** The arena builder over {@code region}, whose page calls go through this seam. */
    public Arena.Builder arenaOver(VirtualRegion region) {
        FaultyPages p = new FaultyPages(region);
        pages = p;
        return p.arena();
    }

    /** Every commit fails with ENOMEM while {@code on}. */
    public void failAll(boolean on) {
        pages().failCommits = on;
    }

    /** Every decommit (free chunks made inaccessible) fails with ENOMEM while {@code on}, as at {@code vm.max_map_count}. */
    public void failDecommits(boolean on) {
        pages().failDecommits = on;
    }

    /** The commit after the next {@code n} fails, once. */
    public void failAfter(int n) {
        pages().commitsUntilFailure.set(n);
    }

    /** Commits failed so far. */
    public int failed() {
        return pages().failedCommits.get();
    }

    /** The live threads of the arenas' shared commit retry (at most one, while retries are due). */
    public static List<Thread> retryThreads() {
        List<Thread> out = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith(Handover.RETRY_THREAD) && t.isAlive()) {
                out.add(t);
            }
        }
        return out;
    }

    private FaultyPages pages() {
        FaultyPages p = pages;
        if (p == null) {
            throw new IllegalStateException("no arena was built through this seam yet");
        }
        return p;
    }
}
