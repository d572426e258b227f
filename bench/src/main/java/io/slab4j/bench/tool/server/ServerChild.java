package io.slab4j.bench.tool.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.EventExecutor;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.BufferPoolStats;
import io.slab4j.netty.SlabByteBufAllocator;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server of the {@code server} scenario, the main class of each child JVM: a Netty HTTP/1.1
 * server on 127.0.0.1 (NIO, {@code HttpServerCodec}, {@code HttpObjectAggregator}) whose channels
 * allocate from one allocator ({@link AllocatorKind}). {@code GET /bytes/N} answers the first N
 * bytes of {@link Payload}, written in 8 KiB pieces into a buffer that starts at 256 bytes (so it
 * grows through the size classes). One request in {@value #HOLD_EVERY} also replaces one of a few
 * long-lived buffers the server holds (a copy of that response), so some memory stays pinned
 * while the rest churns.
 *
 * <h2>Control</h2>
 * The parent ({@link ChildProcess}) talks to it over stdin and stdout, one line each way, so
 * the control channel allocates nothing from the allocator under test:
 * <ul>
 *   <li>at start it prints {@code ready port=P};
 *   <li>{@code stats} → {@code stats direct=B used=B inUse=N held=N errors=N}: the bytes the
 *       allocator holds from the OS (slab4j: committed; Netty: its metric's used direct
 *       memory, i.e. its chunks), slab4j's bytes and buffers in use (-1 for Netty's);
 *   <li>{@code trim} → {@code trimmed how=...}: slab4j's {@code BufferPool.trim()}, the pooled
 *       allocator's thread caches on each event loop; nothing for the adaptive one;
 *   <li>{@code quit}, or the end of stdin (the parent died) → releases the held buffers, stops
 *       the server, prints {@code bye inUse=N leaks=N errors=N} and exits.
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Requests run on the event loops; the control loop on the main thread. {@code held} is
 * guarded by its own monitor; the counters are atomics.
 */
public final class ServerChild {
    static final int HOLD_EVERY = 64;
    private static final int PIECE = 8 << 10;

    private final AllocatorKind kind;
    private final BufferPool pool;
    private final ByteBufAllocator alloc;
    private final ByteBuf[] held;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Channel server;

    private ServerChild(AllocatorKind kind, int heldBuffers, long reserve) {
        this.kind = kind;
        if (kind == AllocatorKind.SLAB4J) {
            pool = BufferPool.builder().name("slab4j-bench-server").reserve(reserve).build();
            alloc = new SlabByteBufAllocator(pool);
        } else {
            pool = null;
            alloc = kind.netty();
        }
        held = new ByteBuf[heldBuffers];
    }

    /** {@code ServerChild ALLOCATOR HELD_BUFFERS RESERVE_BYTES IO_THREADS}. */
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        ServerChild child = new ServerChild(AllocatorKind.parse(args[0]), Integer.parseInt(args[1]), Long.parseLong(args[2]));
        int port = child.start(Integer.parseInt(args[3]));
        out.println("ready port=" + port);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null && !line.equals("quit")) {
            switch (line) {
                case "stats" -> out.println(child.stats());
                case "trim" -> out.println("trimmed how=" + child.trim());
                default -> out.println("error unknown command '" + line + "'");
            }
        }
        out.println(child.stop());
        out.flush();
        System.exit(0);
    }

    private int start(int ioThreads) throws InterruptedException {
        boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        workers = new MultiThreadIoEventLoopGroup(ioThreads, NioIoHandler.newFactory());
        server = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
                .option(ChannelOption.ALLOCATOR, alloc)
                .childOption(ChannelOption.ALLOCATOR, alloc)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 << 10), new Handler());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    private String stats() {
        long direct;
        long used = -1;
        long inUse = -1;
        if (pool != null) {
            BufferPoolStats s = pool.stats();
            direct = s.committedBytes();
            used = s.usedBytes();
            inUse = s.buffersInUse();
        } else {
            direct = ((ByteBufAllocatorMetricProvider) alloc).metric().usedDirectMemory();
        }
        return "stats direct=" + direct + " used=" + used + " inUse=" + inUse + " held=" + heldCount() + " errors=" + errors.get();
    }

    private String trim() throws InterruptedException {
        if (pool != null) {
            pool.trim();
            return "BufferPool.trim()";
        }
        if (alloc instanceof PooledByteBufAllocator pooled) {
            for (EventExecutor loop : workers) {
                loop.submit(pooled::trimCurrentThreadCache).sync();
            }
            return "trimCurrentThreadCache()";
        }
        return "none";
    }

    private String stop() {
        synchronized (held) {
            for (int i = 0; i < held.length; i++) {
                if (held[i] != null) {
                    held[i].release();
                    held[i] = null;
                }
            }
        }
        server.close().syncUninterruptibly();
        workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        long inUse = -1;
        long leaks = -1;
        if (pool != null) {
            BufferPoolStats s = pool.stats();
            inUse = s.buffersInUse();
            leaks = s.leaksDetected();
            pool.close();
        }
        return "bye inUse=" + inUse + " leaks=" + leaks + " errors=" + errors.get();
    }

    private int heldCount() {
        synchronized (held) {
            int n = 0;
            for (ByteBuf b : held) {
                n += b == null ? 0 : 1;
            }
            return n;
        }
    }

    /** Keeps a copy of {@code body} in one of the long-lived slots, releasing what was there. */
    private void hold(ByteBufAllocator a, ByteBuf body, long n) {
        if (held.length == 0) {
            return;
        }
        ByteBuf copy = a.directBuffer(body.readableBytes());
        copy.writeBytes(body, body.readerIndex(), body.readableBytes());
        ByteBuf old;
        synchronized (held) {
            int slot = (int) ((n / HOLD_EVERY) % held.length);
            old = held[slot];
            held[slot] = copy;
        }
        if (old != null) {
            old.release();
        }
    }

    /** GET /bytes/N: N pattern bytes in a growing buffer; anything else: 404. */
    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            String uri = request.uri();
            FullHttpResponse response;
            int size = uri.startsWith("/bytes/") ? parse(uri.substring("/bytes/".length())) : -1;
            if (size < 0) {
                response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND,
                        ctx.alloc().buffer(0));
            } else {
                ByteBuf body = ctx.alloc().buffer(Math.min(256, Math.max(1, size)));
                byte[] pattern = Payload.pattern();
                for (int at = 0; at < size; at += PIECE) {
                    body.writeBytes(pattern, at, Math.min(PIECE, size - at));
                }
                long n = requests.incrementAndGet();
                if (n % HOLD_EVERY == 0) {
                    hold(ctx.alloc(), body, n);
                }
                response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            }
            HttpUtil.setContentLength(response, response.content().readableBytes());
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpUtil.setKeepAlive(response, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(response);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        private int parse(String n) {
            try {
                int size = Integer.parseInt(n);
                return size >= 0 && size <= Payload.MAX_SIZE ? size : -1;
            } catch (NumberFormatException e) {
                return -1;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!(cause instanceof IOException)) { // a client closing its connection is not the server's error
                errors.incrementAndGet();
                System.err.println("server error: " + cause);
            }
            ctx.close();
        }
    }
}
