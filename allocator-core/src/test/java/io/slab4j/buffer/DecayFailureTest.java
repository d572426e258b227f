package io.slab4j.buffer;

import io.slab4j.testing.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The amortised decay pass runs inside an acquire that already holds its memory: a pass that
 * fails must not fail that acquire (its memory would be lost, counted in use for ever). It is
 * logged, and the next pass runs as usual.
 */
@Timeout(60)
class DecayFailureTest {
    @Test
    void aFailedDecayPassNeitherFailsTheAcquireNorLosesItsMemory() throws InterruptedException {
        IllegalStateException injected = new IllegalStateException("injected: a broken invariant under the decay pass");
        AtomicInteger passes = new AtomicInteger();
        // ALL: every acquire is a sample point, so every acquire a decay period after the last pass runs one
        try (LogCapture log = new LogCapture(BufferPool.class); BufferPool pool = BufferPool.builder().name("decay-failure").reserve(16L << 20).leakDetection(LeakDetection.ALL)
                .idleDecay(Duration.ofMillis(1)).build()) {
            pool.decayProbe = () -> {
                if (passes.incrementAndGet() == 1) {
                    throw injected;
                }
            };
            List<PooledBuffer> held = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (passes.get() < 3 && System.nanoTime() < deadline) {
                PooledBuffer b = pool.acquire(4096); // before the fix: the first pass's failure came out of here
                held.add(b);
                b.byteBuffer().putLong(0, held.size()); // the buffer is usable: it was handed out, not dropped
                Thread.sleep(2);
            }
            assertTrue(passes.get() >= 3, "passes ran after the failed one: " + passes.get());
            assertEquals(held.size(), pool.stats().buffersInUse(), "every acquire, the failed pass's too, holds its buffer");
            for (int i = 0; i < held.size(); i++) {
                assertEquals(i + 1, held.get(i).byteBuffer().getLong(0), "no two holders share memory");
                held.get(i).close();
            }
            assertEquals(0, pool.stats().buffersInUse(), "nothing lost: every buffer came back");
            pool.checkInvariants();
            LogRecord r = log.records.stream().filter(x -> x.getThrown() == injected).findFirst().orElse(null);
            assertNotNull(r, "the failed pass was logged with its cause");
            assertEquals(Level.WARNING, r.getLevel());
            assertTrue(r.getMessage().contains("buffer pool 'decay-failure'") && r.getMessage().contains("decay pass failed"),
                    r.getMessage());
            assertSame(injected, r.getThrown());
        }
    }
}
