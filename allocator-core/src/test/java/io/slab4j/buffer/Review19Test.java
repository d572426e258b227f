package io.slab4j.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.slab4j.arena.FailingCommits;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.ProcMaps;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Review 19: adversarial probes of trim/decay retries and of raw marks of large spans (see RULES19.md). */
@Timeout(20)
class Review19Test {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final AtomicInteger SEQ = new AtomicInteger();

    /** A raw holder that remembers what it got (Review8Test's). */
    static final class Holder extends Review8Test.Box {
    }

    private static long readWrite(BufferPool p) {
        return ProcMaps.readWriteBytesWithin(p.regionAddress(), p.regionAddress() + p.stats().reservedBytes());
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    // ---------------------------------------------------------------- retries

    /** Trims on two threads racing churn of large and small buffers while decommits are refused on and off. */
    @Test
    void trimRetriesRacingChurnAndRefusalsLeaveBooksAndKernelAgreeing() throws InterruptedException {
        for (long chunk : new long[] {PAGE, 64 << 10}) {
            FailingCommits seam = new FailingCommits();
            BufferPool.Builder b = BufferPool.builder().name("r19-churn-" + SEQ.incrementAndGet()).reserve(24L << 20)
                    .commitChunk(chunk).idleDecay(Duration.ofMillis(5));
            try (BufferPool p = PoolSeams.failingCommits(b, seam).build()) {
                AtomicBoolean stop = new AtomicBoolean();
                List<Throwable> errors = new CopyOnWriteArrayList<>();
                List<Thread> ts = new ArrayList<>();
                for (int t = 0; t < 3; t++) {
                    ts.add(daemon("r19-churn", () -> {
                        ThreadLocalRandom r = ThreadLocalRandom.current();
                        List<PooledBuffer> mine = new ArrayList<>();
                        try {
                            while (!stop.get()) {
                                if (mine.size() < 12 && r.nextBoolean()) {
                                    int size = r.nextBoolean() ? 1 + r.nextInt(4096) : (int) ((17 + r.nextInt(30)) * PAGE);
                                    PooledBuffer x = p.tryAcquire(size);
                                    if (x != null) {
                                        x.byteBuffer().put(0, (byte) 1);
                                        mine.add(x);
                                    }
                                } else if (!mine.isEmpty()) {
                                    mine.remove(r.nextInt(mine.size())).close();
                                }
                            }
                            mine.forEach(PooledBuffer::close);
                        } catch (Throwable e) {
                            errors.add(e);
                        }
                    }));
                }
                for (int t = 0; t < 2; t++) {
                    ts.add(daemon("r19-trim", () -> {
                        try {
                            while (!stop.get()) {
                                p.trim();
                            }
                        } catch (Throwable e) {
                            errors.add(e);
                        }
                    }));
                }
                ts.add(daemon("r19-toggle", () -> {
                    try {
                        while (!stop.get()) {
                            seam.failDecommits(ThreadLocalRandom.current().nextBoolean());
                            Thread.sleep(1);
                            p.checkInvariants();
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
                Thread.sleep(1500);
                stop.set(true);
                for (Thread t : ts) {
                    t.join(5000);
                }
                assertEquals(List.of(), errors);
                seam.failDecommits(false);
                p.trim();
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse());
                if (chunk == PAGE) {
                    assertEquals(s.committedBytes(), s.accessibleBytes(), "page chunks at rest after trim: " + s);
                }
                assertEquals(s.accessibleBytes(), readWrite(p), "the kernel agrees: " + s);
                p.checkInvariants();
            }
        }
    }

    /** Trims racing close: a trim either runs or throws IllegalStateException; after close nothing stays read-write. */
    @Test
    void trimRetriesRacingCloseThrowOnlyIllegalState() throws Exception {
        for (int round = 0; round < 20; round++) {
            FailingCommits seam = new FailingCommits();
            BufferPool.Builder b = BufferPool.builder().name("r19-close-" + SEQ.incrementAndGet()).reserve(8L << 20)
                    .commitChunk(PAGE);
            BufferPool p = PoolSeams.failingCommits(b, seam).build();
            long base = p.regionAddress();
            List<PooledBuffer> bufs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                bufs.add(p.acquire((int) (20 * PAGE)));
            }
            seam.failDecommits(true);
            for (int i = 0; i < bufs.size(); i += 2) {
                bufs.get(i).close();
            }
            for (int i = 1; i < bufs.size(); i += 2) {
                bufs.get(i).close(); // none open at the close: an open one keeps its pages readable (zeros), as documented
            }
            seam.failDecommits(false);
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            CyclicBarrier go = new CyclicBarrier(3);
            Runnable trims = () -> {
                try {
                    go.await();
                    for (int i = 0; i < 200; i++) {
                        try {
                            p.trim();
                        } catch (IllegalStateException closed) {
                            return;
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            };
            Thread t1 = daemon("r19-trim1", trims);
            Thread t2 = daemon("r19-trim2", trims);
            go.await();
            p.close();
            t1.join();
            t2.join();
            assertEquals(List.of(), errors);
            assertEquals(0, ProcMaps.readWriteBytesWithin(base, base + (8L << 20)), "round " + round);
        }
    }

    // ---------------------------------------------------------------- raw marks

    private static final int[][] CLASSES = {
        {64, 256, 1024},            // largest below a page
        {64, 4096},                 // exactly a page
        {64, 4096, 28 << 10},       // 28 KiB
        {64, 4096, 64 << 10},       // 64 KiB
        {64, 4096, 1 << 20},        // 1 MiB
    };
    private static final long[] RESERVES = {(33L << 20) + 3 * PAGE, (40L << 20) + PAGE, (17L << 20) + 5 * PAGE};

    /**
     * Every raw large span of the smallest large size, packed from the start to the end of a
     * reservation that is not a multiple of 32 MiB: each released once, a second release and
     * a rawView after release refused, the pool sound.
     */
    @Test
    void rawLargeSpansAcrossTheWholeRegionInUnusualPools() {
        for (int[] classes : CLASSES) {
            for (long reserve : RESERVES) {
                int largest = classes[classes.length - 1];
                int size = largest + 1;
                try (BufferPool p = BufferPool.builder().name("r19-raw-" + SEQ.incrementAndGet()).reserve(reserve)
                        .sizeClasses(classes).leakDetection(LeakDetection.OFF).build()) {
                    String what = "classes up to " + largest + ", reserve " + reserve;
                    long base = p.regionAddress();
                    long end = base + p.stats().reservedBytes();
                    List<Holder> held = new ArrayList<>();
                    for (;;) {
                        Holder h = new Holder();
                        if (!p.tryAcquireRaw(size, h)) {
                            break;
                        }
                        held.add(h);
                        assertTrue(h.address >= base && h.address + h.capacity <= end, what);
                        p.rawView(h, h.token, h.address).put(h.capacity - 1, (byte) 7);
                    }
                    long lowest = held.stream().mapToLong(h -> h.address).min().orElseThrow();
                    long highest = held.stream().mapToLong(h -> h.address + h.capacity).max().orElseThrow();
                    assertEquals(base, lowest, what + ": a span at the very start");
                    assertTrue(end - highest < held.get(0).capacity, what + ": a span at the very end");
                    p.checkInvariants();
                    // release in an order that mixes the ends
                    for (int i = 0; i < held.size(); i++) {
                        Holder h = held.get(i % 2 == 0 ? i / 2 : held.size() - 1 - i / 2);
                        p.releaseRaw(h, h.token, h.address);
                        assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(h, h.token, h.address),
                                what + ": second release");
                        assertThrows(IllegalArgumentException.class, () -> p.rawView(h, h.token, h.address),
                                what + ": view after release");
                    }
                    assertEquals(0, p.stats().buffersInUse(), what);
                    p.checkInvariants();
                    p.trim();
                    // the spans again, now to handles: a stale raw release of a handle's span is refused
                    List<PooledBuffer> handles = new ArrayList<>();
                    PooledBuffer x;
                    while ((x = p.tryAcquire(size)) != null) {
                        handles.add(x);
                    }
                    for (Holder h : held) {
                        assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(h, h.token, h.address),
                                what + ": stale release of a span a handle holds");
                    }
                    assertEquals(handles.size(), p.stats().buffersInUse(), what);
                    handles.forEach(PooledBuffer::close);
                    p.checkInvariants();
                }
            }
        }
    }

    /** Racing double releases of one raw large span: exactly one wins, in pools of every unusual class layout. */
    @Test
    void racingRawReleasesOfLargeSpansOneWins() throws Exception {
        for (int[] classes : CLASSES) {
            int largest = classes[classes.length - 1];
            try (BufferPool p = BufferPool.builder().name("r19-race-" + SEQ.incrementAndGet()).reserve((33L << 20) + PAGE)
                    .sizeClasses(classes).leakDetection(LeakDetection.OFF).build()) {
                for (int round = 0; round < 300; round++) {
                    int size = largest + 1 + ThreadLocalRandom.current().nextInt(3 * (int) PAGE);
                    Holder h = new Holder();
                    assertTrue(p.tryAcquireRaw(size, h));
                    AtomicInteger wins = new AtomicInteger();
                    AtomicInteger refused = new AtomicInteger();
                    List<Throwable> errors = new CopyOnWriteArrayList<>();
                    CyclicBarrier go = new CyclicBarrier(3);
                    Runnable rel = () -> {
                        try {
                            go.await();
                            p.releaseRaw(h, h.token, h.address);
                            wins.incrementAndGet();
                        } catch (IllegalArgumentException e) {
                            refused.incrementAndGet();
                        } catch (Throwable e) {
                            errors.add(e);
                        }
                    };
                    Thread a = daemon("r19-rel-a", rel);
                    Thread c = daemon("r19-rel-b", rel);
                    Thread d = daemon("r19-rel-c", rel);
                    a.join();
                    c.join();
                    d.join();
                    assertEquals(List.of(), errors);
                    assertEquals(1, wins.get(), "classes up to " + largest + ", round " + round);
                    assertEquals(2, refused.get());
                    assertEquals(0, p.stats().buffersInUse());
                }
                p.checkInvariants();
            }
        }
    }
}
