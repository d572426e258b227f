package io.slab4j.bench.tool.server;

import java.util.List;
import java.util.Objects;

/**
 * The effective configuration of a {@code server} run (also its JSON {@code config}).
 *
 * @param allocators     allocator names, in the order run (slab4j, adaptive, pooled)
 * @param load           "builtin" (the tool's java.net.http load generator) or "wrk"
 * @param durationMs     the longest the load runs against each server
 * @param maxRequests    the most requests the built-in load sends each server (it stops at whichever bound comes first)
 * @param warmupMs       load on each server before the measured load, not counted (JIT of server and client; 0 under wrk)
 * @param connections    concurrent connections (one request in flight on each)
 * @param minSize        smallest response, bytes
 * @param maxSize        largest response, bytes (sizes log-uniform in between)
 * @param heldBuffers    long-lived buffers the server holds (one in {@value ServerChild#HOLD_EVERY} requests replaces one)
 * @param idleMs         how long each server idles after the load, its memory still sampled
 * @param sampleMs       sampling period of resident memory, throughput and the allocator's figures
 * @param trim           whether the idle period starts with the allocator's trim (slab4j's BufferPool.trim())
 * @param ioThreads      the server's event-loop threads
 * @param reserveBytes   slab4j's BufferPool reservation
 * @param childHeapBytes each child's -Xmx
 * @param seed           seed of the response sizes
 */
public record ServerConfig(List<String> allocators, String load, long durationMs, long maxRequests, long warmupMs,
                           int connections,
                           int minSize, int maxSize, int heldBuffers, long idleMs, long sampleMs, boolean trim,
                           int ioThreads, long reserveBytes, long childHeapBytes, long seed) {

    public ServerConfig {
        allocators = List.copyOf(Objects.requireNonNull(allocators, "allocators"));
    }
}
