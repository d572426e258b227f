package io.slab4j.pool;

import io.slab4j.arena.Arena;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;

import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * The shared harness of the pool's Lincheck tests: a pool of one-item slabs with a hard
 * limit of two and high water 0 (every put that idles a slab gives it back to the arena,
 * so grows and shrinks interleave with gets and puts), items taken kept in a shared stack
 * that {@code put} returns them from, and a {@code @Validate} that checks the pool's and
 * arena's invariants, that no registration is left, and that the items in use are
 * exactly the items held, none twice.
 */
public abstract class PoolLincheckHarness {
    protected final Arena arena = Arena.builder(0x7a_0000_0000L, 4 * 4096L).quantum(4096).build();
    protected final Pool pool = Pool.builder("lincheck", 4096).slabPages(1).hardLimit(2).highWater(0).build(arena);
    protected final ConcurrentLinkedDeque<Long> held = new ConcurrentLinkedDeque<>();

    @Operation
    public int tryGet() {
        long item = pool.tryGet();
        if (item == 0) {
            return 0;
        }
        held.push(item);
        return 1;
    }

    @Operation
    public int put() {
        Long item = held.poll();
        if (item == null) {
            return -1;
        }
        pool.put(item);
        return 1;
    }

    @Validate
    public void consistent() {
        pool.checkInvariants();
        arena.checkInvariants();
        if (pool.waiters() != 0 || arena.waiters() != 0) {
            throw new AssertionError("registrations left: pool " + pool.waiters() + ", arena " + arena.waiters());
        }
        if (pool.stats().itemsInUse() != held.size() || held.stream().distinct().count() != held.size()) {
            throw new AssertionError("items in use " + pool.stats().itemsInUse() + " but held " + held);
        }
    }
}
