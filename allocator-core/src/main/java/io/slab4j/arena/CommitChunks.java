package io.slab4j.arena;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Commit chunks: the {@link Backing} of an arena over a region. Every {@code mprotect(2)}
 * boundary splits a kernel mapping and a process may hold only {@code vm.max_map_count}
 * of them, so protections change only in whole aligned chunks: a chunk is readable and
 * writable while any live span overlaps it, and a span freed inside a live chunk only has
 * its pages dropped ({@code madvise(MADV_DONTNEED)}, madvise(2)), which splits nothing.
 * Resident memory still follows use; the region never holds more mappings than chunks.
 *
 * <pre>
 *   offset 0        chunk         2 chunks       3 chunks
 *   |== rw: spans 2 ==|-- none: 0 --|== rw: spans 1 ==|
 *     [span][released][span]           [span][released]
 * </pre>
 *
 * <p>Terms: chunk {@code k} is {@code [k * chunk, min((k + 1) * chunk, size))} of the
 * range; {@code spans[k]} counts the live spans overlapping it; {@code accessible[k]}
 * says whether it is protected read-write.
 *
 * <p>Invariants ({@link #check}): {@code spans[k] >= 0}; {@code spans[k] > 0} implies
 * {@code accessible[k]}; {@link #accessibleBytes} is the size of the accessible chunks.
 * A chunk with no spans is normally inaccessible; it stays accessible only after its
 * decommit failed, and is then reused as it is or decommitted when its next span goes.
 *
 * <p>Concurrency: thread-safe. One lock guards the counts and is held across the page
 * calls, so a chunk's count and its protection change together: a commit that revives a
 * chunk cannot be overtaken by the decommit of the free that emptied it. The arena calls
 * in without its own lock; {@link #check} runs under the arena lock (lock order: arena,
 * then chunks). Protection changes are serialised anyway by the kernel's mmap lock.
 */
final class CommitChunks implements Backing {
    private final Pages pages;
    private final long size;
    private final long chunk;
    private final int shift;
    private final ReentrantLock lock = new ReentrantLock();
    /** Live spans overlapping chunk k; guarded by {@link #lock}. */
    private final int[] spans;
    /** Whether chunk k is protected read-write; guarded by {@link #lock}. */
    private final boolean[] accessible;
    /** Total size of the accessible chunks; guarded by {@link #lock}, read racily by stats. */
    private volatile long accessibleBytes;

    CommitChunks(Pages pages, long size, long chunk) {
        this.pages = pages;
        this.size = size;
        this.chunk = chunk;
        this.shift = Long.numberOfTrailingZeros(chunk);
        int chunks = (int) ((size + chunk - 1) >>> shift);
        this.spans = new int[chunks];
        this.accessible = new boolean[chunks];
    }

    /**
     * Counts the span in every chunk it overlaps and protects read-write those that were
     * inaccessible, in runs of adjacent chunks (one call a run). On failure the chunks
     * this call made accessible are decommitted again where no span holds them, and the
     * span is not counted.
     */
    @Override
    public void commit(long offset, long length) {
        int first = (int) (offset >>> shift);
        int last = (int) ((offset + length - 1) >>> shift);
        lock.lock();
        try {
            if (!pages.isOpen()) { // chunks still accessible need no page call, but their memory is gone
                throw new IllegalStateException("commit(offset=" + Hex.of(offset) + ", length=" + Hex.of(length)
                        + "): " + pages + " is closed");
            }
            int k = first;
            try {
                while (k <= last) {
                    if (accessible[k]) {
                        k++;
                        continue;
                    }
                    int end = k;
                    while (end < last && !accessible[end + 1]) {
                        end++;
                    }
                    pages.commit(start(k), start(end + 1) - start(k));
                    setAccessible(k, end, true);
                    k = end + 1;
                }
            } catch (RuntimeException e) {
                decommitIdle(first, k - 1, e);
                throw e;
            }
            for (k = first; k <= last; k++) {
                spans[k]++;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Uncounts the span; chunks it leaves empty are decommitted (pages dropped, protection
     * none), and in chunks still live its pages are released. Runs of adjacent chunks with
     * the same action are one call. Throws the first failure after trying everything;
     * a chunk whose decommit failed stays accessible.
     */
    @Override
    public void release(long offset, long length) {
        int first = (int) (offset >>> shift);
        int last = (int) ((offset + length - 1) >>> shift);
        RuntimeException failure = null;
        lock.lock();
        try {
            for (int k = first; k <= last; k++) {
                if (spans[k] <= 0) {
                    throw new IllegalStateException("commit chunk " + k + " has no live span to release at offset "
                            + Hex.of(offset));
                }
            }
            for (int k = first; k <= last; k++) {
                spans[k]--;
            }
            failure = decommitIdle(first, last, null);
            int k = first;
            while (k <= last) {
                if (spans[k] == 0) {
                    k++;
                    continue;
                }
                int end = k;
                while (end < last && spans[end + 1] > 0) {
                    end++;
                }
                long from = Math.max(offset, start(k));
                long to = Math.min(offset + length, start(end + 1));
                try {
                    pages.release(from, to - from);
                } catch (RuntimeException e) {
                    failure = addFailure(failure, e);
                }
                k = end + 1;
            }
        } finally {
            lock.unlock();
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Under the lock: decommits the accessible chunks of [first, last] that no span holds; returns the failures. */
    private RuntimeException decommitIdle(int first, int last, RuntimeException failure) {
        int k = first;
        while (k <= last) {
            if (spans[k] != 0 || !accessible[k]) {
                k++;
                continue;
            }
            int end = k;
            while (end < last && spans[end + 1] == 0 && accessible[end + 1]) {
                end++;
            }
            try {
                pages.decommit(start(k), start(end + 1) - start(k));
                setAccessible(k, end, false);
            } catch (RuntimeException e) {
                failure = addFailure(failure, e); // stays accessible: reused as it is, or decommitted with its next span
            }
            k = end + 1;
        }
        return failure;
    }

    private void setAccessible(int first, int last, boolean value) {
        long bytes = accessibleBytes;
        for (int k = first; k <= last; k++) {
            if (accessible[k] != value) {
                accessible[k] = value;
                long length = start(k + 1) - start(k);
                bytes += value ? length : -length;
            }
        }
        accessibleBytes = bytes;
    }

    private long start(int k) {
        return Math.min((long) k << shift, size);
    }

    /** The first failure, with later ones suppressed into it: the one "first failure plus suppressed" helper of the package. */
    static RuntimeException addFailure(RuntimeException failure, RuntimeException e) {
        if (failure == null) {
            return e;
        }
        if (failure != e) {
            failure.addSuppressed(e);
        }
        return failure;
    }

    @Override
    public boolean touchesMemory() {
        return true;
    }

    @Override
    public boolean isOpen() {
        return pages.isOpen();
    }

    @Override
    public long accessibleBytes() {
        return accessibleBytes;
    }

    @Override
    public long chunkBytes() {
        return chunk;
    }

    int chunks() {
        return spans.length;
    }

    @Override
    public void check(TagTable segments, int quantumShift) {
        int[] liveSpansPerChunk = segments == null ? null : liveSpansPerChunk(segments, quantumShift);
        lock.lock();
        try {
            long bytes = 0;
            for (int k = 0; k < spans.length; k++) {
                if (spans[k] < 0 || (spans[k] > 0 && !accessible[k])) {
                    throw new IllegalStateException("arena invariant broken: commit chunk " + k + " has " + spans[k]
                            + " live spans and is " + (accessible[k] ? "accessible" : "inaccessible"));
                }
                if (liveSpansPerChunk != null && liveSpansPerChunk[k] != spans[k]) {
                    throw new IllegalStateException("arena invariant broken: commit chunk " + k + " counts " + spans[k]
                            + " live spans, the segments hold " + liveSpansPerChunk[k]);
                }
                if (accessible[k]) {
                    bytes += start(k + 1) - start(k);
                }
            }
            if (bytes != accessibleBytes) {
                throw new IllegalStateException("arena invariant broken: accessible chunks hold " + bytes
                        + " bytes, the count says " + accessibleBytes);
            }
        } finally {
            lock.unlock();
        }
    }

    /** How many allocated spans of {@code segments} overlap each chunk. */
    private int[] liveSpansPerChunk(TagTable segments, int quantumShift) {
        int[] perChunk = new int[spans.length];
        segments.forEachSpan((start, length) -> {
            long from = (long) start << quantumShift;
            long to = (long) (start + length) << quantumShift;
            for (long k = from >>> shift; k <= (to - 1) >>> shift; k++) {
                perChunk[(int) k]++;
            }
        });
        return perChunk;
    }

    @Override
    public String toString() {
        return "commit chunks of " + chunk + " bytes over " + pages;
    }
}
