package io.slab4j.arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.ProcMaps;
import org.agrona.concurrent.UnsafeBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Review 19: adversarial probes of {@link Arena#retryReleases} (see RULES19.md). */
@Timeout(20)
class Review19ArenaTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static void fill(long at, long len, byte v) {
        new UnsafeBuffer(at, (int) len).setMemory(0, (int) len, v);
    }

    private static byte byteAt(long at) {
        return new UnsafeBuffer(at, 1).getByte(0);
    }

    private static void put(long at) {
        new UnsafeBuffer(at, 1).putByte(0, (byte) 1);
    }

    private static long readWrite(VirtualRegion region) {
        return ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size());
    }

    /**
     * Review 19 found that {@code retryReleases} does not retry a refused page release
     * ({@code madvise}) inside a chunk that still holds a live span, which the docs then
     * promised. It cannot safely: by the retry those pages may belong to a new span, reused as
     * they are. The docs now say what happens (Arena.free and retryReleases): such pages stay
     * resident, a span reused from them reads the old bytes, and they go with the chunk's last
     * span, whose decommit drops them.
     */
    @Test
    void aRefusedPageReleaseInALiveChunkGoesWithTheChunksLastSpan() {
        try (VirtualRegion region = VirtualRegion.reserve(16 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().fit(Fit.BEST).build(); // default chunk: the whole 16 pages are one chunk
            long a = arena.tryAlloc(2 * PAGE);
            long keep = arena.tryAlloc(PAGE); // keeps the chunk live
            fill(a, 2 * PAGE, (byte) 0x5a);
            pages.failReleases = true;
            arena.free(a, 2 * PAGE);
            pages.failReleases = false;
            assertEquals(1, arena.stats().releaseFailures());
            arena.checkInvariants();

            assertEquals(0, arena.retryReleases(), "a live chunk is not retried");
            assertEquals(1, arena.stats().releaseFailures(), "not counted again");
            long again = arena.tryAlloc(2 * PAGE);
            assertEquals(a, again, "best fit reuses the same two pages");
            assertEquals(0x5a, byteAt(again), "reused as they are: the old bytes (Arena.free)");
            arena.free(again, 2 * PAGE);

            arena.free(keep, PAGE); // the chunk's last span: its decommit drops every page
            assertEquals(0, arena.stats().accessible());
            assertEquals(0, readWrite(region));
            long fresh = arena.tryAlloc(2 * PAGE);
            assertEquals(a, fresh);
            assertEquals(0, byteAt(fresh), "the chunk's decommit dropped the pages: zeros");
            assertEquals(0, byteAt(fresh + 2 * PAGE - 1));
            arena.free(fresh, 2 * PAGE);
            arena.checkInvariants();
        }
    }

    /** Retries racing allocations, frees and toggled refusals on several threads; afterwards the books and the kernel agree. */
    @Test
    void retriesRacingChurnAndRefusalsLeaveTheBooksAndTheKernelAgreeing() throws InterruptedException {
        try (VirtualRegion region = VirtualRegion.reserve(512 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().commitChunk(PAGE).build();
            AtomicBoolean stop = new AtomicBoolean();
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            AtomicLong retried = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            CountDownLatch started = new CountDownLatch(6);
            for (int t = 0; t < 3; t++) {
                threads.add(new Thread(() -> {
                    started.countDown();
                    List<long[]> mine = new ArrayList<>();
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    try {
                        while (!stop.get()) {
                            if (mine.size() < 20 && r.nextBoolean()) {
                                long size = (1 + r.nextInt(6)) * PAGE;
                                long at = arena.tryAlloc(size);
                                if (at != 0) {
                                    put(at);
                                    put(at + size - 1);
                                    mine.add(new long[] {at, size});
                                }
                            } else if (!mine.isEmpty()) {
                                long[] s = mine.remove(r.nextInt(mine.size()));
                                arena.free(s[0], s[1]);
                            }
                        }
                        for (long[] s : mine) {
                            arena.free(s[0], s[1]);
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }, "r19-churn-" + t));
            }
            for (int t = 0; t < 2; t++) {
                threads.add(new Thread(() -> {
                    started.countDown();
                    try {
                        while (!stop.get()) {
                            retried.addAndGet(arena.retryReleases());
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }, "r19-retry-" + t));
            }
            threads.add(new Thread(() -> {
                started.countDown();
                try {
                    while (!stop.get()) {
                        pages.failDecommits = !pages.failDecommits;
                        Thread.sleep(1);
                        arena.checkInvariants();
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "r19-toggle"));
            threads.forEach(t -> {
                t.setDaemon(true);
                t.start();
            });
            started.await();
            Thread.sleep(1500);
            stop.set(true);
            for (Thread t : threads) {
                t.join(5000);
            }
            assertEquals(List.of(), errors);
            pages.failDecommits = false;
            assertEquals(0, arena.stats().allocated(), arena.stats().toString());
            long before = arena.stats().accessible();
            long released = arena.retryReleases();
            assertEquals(before - released, arena.stats().accessible());
            assertEquals(0, arena.stats().accessible(), "everything free and the OS takes it now: " + arena.stats());
            assertEquals(0, readWrite(region), "the kernel agrees");
            assertTrue(arena.stats().releaseFailures() <= pages.failedDecommits.get() + pages.failedReleases.get(),
                    "a refusal is counted at most once: " + arena.stats() + ", refused " + pages.failedDecommits.get());
            arena.checkInvariants();
        }
    }

    /** Concurrent retries while the OS still refuses: none counts again, and with it taking, the bytes each returns add up. */
    @Test
    void concurrentRetriesAddUpAndDoNotCountAgain() throws InterruptedException {
        try (VirtualRegion region = VirtualRegion.reserve(256 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().commitChunk(PAGE).build();
            long[] spans = new long[64];
            for (int i = 0; i < spans.length; i++) {
                spans[i] = arena.tryAlloc(3 * PAGE);
            }
            pages.failDecommits = true;
            for (int i = 0; i < spans.length; i += 2) {
                arena.free(spans[i], 3 * PAGE);
            }
            long failures = arena.stats().releaseFailures();
            assertEquals(32, failures);
            AtomicLong sum = new AtomicLong();
            Runnable retry = () -> {
                for (int i = 0; i < 200; i++) {
                    sum.addAndGet(arena.retryReleases());
                }
            };
            Thread[] ts = new Thread[4];
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < ts.length; i++) {
                    ts[i] = new Thread(retry);
                    ts[i].setDaemon(true);
                    ts[i].start();
                }
                if (round == 0) {
                    for (Thread t : ts) {
                        t.join();
                    }
                    assertEquals(0, sum.get());
                    assertEquals(failures, arena.stats().releaseFailures());
                    pages.failDecommits = false;
                } else {
                    for (Thread t : ts) {
                        t.join();
                    }
                }
            }
            assertEquals(32 * 3 * PAGE, sum.get(), "every stranded byte given back exactly once");
            assertEquals(32 * 3 * PAGE, arena.stats().accessible());
            assertEquals(32 * 3 * PAGE, readWrite(region));
            assertEquals(failures, arena.stats().releaseFailures());
            arena.checkInvariants();
        }
    }

    /** A region that is not a multiple of the chunk: a stranded tail chunk is retried and counted by its real length. */
    @Test
    void aStrandedShortTailChunkIsRetriedByItsLength() {
        try (VirtualRegion region = VirtualRegion.reserve(20 * PAGE)) { // default chunk 16 pages: the tail chunk has 4
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().fit(Fit.BEST).build();
            long head = arena.tryAlloc(16 * PAGE);
            long tail = arena.tryAlloc(4 * PAGE);
            assertEquals(region.address() + 16 * PAGE, tail);
            pages.failDecommits = true;
            arena.free(tail, 4 * PAGE);
            pages.failDecommits = false;
            assertEquals(20 * PAGE, arena.stats().accessible());
            assertEquals(4 * PAGE, arena.retryReleases());
            assertEquals(16 * PAGE, arena.stats().accessible());
            assertEquals(16 * PAGE, readWrite(region));
            arena.free(head, 16 * PAGE);
            assertEquals(0, arena.stats().accessible());
            assertEquals(0, readWrite(region));
            arena.checkInvariants();
        }
    }

    /** Retry racing the region's close: nothing thrown, nothing counted, 0 accessible afterwards. */
    @Test
    void retryRacingCloseOfTheRegion() throws InterruptedException {
        for (int round = 0; round < 50; round++) {
            VirtualRegion region = VirtualRegion.reserve(64 * PAGE);
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().commitChunk(PAGE).build();
            long[] spans = new long[16];
            for (int i = 0; i < spans.length; i++) {
                spans[i] = arena.tryAlloc(2 * PAGE);
            }
            pages.failDecommits = true;
            for (int i = 0; i < spans.length; i += 2) {
                arena.free(spans[i], 2 * PAGE);
            }
            pages.failDecommits = false;
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            Thread retry = new Thread(() -> {
                try {
                    for (int i = 0; i < 100; i++) {
                        arena.retryReleases();
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            retry.setDaemon(true);
            retry.start();
            region.close();
            retry.join();
            assertEquals(List.of(), errors);
            assertEquals(0, arena.retryReleases());
            for (int i = 1; i < spans.length; i += 2) {
                arena.free(spans[i], 2 * PAGE);
            }
            assertEquals(8, arena.stats().releaseFailures(), arena.stats().toString());
            assertEquals(0, arena.stats().accessible(), arena.stats().toString());
            arena.checkInvariants();
        }
    }
}
