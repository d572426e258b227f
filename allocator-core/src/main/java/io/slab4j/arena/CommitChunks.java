package io.slab4j.arena;

import io.slab4j.event.Failures;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
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
 * decommit failed (it is then <em>stranded</em>: {@code stranded[k]} exactly when
 * {@code accessible[k]} and {@code spans[k] == 0}), and is then reused as it is, decommitted
 * when its next span goes, or decommitted by {@link #retryReleases} once the kernel takes it.
 * At {@code vm.max_map_count} the kernel refuses a protection change that would split a
 * mapping, but not one that merges a chunk with inaccessible neighbours, so a chunk refused
 * while its neighbours were live is usually taken later, when they have gone.
 *
 * <p><b>Gone memory</b>: once the region is closed (unmapped) every page call is refused
 * with an {@link IllegalStateException}, having done nothing. A release or decommit refused
 * so is moot rather than failed: the memory went with the unmap, nothing stays committed,
 * and the OS refused nothing. It is not thrown (so the arena neither counts nor warns), a
 * chunk it would have decommitted is marked inaccessible, and the bookkeeping goes on as
 * after a release that worked; grow advice refused so is skipped uncounted. A refusal is
 * taken for gone memory only when it is an {@code IllegalStateException} <em>and</em> the
 * pages report closed afterwards ({@link #gone}): the region refuses a call for this reason
 * only after reading its volatile closed flag as set, and the flag is never cleared, so the
 * same thread's later {@code isOpen()} sees it closed. Any other failure, and an
 * {@code IllegalStateException} while the region is open (a bug), counts as before. (A bug's
 * {@code IllegalStateException} thrown just before a close would be taken for gone memory:
 * harmless, as the unmap takes whatever that call left committed.)
 *
 * <h2>Grow advice ({@link Advice}, chosen in {@link Arena.Builder#prefault} and
 * {@link Arena.Builder#hugePages})</h2>
 * Best effort on top of a commit that has already succeeded: whatever the kernel answers,
 * the commit stands (a refusal is counted, the first one per arena logged, never thrown).
 * <ul>
 *   <li><b>prefault</b>: after its chunks are accessible, the span itself (not the whole
 *       chunk: its other pages may belong to nobody) is populated in one call, {@code
 *       madvise(MADV_POPULATE_WRITE)}. Every span, every commit, also a span carved inside a
 *       chunk that was already accessible (its pages were released with the last span there).
 *       Where the kernel lacks it (before Linux 5.14) pages fill on first touch, as without.
 *   <li><b>huge pages</b>: a <em>frame</em> is a {@code hugePageSize}-aligned run of
 *       addresses (absolute, not offsets: the base need not be aligned). At build the whole
 *       range is advised {@code MADV_NOHUGEPAGE}; a committed span's whole frames are advised
 *       {@code MADV_HUGEPAGE} before the prefault, and {@code MADV_NOHUGEPAGE} again when it
 *       is freed, after its pages are dropped. So only spans holding a whole frame (at least
 *       2 MiB on x86-64, and aligned: allocate them at {@code hugePageSize} alignment) get huge
 *       pages, never a small span (THP {@code always} included), and a frame's advice is
 *       changed only by the one live span that holds it. Advice is a mapping flag, so it
 *       splits mappings like a protection change, and only at frame boundaries. With the
 *       baseline flag equal everywhere else the kernel may merge them back on free, but it
 *       keeps two neighbours apart once both have been touched (each has its own anon_vma),
 *       so count each frame boundary as a possible split for good: the region holds at most
 *       {@code chunks + size / hugePageSize} mappings (for 1 GiB at the default chunk:
 *       8192 + 512). Where the base is frame aligned ({@code VirtualRegion.reserve(bytes,
 *       alignment)}) and the chunk at most a frame, frame boundaries are chunk boundaries
 *       and the bound stays {@code chunks}.
 * </ul>
 *
 * <p>Concurrency: thread-safe. One lock guards the counts and is held across the page
 * calls, so a chunk's count and its protection change together: a commit that revives a
 * chunk cannot be overtaken by the decommit of the free that emptied it. The arena calls
 * in without its own lock; {@link #check} runs under the arena lock (lock order: arena,
 * then chunks). Protection changes are serialised anyway by the kernel's mmap lock. The
 * grow advice of a commit runs after the lock is released (a prefault of 2 MiB takes tens of
 * microseconds, which other commits and frees need not wait for): it touches only the span,
 * which the calling thread alone holds and whose chunks its count keeps accessible. The
 * advice counters are atomics, read racily by tests and {@link #toString}.
 */
final class CommitChunks implements Backing {
    private static final System.Logger LOG = System.getLogger(Arena.class.getName());

    /**
     * What a commit does beyond making the span accessible. Immutable.
     *
     * @param prefault      populate each committed span at once
     * @param hugePages     give spans' whole huge-page frames huge-page advice
     * @param hugePageSize  the kernel's transparent huge page size, 0 when it has none
     * @param base          the arena's base address, which frames are aligned against
     */
    record Advice(boolean prefault, boolean hugePages, long hugePageSize, long base) {
        static final Advice NONE = new Advice(false, false, 0, 0);

        boolean requested() {
            return prefault || hugePages;
        }

        @Override
        public String toString() {
            return "prefault=" + prefault + ", hugePages=" + hugePages;
        }
    }

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
    /** The stranded chunks (class comment); guarded by {@link #lock}. */
    private final BitSet stranded = new BitSet();

    /** Whether commits prefault their span; never changes. */
    private final boolean prefault;
    /** The frame size when spans get huge-page advice, else 0 (also when the baseline advice was refused); never changes. */
    private final long frame;
    /** The arena's base address: frames are aligned in addresses, not offsets. */
    private final long base;
    /** Spans prefaulted; advice calls the kernel could not take (it lacks the advice); advice calls that threw. */
    private final AtomicLong prefaults = new AtomicLong();
    private final AtomicLong adviceSkipped = new AtomicLong();
    private final AtomicLong adviceFailures = new AtomicLong();
    /** Set by the first advice failure, which alone is logged. */
    private final AtomicBoolean failureLogged = new AtomicBoolean();

    CommitChunks(Pages pages, long size, long chunk) {
        this(pages, size, chunk, Advice.NONE);
    }

    /** Over {@code pages}; with huge-page advice, advises the whole range {@code MADV_NOHUGEPAGE} (the baseline) now. */
    CommitChunks(Pages pages, long size, long chunk, Advice advice) {
        this.pages = pages;
        this.size = size;
        this.chunk = chunk;
        this.shift = Long.numberOfTrailingZeros(chunk);
        int chunks = (int) ((size + chunk - 1) >>> shift);
        this.spans = new int[chunks];
        this.accessible = new boolean[chunks];
        this.prefault = advice.prefault();
        this.base = advice.base();
        long hugePage = advice.hugePages() ? advice.hugePageSize() : 0;
        if (hugePage > 0 && !advise(0, size, false)) {
            hugePage = 0; // without the baseline, frame advice would leave mappings split: no huge pages at all
        }
        this.frame = hugePage;
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
            unstrand(first, last); // reused as they are
        } finally {
            lock.unlock();
        }
        if (frame != 0 || prefault) {
            grow(offset, length);
        }
    }

    /**
     * The grow advice of a committed span (class comment): huge-page advice on its whole
     * frames, then the prefault. Never throws: the commit has succeeded whatever happens here.
     */
    private void grow(long offset, long length) {
        if (frame != 0) {
            long from = framesFrom(offset);
            long to = framesTo(offset + length);
            if (to > from) {
                advise(from, to - from, true);
            }
        }
        if (prefault) {
            try {
                if (pages.prefault(offset, length)) {
                    prefaults.incrementAndGet();
                } else {
                    adviceSkipped.incrementAndGet();
                }
            } catch (RuntimeException e) {
                if (!gone(e)) {
                    adviceFailed("prefault", offset, length, e);
                }
            }
        }
    }

    /** Huge-page advice on [offset, offset + length); true when taken. Never throws. */
    private boolean advise(long offset, long length, boolean huge) {
        try {
            if (pages.adviseHugePages(offset, length, huge)) {
                return true;
            }
            adviceSkipped.incrementAndGet();
        } catch (RuntimeException e) {
            if (!gone(e)) {
                adviceFailed(huge ? "huge-page advice" : "no-huge-page advice", offset, length, e);
            }
        }
        return false;
    }

    private void adviceFailed(String what, long offset, long length, RuntimeException e) {
        adviceFailures.incrementAndGet();
        if (failureLogged.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, what + " of offset " + Hex.of(offset) + ", length " + Hex.of(length)
                    + " on " + this + " failed; the memory works without it (counted from now on, not logged again)", e);
        }
    }

    /** Offset of the first frame boundary at or after {@code offset}. */
    private long framesFrom(long offset) {
        return ((base + offset + frame - 1) & -frame) - base;
    }

    /** Offset of the last frame boundary at or before {@code offset}. */
    private long framesTo(long offset) {
        return ((base + offset) & -frame) - base;
    }

    /**
     * Uncounts the span; chunks it leaves empty are decommitted (pages dropped, protection
     * none), and in chunks still live its pages are released. Runs of adjacent chunks with
     * the same action are one call. Throws the first failure after trying everything;
     * a chunk whose decommit failed stays accessible. Calls the closed region refused are
     * not failures (gone memory, class comment).
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
                    if (!gone(e)) {
                        failure = Failures.merge(failure, e);
                    }
                }
                k = end + 1;
            }
            if (frame != 0) { // under the lock, before the span can be carved again: its frames go back to the baseline
                long from = framesFrom(offset);
                long to = framesTo(offset + length);
                if (to > from) {
                    advise(from, to - from, false);
                }
            }
        } finally {
            lock.unlock();
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Under the lock: decommits the accessible chunks of [first, last] that no span holds;
     * returns the failures. A run the closed region refused is marked inaccessible, as its
     * memory is gone (class comment), and is no failure.
     */
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
                if (gone(e)) {
                    setAccessible(k, end, false);
                } else {
                    failure = Failures.merge(failure, e); // stays accessible: reused as it is, or decommitted later
                    stranded.set(k, end + 1);
                }
            }
            k = end + 1;
        }
        return failure;
    }

    /**
     * Whether {@code e}, thrown by a page call, only says that the memory is gone: an
     * {@link IllegalStateException} while the pages report closed (class comment). Logged at
     * DEBUG, since nobody is told otherwise.
     */
    private boolean gone(RuntimeException e) {
        if (!(e instanceof IllegalStateException) || pages.isOpen()) {
            return false;
        }
        LOG.log(System.Logger.Level.DEBUG, () -> "a page call on " + this + " was refused: the region is closed, its"
                + " memory went with it (" + e.getMessage() + ")");
        return true;
    }

    /**
     * Decommits the stranded chunks (class comment) as a release does ({@link #decommitIdle}),
     * in runs of adjacent ones; returns the bytes made inaccessible (not those of a closed
     * region, marked inaccessible as gone). A run the kernel still refuses stays as it is, for
     * a later call: its failure was counted and logged when it was first refused, so it is
     * neither thrown nor logged again (at DEBUG only). Cheap when nothing is stranded: the lock
     * and an empty set.
     */
    @Override
    public long retryReleases() {
        lock.lock();
        try {
            long released = 0;
            int k = stranded.nextSetBit(0);
            while (k >= 0) {
                int first = k;
                int last = stranded.nextClearBit(k) - 1;
                long before = accessibleBytes;
                RuntimeException refused = decommitIdle(first, last, null);
                if (refused != null) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "decommit of stranded chunks " + first + ".." + last + " on "
                            + this + " refused again: " + refused.getMessage());
                } else if (pages.isOpen()) {
                    released += before - accessibleBytes;
                }
                k = stranded.nextSetBit(last + 1);
            }
            return released;
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: chunks {@code first..last} are no longer stranded (a span holds them, or they went inaccessible). */
    private void unstrand(int first, int last) {
        stranded.clear(first, last + 1);
    }

    private void setAccessible(int first, int last, boolean value) {
        if (!value) {
            unstrand(first, last);
        }
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


    @Override
    public boolean touchesMemory() {
        return true;
    }

    @Override
    public boolean isOpen() {
        return pages.isOpen();
    }

    @Override
    public void onClose(Runnable action) {
        pages.onClose(action);
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

    /** Spans prefaulted so far. */
    long prefaults() {
        return prefaults.get();
    }

    /** Prefaults and huge-page advice the kernel could not take (it lacks the advice). */
    long adviceSkipped() {
        return adviceSkipped.get();
    }

    /** Prefaults and huge-page advice that failed (and were swallowed: the commit or free stood). */
    long adviceFailures() {
        return adviceFailures.get();
    }

    /** The frame size spans are advised in, 0 when they get no huge-page advice. */
    long hugePageFrame() {
        return frame;
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
                if (stranded.get(k) != (accessible[k] && spans[k] == 0)) {
                    throw new IllegalStateException("arena invariant broken: commit chunk " + k + " has " + spans[k]
                            + " live spans, is " + (accessible[k] ? "accessible" : "inaccessible") + " and is "
                            + (stranded.get(k) ? "" : "not ") + "marked stranded");
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
        return "commit chunks of " + chunk + " bytes" + (prefault ? ", prefault" : "")
                + (frame != 0 ? ", huge pages of " + frame + " bytes" : "") + " over " + pages;
    }
}
