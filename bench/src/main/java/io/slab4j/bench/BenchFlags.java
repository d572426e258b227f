package io.slab4j.bench;

/**
 * JVM flags every forked benchmark JVM needs. JMH forks do not read the jar's manifest,
 * so each {@code @Fork(jvmArgsAppend = ...)} lists them explicitly.
 *
 * <ul>
 *   <li>{@link #ADD_EXPORTS}: Agrona 2.x (used by allocator-core's collections) reaches
 *       {@code jdk.internal.misc.Unsafe} at run time.
 *   <li>{@link #TRY_REFLECTION}, {@link #OPEN_NIO}, {@link #OPEN_MISC}: let Netty 4.2 on Java 17 build its chunks with the
 *       private {@code DirectByteBuffer(long, int)} constructor (no {@code Cleaner}),
 *       which it does only when {@code java.nio} is opened to it and
 *       {@code io.netty.tryReflectionSetAccessible} is true. Without them Netty still
 *       uses {@code sun.misc.Unsafe} for its buffers (checked: {@code hasUnsafe=true},
 *       {@code PooledUnsafeDirectByteBuf}), but {@code useDirectBufferNoCleaner()} is
 *       false. {@code jdk.internal.misc} is opened for Netty's uninitialised-array
 *       path (heap buffers only; harmless here).
 *   <li>{@link #NETTY_NO_LEAK_DETECTION}: Netty's default leak detector (SIMPLE) wraps
 *       about one buffer in 128 with a tracker; slab4j's {@code Pool} has no per-item leak
 *       tracking, so the allocator paths are compared without it. Said in RESULTS.md.
 *   <li>{@link #CACHE_CHECKS_OFF}: {@code PoolCache}'s put checks (a ledger of handed-out
 *       items) are on by default; the cache benchmark switches them off explicitly, as
 *       STYLE.md asks, and a second benchmark keeps them on. Said in RESULTS.md.
 * </ul>
 */
final class BenchFlags {
    static final String ADD_EXPORTS = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";
    static final String TRY_REFLECTION = "-Dio.netty.tryReflectionSetAccessible=true";
    static final String OPEN_NIO = "--add-opens=java.base/java.nio=ALL-UNNAMED";
    static final String OPEN_MISC = "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED";
    static final String NETTY_NO_LEAK_DETECTION = "-Dio.netty.leakDetection.level=disabled";
    static final String CACHE_CHECKS_OFF = "-Dslab4j.cache.checks=false";

    private BenchFlags() {
    }
}
