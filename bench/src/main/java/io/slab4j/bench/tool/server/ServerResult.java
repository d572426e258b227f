package io.slab4j.bench.tool.server;

import io.slab4j.bench.tool.Percentiles;

import java.util.List;

/**
 * What one allocator's server measured (an element of the JSON {@code results.allocators}).
 * Bytes are bytes, times nanoseconds unless named otherwise; a figure only slab4j has is
 * null for Netty's allocators, and a figure wrk does not give is null under {@code --load wrk}.
 *
 * @param allocator              slab4j, adaptive or pooled
 * @param requests               responses received
 * @param errors                 failed requests (exception, timeout, status not 200)
 * @param mismatches             responses whose length or bytes were not the pattern's (null: not checked, wrk)
 * @param requestsPerSecond      responses a second of load
 * @param bytesPerSecond         checked response bytes a second (null under wrk)
 * @param latency                request latency percentiles
 * @param rssBeforeLoad          the child's VmRSS once its server was up, before any request
 * @param peakRss                the highest VmRSS sampled
 * @param rssAtLoadEnd           VmRSS when the load stopped
 * @param rssAfterIdle           VmRSS at the end of the idle period (after the trim, if any)
 * @param rssReturned            rssAtLoadEnd - rssAfterIdle: how much resident memory went back while idle
 * @param directAtLoadEnd        bytes the allocator held from the OS when the load stopped (slab4j: committed)
 * @param directAfterIdle        the same at the end of the idle period
 * @param peakDirect             the highest sampled
 * @param slabUsedAtLoadEnd      slab4j: bytes of open buffers when the load stopped
 * @param slabBuffersInUseIdle   slab4j: buffers open at the end of the idle period (the held ones)
 * @param slabBuffersInUseAtEnd  slab4j: buffers open after the server released its held buffers and stopped (0 is right)
 * @param heldBuffers            long-lived buffers the server held at the end of the idle period
 * @param serverErrors           exceptions the server's handler saw (0 is right)
 * @param trim                   what the idle period started with ("BufferPool.trim()", "none", ...)
 * @param firstError             the first failed request, or null
 * @param samples                the time series
 */
public record ServerResult(String allocator, long requests, long errors, Long mismatches, double requestsPerSecond,
                           Double bytesPerSecond, Percentiles latency, long rssBeforeLoad, long peakRss,
                           long rssAtLoadEnd, long rssAfterIdle, long rssReturned, long directAtLoadEnd,
                           long directAfterIdle, long peakDirect, Long slabUsedAtLoadEnd, Long slabBuffersInUseIdle,
                           Long slabBuffersInUseAtEnd, long heldBuffers, long serverErrors, String trim,
                           String firstError, List<Sample> samples) {

    public ServerResult {
        samples = List.copyOf(samples);
    }

    /**
     * One sample of the child.
     *
     * @param timeMs            since the measured load started (after the warm-up)
     * @param phase             "load" or "idle"
     * @param rss               VmRSS bytes
     * @param requestsPerSecond responses a second since the previous sample (null under wrk)
     * @param direct            bytes the allocator held from the OS
     * @param slabUsed          slab4j: bytes of open buffers (null for Netty's allocators)
     */
    public record Sample(long timeMs, String phase, long rss, Double requestsPerSecond, long direct, Long slabUsed) {
    }
}
