package io.slab4j.netty;

import io.slab4j.testing.Background;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.PooledBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * Back-pressure at a tiny cap: a pool of two 32 KiB slabs of 4 KiB items (16 buffers, nothing
 * else fits), without magazines so a returned buffer is at once visible to every thread. The
 * test thread takes every buffer ("the hog"); then an event-loop allocation fails at once with
 * {@link BufferPoolExhaustedException} while its channel stays open and later works, and a
 * writer on an ordinary thread waits until a buffer comes back. Waits in the test watch
 * observable state (the pool's waiter count, a latch), never the clock.
 */
@Timeout(120)
class AllocatorBackPressureTest {
    private BufferPool pool;
    private final List<PooledBuffer> hog = new ArrayList<>();
    private EventLoopGroup group;

    @BeforeEach
    void open() {
        pool = BufferPool.builder().name("tiny").reserve(64 << 10).sizeClasses(4096).magazines(false).build();
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterEach
    void close() {
        giveBack();
        group.shutdownGracefully(0, 10, TimeUnit.SECONDS).syncUninterruptibly();
        try {
            assertThat(pool.stats().buffersInUse()).isZero();
            pool.checkInvariants();
        } finally {
            pool.close();
        }
    }

    private void exhaust() {
        PooledBuffer b;
        while ((b = pool.tryAcquire(4096)) != null) {
            hog.add(b);
        }
        assertThat(pool.stats().buffersInUse()).as("the cap: 16 buffers").isEqualTo(16);
        assertThat(pool.tryAcquire(1)).isNull();
        assertThat(pool.tryAcquire(3 * 4096)).as("no span fits either").isNull();
    }

    private void giveBack() {
        hog.forEach(PooledBuffer::close);
        hog.clear();
    }

    @Test
    void eventLoopReadFailsAtOnceAndTheChannelSurvives() throws Exception {
        // Other threads could wait a day: the event loop must not wait at all.
        SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofDays(1)).build();
        AtomicReference<Throwable> firstFailure = new AtomicReference<>();
        AtomicInteger failures = new AtomicInteger();
        CountDownLatch failed = new CountDownLatch(1);
        AtomicReference<Channel> child = new AtomicReference<>();
        AtomicInteger accepted = new AtomicInteger();
        Channel server = echoServer(alloc, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                accepted.incrementAndGet();
                child.set(ctx.channel());
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.writeAndFlush(msg);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                firstFailure.compareAndSet(null, cause);
                failures.incrementAndGet();
                failed.countDown();
            }
        });
        try (Socket socket = connect(server)) {
            assertThat(roundTrip(socket, "before")).isEqualTo("before");
            // The echo's buffer goes back once its write completes, which may be after the client read it.
            awaitTrue(() -> pool.stats().buffersInUse() == 0, "the echo's buffer is back");
            exhaust();
            send(socket, "during");
            assertThat(failed.await(60, TimeUnit.SECONDS)).as("the read failed").isTrue();
            Throwable cause = firstFailure.get();
            assertThat(cause).isInstanceOf(BufferPoolExhaustedException.class).hasMessageContaining("'tiny'")
                    .hasMessageContaining("event-loop thread");
            BufferPoolExhaustedException e = (BufferPoolExhaustedException) cause;
            assertThat(e.onEventLoop()).isTrue();
            assertThat(e.waited()).isZero();
            assertThat(e.pool()).isEqualTo("tiny");
            assertThat(child.get().isActive()).as("the channel survives").isTrue();
            giveBack();
            assertThat(read(socket, "during".length())).as("the read retried once memory came back").isEqualTo("during");
            assertThat(roundTrip(socket, "after")).isEqualTo("after");
            assertThat(child.get().isActive()).isTrue();
            assertThat(accepted.get()).as("one connection throughout").isEqualTo(1);
            assertThat(alloc.metric().exhausted()).isEqualTo(failures.get());
        } finally {
            server.close().sync();
        }
    }

    @Test
    void eventLoopFallsBackToUnpooledWhenConfiguredButGrowthNeverDoes() throws Exception {
        SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).eventLoopPolicy(EventLoopPolicy.FALLBACK_UNPOOLED).build();
        ByteBuf small = alloc.directBuffer(100);
        exhaust();
        ByteBuf fallback = group.next().submit(() -> alloc.directBuffer(100)).get();
        try {
            assertThat(fallback.isDirect()).isTrue();
            assertThat(fallback.unwrap() != null ? fallback.unwrap() : fallback).isNotInstanceOf(SlabByteBuf.class);
            assertThat(alloc.metric().fallbacks()).isEqualTo(1);
            Throwable growth = group.next().submit(() -> {
                try {
                    small.writeBytes(new byte[5000]);
                    return null;
                } catch (BufferPoolExhaustedException e) {
                    return e;
                }
            }).get();
            assertThat(growth).as("growth at the cap on an event loop").isInstanceOf(BufferPoolExhaustedException.class);
            assertThat(small.capacity()).as("unchanged by the failed growth").isEqualTo(100);
            assertThat(small.writerIndex()).isZero();
        } finally {
            fallback.release();
            small.release();
        }
    }

    @Test
    void aWriterOffTheEventLoopWaitsAndSucceedsWhenABufferComesBack() throws Exception {
        SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofMinutes(1)).build();
        AtomicReference<Channel> child = new AtomicReference<>();
        CountDownLatch active = new CountDownLatch(1);
        Channel server = echoServer(alloc, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                child.set(ctx.channel());
                active.countDown();
            }
        });
        try (Socket socket = connect(server)) {
            assertThat(active.await(60, TimeUnit.SECONDS)).isTrue();
            exhaust();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                ByteBuf buf = alloc.directBuffer(1000); // blocks: the pool is at its cap
                buf.writeCharSequence("waited", StandardCharsets.US_ASCII);
                child.get().writeAndFlush(buf);
            }, Background.THREADS);
            awaitTrue(() -> pool.stats().waiters() == 1, "the writer waits in the pool");
            assertThat(writer).isNotDone();
            hog.remove(hog.size() - 1).close();
            writer.get(60, TimeUnit.SECONDS);
            assertThat(read(socket, "waited".length())).isEqualTo("waited");
            assertThat(alloc.metric().exhausted()).isZero();
        } finally {
            server.close().sync();
        }
    }

    @Test
    void otherThreadsFailAfterTheirTimeoutWithTheSameException() {
        exhaust();
        SlabByteBufAllocator timed = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofMillis(20)).build();
        assertThatThrownBy(() -> timed.directBuffer(10)).isInstanceOfSatisfying(BufferPoolExhaustedException.class, e -> {
            assertThat(e.onEventLoop()).isFalse();
            assertThat(e.waited()).isEqualTo(Duration.ofMillis(20));
            assertThat(e.requestedBytes()).isEqualTo(10);
            assertThat(e).hasMessageContaining("after waiting PT0.02S");
        });
        SlabByteBufAllocator untimed = new SlabByteBufAllocator(pool);
        assertThatThrownBy(() -> untimed.directBuffer(10)).isInstanceOf(BufferPoolExhaustedException.class)
                .hasMessageContaining("no wait configured");
        assertThat(untimed.heapBuffer(10).release()).as("heap buffers are not capped").isTrue();
    }

    @Test
    void anInterruptEndsTheWaitWithTheSameExceptionAndKeepsTheFlag() {
        exhaust();
        SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofMinutes(1)).build();
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> alloc.directBuffer(10)).isInstanceOf(BufferPoolExhaustedException.class)
                    .hasCauseInstanceOf(InterruptedException.class);
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }

    // ------------------------------------------------------------------ helpers

    private Channel echoServer(SlabByteBufAllocator alloc, ChannelInboundHandlerAdapter handler) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOCATOR, alloc)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(handler);
                    }

                    @Override
                    public boolean isSharable() {
                        return true;
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    private static Socket connect(Channel server) throws IOException {
        Socket socket = new Socket();
        socket.connect(server.localAddress());
        socket.setSoTimeout(60_000);
        return socket;
    }

    private static void send(Socket socket, String text) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static String read(Socket socket, int length) throws IOException {
        byte[] bytes = new byte[length];
        new DataInputStream(socket.getInputStream()).readFully(bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    private static String roundTrip(Socket socket, String text) throws IOException {
        send(socket, text);
        return read(socket, text.length());
    }

    private static void awaitTrue(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting until " + what);
            }
            LockSupport.parkNanos(1_000_000);
        }
    }

}
