package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * {@code close} racing commits, prefaults, huge-page advice and decommits on other threads:
 * each call either completes on the mapped range or fails with
 * {@link IllegalStateException}; nothing else happens
 * (a call on an unmapped range would surface as a {@link NativeMemoryException} EINVAL/
 * ENOMEM, or worse, silently touch a range someone else mapped there). And close is not
 * starved: StampedLock lets readers barge past a waiting writer, and before close raised
 * its flag ahead of taking the write lock it waited 2 to 22 seconds here.
 */
class VirtualRegionCloseRaceTest {

    private static final int THREADS = 4;
    private static final int PAGES_PER_THREAD = 8;

    @Test
    void callsRacingCloseEitherCompleteOrSeeTheRegionClosed() throws InterruptedException {
        long page = VirtualRegion.pageSize();
        VirtualRegion region = VirtualRegion.reserve(THREADS * PAGES_PER_THREAD * page);
        AtomicLong calls = new AtomicLong();
        ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
        AtomicLong sawClosed = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            long base = t * PAGES_PER_THREAD * page;
            Thread thread = new Thread(() -> {
                try {
                    for (long i = 0; ; i++) {
                        long offset = base + (i % PAGES_PER_THREAD) * page;
                        region.commit(offset, page);
                        region.adviseHugePages(offset, page);
                        region.prefault(offset, page);
                        region.adviseNoHugePages(offset, page);
                        region.decommit(offset, page);
                        calls.addAndGet(5);
                    }
                } catch (IllegalStateException expected) {
                    if (expected.getMessage().endsWith(" is closed")) {
                        sawClosed.incrementAndGet();
                    } else {
                        unexpected.add(expected);
                    }
                } catch (Throwable t2) {
                    unexpected.add(t2);
                }
            }, "region-racer-" + t);
            threads.add(thread);
            thread.start();
        }

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (calls.get() < 20_000 && unexpected.isEmpty() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        long closeStart = System.nanoTime();
        region.close();
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart);
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(thread.isAlive(), thread.getName() + " still running after close");
        }

        assertTrue(unexpected.isEmpty(), () -> "unexpected: " + unexpected);
        assertEquals(THREADS, sawClosed.get(), "every racer ended on the closed region");
        assertTrue(calls.get() >= 20_000, "racers made " + calls.get() + " calls before close");
        assertFalse(region.isOpen());
        // Takes milliseconds; the bound is generous so a slow machine does not fail it.
        assertTrue(closeMillis < 5_000, "close waited " + closeMillis + " ms for the racers");
    }
}
