package io.slab4j.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
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
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.internal.PlatformDependent;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.BufferPoolStats;
import io.slab4j.buffer.LeakDetection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real Netty HTTP/1.1 server (NIO transport, {@code HttpServerCodec}, {@code HttpObjectAggregator})
 * on 127.0.0.1 whose channels allocate from a {@link SlabByteBufAllocator}, under Netty's leak
 * detector at {@code PARANOID}, serving a concurrent {@code java.net.http.HttpClient}:
 * {@code GET /bytes/N} answers N pattern bytes written in 1000-byte pieces into a buffer that
 * starts at 256 bytes (so it grows through the size classes into page spans), and
 * {@code POST /echo} answers the aggregated request body. Sizes 1 KiB to 1 MiB; the run lasts
 * {@link #RUN} and until every size was served both ways. Afterwards: every response was
 * byte-exact, the server saw no exception, the pool has no buffer in use, neither Netty's
 * detector nor slab4j's reported a leak, and Netty's own direct memory did not move.
 */
@Timeout(300)
class HttpServerTest {
    static final int[] SIZES = {1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20};
    static final Duration RUN = Duration.ofSeconds(3);
    static final Duration LIMIT = Duration.ofSeconds(60);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    static final int CLIENTS = 6;
    static final byte[] PATTERN = pattern(1 << 20);

    private final List<Throwable> serverErrors = new CopyOnWriteArrayList<>();

    @Test
    void servesByteExactResponsesFromSlabMemoryAndGivesEverythingBack() throws Exception {
        ResourceLeakDetector.Level level = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        try (LeakLog leaks = LeakLog.capture();
             BufferPool pool = BufferPool.builder().name("http-server").reserve(512L << 20).leakDetection(LeakDetection.ALL)
                     .build()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            EventLoopGroup workers = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
            ExecutorService clients = Executors.newFixedThreadPool(CLIENTS + 2);
            Run run;
            long nettyDirectBefore;
            try {
                Channel server = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
                        .option(ChannelOption.ALLOCATOR, alloc)
                        .childOption(ChannelOption.ALLOCATOR, alloc)
                        .childHandler(new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(2 << 20), new Handler());
                            }
                        })
                        .bind("127.0.0.1", 0).sync().channel();
                int port = ((InetSocketAddress) server.localAddress()).getPort();
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(clients).build();
                get(client, port, 1024, new Run()); // load the codec's classes (some keep static buffers) before the baseline
                nettyDirectBefore = PlatformDependent.usedDirectMemory();
                run = new Run();
                List<Future<?>> workersDone = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    int first = c;
                    workersDone.add(clients.submit(() -> {
                        Random random = new Random(first);
                        for (int i = first; run.goOn(); i++) {
                            int size = SIZES[i % SIZES.length];
                            if ((i / SIZES.length) % 2 == 0) { // rounds of GETs and rounds of POSTs, each over all sizes
                                echo(client, port, size, random, run);
                            } else {
                                get(client, port, size, run);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : workersDone) {
                    f.get();
                }
                server.close().sync();
            } finally {
                clients.shutdownNow();
                workers.shutdownGracefully(0, 10, TimeUnit.SECONDS).syncUninterruptibly();
                boss.shutdownGracefully(0, 10, TimeUnit.SECONDS).syncUninterruptibly();
            }
            System.out.printf("http server: %d requests (%d GET, %d POST echo), %d response bytes, sizes %s, %d ms, %d clients%n",
                    run.requests.get(), run.gets.get(), run.posts.get(), run.bytes.get(), java.util.Arrays.toString(SIZES),
                    run.elapsedMillis(), CLIENTS);

            assertThat(serverErrors).as("exceptions on the server").isEmpty();
            assertThat(run.covered.keySet()).as("every size served both ways").hasSize(2 * SIZES.length);
            BufferPoolStats stats = pool.stats();
            assertThat(stats.buffersInUse()).as("buffers in use after the server stopped").isZero();
            assertThat(stats.leaksDetected()).as("slab4j leak reports").isZero();
            pool.checkInvariants();
            assertThat(PlatformDependent.usedDirectMemory()).as("Netty's own direct memory").isEqualTo(nettyDirectBefore);
            assertThat(leaks.flush(alloc)).as("Netty leak reports").isEmpty();
        } finally {
            ResourceLeakDetector.setLevel(level);
        }
    }

    private static void get(HttpClient client, int port, int size, Run run) throws Exception {
        HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/bytes/" + size))
                .timeout(REQUEST_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        byte[] body = r.body();
        assertThat(body.length).isEqualTo(size);
        assertThat(java.util.Arrays.equals(body, 0, size, PATTERN, 0, size)).as("GET %d byte-exact", size).isTrue();
        run.served("GET", size);
    }

    private static void echo(HttpClient client, int port, int size, Random random, Run run) throws Exception {
        byte[] sent = new byte[size];
        random.nextBytes(sent);
        HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/echo"))
                .timeout(REQUEST_TIMEOUT).POST(HttpRequest.BodyPublishers.ofByteArray(sent)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).as("POST %d echoed byte-exact", size).isEqualTo(sent);
        run.served("POST", size);
    }

    private static byte[] pattern(int length) {
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++) {
            p[i] = (byte) (i * 31 + (i >>> 8) + (i >>> 16));
        }
        return p;
    }

    /** The load's state: counts, and which (method, size) pairs were served. */
    static final class Run {
        final long start = System.nanoTime();
        final AtomicLong requests = new AtomicLong();
        final AtomicLong gets = new AtomicLong();
        final AtomicLong posts = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        final ConcurrentHashMap<String, Boolean> covered = new ConcurrentHashMap<>();

        /** At least {@link #RUN} and until every size was served both ways, but never past {@link #LIMIT} (the coverage assertion then fails). */
        boolean goOn() {
            long elapsed = System.nanoTime() - start;
            return elapsed < LIMIT.toNanos() && (elapsed < RUN.toNanos() || covered.size() < 2 * SIZES.length);
        }

        void served(String method, int size) {
            requests.incrementAndGet();
            (method.equals("GET") ? gets : posts).incrementAndGet();
            bytes.addAndGet(size);
            covered.put(method + size, Boolean.TRUE);
        }

        long elapsedMillis() {
            return (System.nanoTime() - start) / 1_000_000;
        }
    }

    /** GET /bytes/N: N pattern bytes, written in pieces into a growing buffer; POST /echo: the request body. */
    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            ByteBuf body;
            if (request.method().equals(HttpMethod.POST)) {
                body = request.content().retainedDuplicate();
            } else {
                int size = Integer.parseInt(request.uri().substring("/bytes/".length()));
                body = ctx.alloc().buffer(256);
                for (int at = 0; at < size; at += 1000) {
                    body.writeBytes(PATTERN, at, Math.min(1000, size - at));
                }
            }
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            HttpUtil.setContentLength(response, body.readableBytes());
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpUtil.setKeepAlive(response, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(response);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            serverErrors.add(cause);
            ctx.close();
        }
    }
}
