package io.slab4j.buffer;

import org.junit.jupiter.api.Test;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BufferPoolBuilderTest {

    private static void assertRejected(String fragment, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' names " + fragment);
    }

    @Test
    void settersRejectBadValuesNamingThemAndKeepTheBuilder() {
        BufferPool.Builder b = BufferPool.builder().name("builder-a").reserve(8L << 20).sizeClasses(64, 128);
        assertRejected("reserve(0)", () -> b.reserve(0));
        assertRejected("reserve(-5)", () -> b.reserve(-5));
        assertRejected("maxCommitted(-1)", () -> b.maxCommitted(-1));
        assertRejected("128", () -> b.sizeClasses(64, 128, 128));
        assertRejected("32", () -> b.sizeClasses(64, 32));
        assertRejected("-16", () -> b.sizeClasses(-16, 32));
        assertRejected("sizeClasses", () -> b.sizeClasses());
        assertRejected("name", () -> b.name(""));
        assertRejected("name", () -> b.name(null));
        assertRejected("leakDetection(null)", () -> b.leakDetection(null));
        assertRejected("idleDecay", () -> b.idleDecay(Duration.ZERO));
        int page = io.slab4j.nativemem.VirtualRegion.pageSize();
        assertRejected("commitChunk(0)", () -> b.commitChunk(0));
        assertRejected("commitChunk(-" + page + ")", () -> b.commitChunk(-page));
        assertRejected("commitChunk(" + 3 * page + ")", () -> b.commitChunk(3 * page));
        assertRejected("commitChunk(" + page / 2 + ")", () -> b.commitChunk(page / 2));
        try (BufferPool pool = b.build()) {
            assertEquals("builder-a", pool.name());
            assertEquals(64 << 10, pool.arenaCommitChunk(), "the rejected chunks left the default (64 KiB for 8 MiB)");
            assertArrayEquals(new int[] {64, 128}, pool.sizeClasses());
            assertEquals(8L << 20, pool.stats().reservedBytes());
        }
    }

    @Test
    void buildChecksTheCapAgainstTheReservationAndLeavesNothingBehind() {
        BufferPool.Builder b = BufferPool.builder().name("builder-b").reserve(4L << 20).maxCommitted(8L << 20);
        assertRejected("maxCommitted(8388608)", b::build);
        assertFalse(ManagementFactory.getPlatformMBeanServer().isRegistered(Management.objectName("builder-b")));
        b.maxCommitted(4L << 20);
        try (BufferPool pool = b.build()) {
            assertEquals(4L << 20, pool.stats().maxCommittedBytes());
        }
        BufferPool.Builder tiny = BufferPool.builder().name("builder-c").reserve(64 * 1024).sizeClasses(64, 1 << 20);
        assertRejected("1048576", tiny::build);
        BufferPool.Builder chunky = BufferPool.builder().name("builder-c").reserve(4L << 20).commitChunk(8L << 20);
        assertRejected("commitChunk(8388608)", chunky::build);
        assertFalse(ManagementFactory.getPlatformMBeanServer().isRegistered(Management.objectName("builder-c")));
        try (BufferPool pool = chunky.commitChunk(4L << 20).build()) {
            assertEquals(4L << 20, pool.arenaCommitChunk(), "a chunk as large as the reservation is allowed");
        }
    }

    @Test
    void badRequestsThrowAndLeaveThePoolUnchanged() throws InterruptedException {
        try (BufferPool pool = BufferPool.builder().name("builder-d").reserve(4L << 20).build()) {
            BufferPoolStats before = pool.stats();
            assertRejected("acquire(0)", () -> {
                try {
                    pool.acquire(0);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            assertRejected("tryAcquire(-1)", () -> pool.tryAcquire(-1));
            assertRejected("tryAcquire(4194305)", () -> pool.tryAcquire((4 << 20) + 1));
            assertThrows(NullPointerException.class, () -> pool.acquire(10, null));
            assertEquals(before.buffersInUse(), pool.stats().buffersInUse());
            PooledBuffer held = pool.acquire(64);
            // the whole reservation cannot be had while 64 B are out: zero and negative waits return null at once
            assertNull(pool.acquire(4 << 20, Duration.ZERO));
            assertNull(pool.acquire(4 << 20, Duration.ofMillis(-5)));
            assertNull(pool.tryAcquire(4 << 20));
            assertEquals(0, pool.stats().waiters());
            held.close();
            pool.trim();
            assertEquals(before.buffersInUse(), pool.stats().buffersInUse());
            assertEquals(before.committedBytes(), pool.stats().committedBytes(), () -> before + " then " + pool.stats());
            pool.checkInvariants();
        }
    }

    @Test
    void aClosedPoolRefusesAcquiresAndIsIdempotent() {
        BufferPool pool = BufferPool.builder().name("builder-e").reserve(4L << 20).build();
        pool.close();
        pool.close();
        assertTrue(pool.isClosed());
        assertThrows(IllegalStateException.class, () -> pool.tryAcquire(64));
        assertThrows(IllegalStateException.class, () -> pool.acquire(64));
        assertThrows(IllegalStateException.class, () -> pool.acquire(64, Duration.ofSeconds(1)));
        assertThrows(IllegalStateException.class, pool::trim);
    }

    @Test
    void twoOpenPoolsWithOneNameGetAClearErrorAndTheNameIsFreeAfterClose() {
        try (BufferPool first = BufferPool.builder().name("twice").reserve(4L << 20).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BufferPool.builder().name("twice").reserve(4L << 20).build());
            assertTrue(e.getMessage().contains("'twice'") && e.getMessage().contains("already open"), e.getMessage());
            assertFalse(first.isClosed());
        }
        BufferPool.builder().name("twice").reserve(4L << 20).build().close();
    }

    @Test
    void theMXBeanShowsTheFiguresAndIsUnregisteredOnClose() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName on = new ObjectName("io.slab4j:type=BufferPool,name=jmx-figures");
        try (BufferPool pool = BufferPool.builder().name("jmx-figures").reserve(16L << 20).sizeClasses(64, 4096).build()) {
            assertTrue(server.isRegistered(on));
            PooledBuffer a = pool.acquire(50);
            PooledBuffer b = pool.acquire(4000);
            PooledBuffer c = pool.acquire(10_000);
            assertEquals(16L << 20, server.getAttribute(on, "ReservedBytes"));
            assertEquals(64L + 4096 + 12288, server.getAttribute(on, "UsedBytes"));
            assertEquals(3L, server.getAttribute(on, "BuffersInUse"));
            assertEquals(0, server.getAttribute(on, "Waiters"));
            assertEquals(0L, server.getAttribute(on, "LeaksDetected"));
            long committed = (Long) server.getAttribute(on, "CommittedBytes");
            assertTrue(committed >= 64 + 4096 + 12288 && committed <= 16L << 20, "committed " + committed);
            assertEquals(pool.stats().committedBytes(), committed);
            long accessible = (Long) server.getAttribute(on, "AccessibleBytes");
            assertTrue(accessible >= committed, "accessible " + accessible + ", committed " + committed);
            assertEquals(pool.stats().accessibleBytes(), accessible);
            assertEquals(0L, server.getAttribute(on, "CommitFailures"));
            assertArrayEquals(new int[] {64, 4096}, (int[]) server.getAttribute(on, "SizeClasses"));
            assertArrayEquals(new long[] {1, 1}, (long[]) server.getAttribute(on, "SizeClassBuffersInUse"));
            a.close();
            b.close();
            c.close();
            assertEquals(0L, server.getAttribute(on, "BuffersInUse"));
            assertEquals(0L, server.getAttribute(on, "UsedBytes"));
        }
        assertFalse(server.isRegistered(on));
    }
}
