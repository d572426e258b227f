package io.slab4j.readme;

import io.slab4j.arena.Arena;
import io.slab4j.event.Events;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.Pool;

import java.time.Duration;

/**
 * Run by {@link PlainJvmTest} in a child JVM started with no {@code --add-exports} or
 * {@code --add-opens}: exercises the layers that the README promises work on a plain JVM
 * (region, arena, pool, events) and prints one line per step, then {@code plain JVM ok}.
 */
public final class PlainJvmProgram {
    private PlainJvmProgram() {
    }

    public static void main(String[] args) throws Exception {
        Module unnamed = PlainJvmProgram.class.getModule();
        if (Object.class.getModule().isExported("jdk.internal.misc", unnamed)) {
            throw new IllegalStateException("this JVM exports jdk.internal.misc: not a plain JVM, the check proves nothing");
        }
        try (VirtualRegion region = VirtualRegion.reserve(64L << 20)) {
            Arena arena = Arena.builder(region).build();
            long span = arena.tryAlloc(1 << 20);
            check(span != 0, "arena.tryAlloc");
            arena.free(span, 1 << 20);
            System.out.println("arena ok");

            Pool pool = Pool.builder("plain", 4096).slabPages(4).hardLimit(8).build(arena);
            long item = pool.get(Duration.ofSeconds(1));
            check(item != 0, "pool.get");
            pool.put(item);
            long viaEvent = Events.choose(pool.getEvent(), Events.timeout(Duration.ofSeconds(1)).wrap(t -> 0L)).sync();
            check(viaEvent != 0, "choose(pool.getEvent(), timeout)");
            pool.put(viaEvent);
            pool.checkInvariants();
            pool.close();
            arena.checkInvariants();
            System.out.println("pool ok");
        }
        System.out.println("plain JVM ok");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what + " failed on a plain JVM");
        }
    }
}
