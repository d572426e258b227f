package io.slab4j.arena;

import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.testing.ProcMaps;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Grow advice that the kernel refuses or fails never breaks a commit or a free, through a
 * seam ({@link AdvicePages}) that answers prefault and huge-page advice as told: really,
 * "not supported" (false), or with an exception. Also where the advice goes: whole frames,
 * aligned in addresses, not offsets.
 */
class PrefaultFailureTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final long MIB = 1L << 20;
    /** A frame size for the tests that need none of the kernel's (the seam applies nothing). */
    private static final long FRAME = 2 * MIB;

    /** How the seam answers an advice call. */
    enum Answer { REAL, UNSUPPORTED, FAIL }

    /** A region's page calls whose optional advice answers as told, recording every advice call. Thread-safe. */
    static final class AdvicePages extends ForwardingPages {
        volatile Answer prefault = Answer.REAL;
        volatile Answer advice = Answer.REAL;
        final AtomicInteger prefaultCalls = new AtomicInteger();
        /** Each advice call: {offset, length, 1 for huge / 0 for no-huge}. */
        final List<long[]> adviceCalls = new CopyOnWriteArrayList<>();

        AdvicePages(Pages real) {
            super(real);
        }

        @Override
        public boolean prefault(long offset, long length) {
            prefaultCalls.incrementAndGet();
            return switch (prefault) {
                case REAL -> real.prefault(offset, length);
                case UNSUPPORTED -> false;
                case FAIL -> throw injected("MADV_POPULATE_WRITE", offset, length);
            };
        }

        @Override
        public boolean adviseHugePages(long offset, long length, boolean huge) {
            adviceCalls.add(new long[] {offset, length, huge ? 1 : 0});
            return switch (advice) {
                case REAL -> real.adviseHugePages(offset, length, huge);
                case UNSUPPORTED -> false;
                case FAIL -> throw injected(huge ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE", offset, length);
            };
        }

        private static NativeMemoryException injected(String advice, long offset, long length) {
            return new NativeMemoryException("madvise", "offset=" + Hex.of(offset) + ", length=" + Hex.of(length)
                    + ", advice=" + advice + " (injected)", 22);
        }

        @Override
        public String toString() {
            return "advice-seam " + real;
        }
    }

    /** Page calls that do nothing but count: for a fake base where no memory is touched. */
    private static final Pages NOTHING = new Pages() {
        @Override
        public void commit(long offset, long length) {
        }

        @Override
        public void decommit(long offset, long length) {
        }

        @Override
        public void release(long offset, long length) {
        }

        @Override
        public boolean isOpen() {
            return true;
        }
    };

    @Test
    void failingPrefaultAndAdviceNeverFailACommitOrAFree() {
        try (VirtualRegion region = VirtualRegion.reserve(16 * MIB)) {
            AdvicePages pages = new AdvicePages(Pages.of(region));
            pages.prefault = Answer.FAIL;
            pages.advice = Answer.FAIL;
            CommitChunks chunks = new CommitChunks(pages, region.size(), 64 * PAGE,
                    new CommitChunks.Advice(true, true, FRAME, region.address()));
            assertEquals(0, chunks.hugePageFrame(), "the baseline advice failed: no frame advice at all");
            assertEquals(1, chunks.adviceFailures());

            Arena arena = Arena.builder(pages, region.address(), region.size(), (int) PAGE)
                    .prefault(true).hugePages(true).build();
            long span = arena.tryAlloc(FRAME, FRAME);
            assertTrue(span != 0, "the commit stood");
            assertEquals(1, pages.prefaultCalls.get(), "prefault was tried");
            touchEveryPage(span, FRAME);
            arena.free(span, FRAME);
            assertEquals(0, arena.stats().releaseFailures(), "a failed advice is not a failed release");
            arena.checkInvariants();

            chunks.commit(0, FRAME);
            assertEquals(2, chunks.adviceFailures(), "the chunks' own prefault failed and was counted");
            chunks.release(0, FRAME);
            chunks.check(null, 0);
        }
    }

    @Test
    void failingAdviceOnAnAcceptedFrameIsCountedAndTheFreeStands() {
        try (VirtualRegion region = VirtualRegion.reserve(16 * MIB)) {
            AdvicePages pages = new AdvicePages(Pages.of(region));
            CommitChunks chunks = new CommitChunks(pages, region.size(), 64 * PAGE,
                    new CommitChunks.Advice(true, true, FRAME, region.address()));
            assertEquals(FRAME, chunks.hugePageFrame(), "the baseline was taken (or the kernel has THP advice)");
            long offset = ((region.address() + FRAME - 1) & -FRAME) - region.address();
            pages.advice = Answer.FAIL;
            pages.prefault = Answer.FAIL;
            chunks.commit(offset, FRAME);
            assertEquals(2, chunks.adviceFailures(), "huge-page advice and prefault both failed, quietly");
            new UnsafeBuffer(region.address() + offset, (int) FRAME).putLong((int) (FRAME - 8), 7);
            chunks.release(offset, FRAME);
            assertEquals(3, chunks.adviceFailures(), "and the no-huge-page advice of the free");
            chunks.check(null, 0);
        }
    }

    @Test
    void prefaultTheKernelLacksIsSkippedCountedAndThePagesFillOnTouch() {
        try (VirtualRegion region = VirtualRegion.reserve(16 * MIB)) {
            AdvicePages pages = new AdvicePages(Pages.of(region));
            pages.prefault = Answer.UNSUPPORTED;
            CommitChunks chunks = new CommitChunks(pages, region.size(), 64 * PAGE,
                    new CommitChunks.Advice(true, false, 0, region.address()));
            chunks.commit(0, MIB);
            assertEquals(1, chunks.adviceSkipped());
            assertEquals(0, chunks.prefaults());
            assertEquals(0, chunks.adviceFailures());
            assertEquals(0, PrefaultArenaTest.resident(region), "nothing was prefaulted");
            touchEveryPage(region.address(), MIB);
            assertEquals(MIB, PrefaultArenaTest.resident(region));
            chunks.release(0, MIB);
            assertEquals(0, PrefaultArenaTest.resident(region));
            pages.prefault = Answer.REAL;
            chunks.commit(0, MIB);
            assertEquals(ProcMaps.populateWriteExists() ? 1 : 0, chunks.prefaults());
            chunks.release(0, MIB);
        }
    }

    /** Without the baseline (the kernel has no THP advice) spans get none either: no split mappings for nothing. */
    @Test
    void hugePageAdviceTheKernelLacksIsTurnedOffAtBuild() {
        try (VirtualRegion region = VirtualRegion.reserve(16 * MIB)) {
            AdvicePages pages = new AdvicePages(Pages.of(region));
            pages.advice = Answer.UNSUPPORTED;
            CommitChunks chunks = new CommitChunks(pages, region.size(), 64 * PAGE,
                    new CommitChunks.Advice(false, true, FRAME, region.address()));
            assertEquals(0, chunks.hugePageFrame());
            assertEquals(1, chunks.adviceSkipped());
            chunks.commit(0, 4 * FRAME);
            chunks.release(0, 4 * FRAME);
            assertEquals(1, pages.adviceCalls.size(), "only the baseline was asked");
        }
    }

    /**
     * Frames are aligned in addresses: with a base 3 pages past a frame boundary, a span at
     * offset 0 holds no whole frame, and a span starting at the next boundary holds two. The
     * free advises exactly the same frames back; the baseline covers the whole range first.
     */
    @Test
    void adviceCoversTheWholeFramesOfASpanInAddressesNotOffsets() {
        long base = (1L << 40) + 3 * PAGE;
        long size = 16 * FRAME;
        AdvicePages pages = new AdvicePages(NOTHING);
        pages.advice = Answer.UNSUPPORTED; // the answer of a fake: taken as refused only for the baseline, below
        CommitChunks refused = new CommitChunks(pages, size, 64 * PAGE, new CommitChunks.Advice(false, true, FRAME, base));
        assertEquals(0, refused.hugePageFrame());

        pages = new AdvicePages(new Pages() {
            @Override
            public void commit(long offset, long length) {
            }

            @Override
            public void decommit(long offset, long length) {
            }

            @Override
            public void release(long offset, long length) {
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public boolean adviseHugePages(long offset, long length, boolean huge) {
                return true;
            }
        });
        CommitChunks chunks = new CommitChunks(pages, size, 64 * PAGE, new CommitChunks.Advice(false, true, FRAME, base));
        assertEquals(FRAME, chunks.hugePageFrame());
        assertCall(pages.adviceCalls.get(0), 0, size, false);

        chunks.commit(0, FRAME); // [base, base + FRAME) crosses a boundary: no whole frame
        assertEquals(1, pages.adviceCalls.size());
        long firstBoundary = FRAME - 3 * PAGE;
        chunks.commit(firstBoundary, 2 * FRAME + PAGE);
        assertEquals(2, pages.adviceCalls.size());
        assertCall(pages.adviceCalls.get(1), firstBoundary, 2 * FRAME, true);
        chunks.commit(firstBoundary + 3 * FRAME - PAGE, FRAME + 2 * PAGE); // one frame, starting one page in
        assertCall(pages.adviceCalls.get(2), firstBoundary + 3 * FRAME, FRAME, true);

        chunks.release(firstBoundary, 2 * FRAME + PAGE);
        assertCall(pages.adviceCalls.get(3), firstBoundary, 2 * FRAME, false);
        chunks.release(0, FRAME);
        assertEquals(4, pages.adviceCalls.size());
        chunks.release(firstBoundary + 3 * FRAME - PAGE, FRAME + 2 * PAGE);
        assertCall(pages.adviceCalls.get(4), firstBoundary + 3 * FRAME, FRAME, false);
        chunks.check(null, 0);
    }

    /** A waiter served by a free gets committed memory even when its prefault fails (the hand-over path). */
    @Test
    void aWaiterIsServedWhenItsPrefaultFails() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * MIB)) {
            AdvicePages pages = new AdvicePages(Pages.of(region));
            pages.prefault = Answer.FAIL;
            Arena arena = Arena.builder(pages, region.address(), region.size(), (int) PAGE).prefault(true).build();
            long all = arena.tryAlloc(4 * MIB);
            var waiting = Background.start("waiter", () -> {
                long span = arena.alloc(MIB, Duration.ofSeconds(10));
                new UnsafeBuffer(span, (int) MIB).putLong((int) (MIB - 8), 9); // faults unless committed
                return span;
            });
            Await.until("the alloc to wait", () -> arena.waiters() == 1);
            arena.free(all, 4 * MIB);
            long span = waiting.get(10, TimeUnit.SECONDS);
            assertEquals(9, new UnsafeBuffer(span, (int) MIB).getLong((int) (MIB - 8)));
            arena.free(span, MIB);
            arena.checkInvariants();
        }
    }

    private static void assertCall(long[] call, long offset, long length, boolean huge) {
        assertEquals(List.of(offset, length, huge ? 1L : 0L), List.of(call[0], call[1], call[2]),
                "advice call {offset, length, huge}");
    }

    private static void touchEveryPage(long address, long length) {
        UnsafeBuffer memory = new UnsafeBuffer(address, (int) length);
        for (long p = 0; p < length; p += PAGE) {
            memory.putLong((int) p, p + 1);
        }
        for (long p = 0; p < length; p += PAGE) {
            assertEquals(p + 1, memory.getLong((int) p));
        }
    }
}
