package io.slab4j.buffer;

import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import javax.management.StandardMBean;
import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * The {@link BufferPoolMXBean} of one pool and its registration with the platform MBean
 * server under {@code io.slab4j:type=BufferPool,name=<name>} (the name quoted when it holds
 * characters an {@link ObjectName} value cannot, or pattern characters {@code *} and {@code ?}). Registered by the pool's build, unregistered
 * by its close.
 *
 * <p>Thread-safe: every getter reads a fresh {@link BufferPool#stats()}.
 */
final class Management implements BufferPoolMXBean {
    private final BufferPool pool;

    private Management(BufferPool pool) {
        this.pool = pool;
    }

    static ObjectName objectName(String name) {
        try {
            ObjectName plain = new ObjectName("io.slab4j:type=BufferPool,name=" + name);
            if (!plain.isPattern()) {
                return plain;
            }
            // '*' or '?' would make a pattern, which no MBean can be registered under: quote it
            return new ObjectName("io.slab4j:type=BufferPool,name=" + ObjectName.quote(name));
        } catch (MalformedObjectNameException e) {
            try {
                return new ObjectName("io.slab4j:type=BufferPool,name=" + ObjectName.quote(name));
            } catch (MalformedObjectNameException impossible) {
                throw new IllegalArgumentException("buffer pool name '" + name + "' cannot name an MBean", impossible);
            }
        }
    }

    /** Throws if a pool of this name is registered already (checked before anything is reserved). */
    static void checkFree(String name) {
        ObjectName on = objectName(name);
        if (ManagementFactory.getPlatformMBeanServer().isRegistered(on)) {
            throw taken(name, on);
        }
    }

    private static IllegalArgumentException taken(String name, ObjectName on) {
        return new IllegalArgumentException("a buffer pool named '" + name + "' is already open (MBean " + on
                + "); close it or choose another name");
    }

    static void register(BufferPool pool) {
        ObjectName on = objectName(pool.name());
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try {
            server.registerMBean(new StandardMBean(new Management(pool), BufferPoolMXBean.class, true), on);
        } catch (InstanceAlreadyExistsException e) {
            throw taken(pool.name(), on);
        } catch (JMException e) {
            throw new IllegalStateException("buffer pool '" + pool.name() + "': cannot register MBean " + on, e);
        }
    }

    static void unregister(String name) {
        try {
            ManagementFactory.getPlatformMBeanServer().unregisterMBean(objectName(name));
        } catch (InstanceNotFoundException alreadyGone) {
            // idempotent
        } catch (JMException e) {
            throw new IllegalStateException("buffer pool '" + name + "': cannot unregister its MBean", e);
        }
    }

    @Override
    public long getReservedBytes() {
        return pool.stats().reservedBytes();
    }

    @Override
    public long getCommittedBytes() {
        return pool.stats().committedBytes();
    }

    @Override
    public long getUsedBytes() {
        return pool.stats().usedBytes();
    }

    @Override
    public long getBuffersInUse() {
        return pool.stats().buffersInUse();
    }

    @Override
    public int getWaiters() {
        return pool.stats().waiters();
    }

    @Override
    public long getLeaksDetected() {
        return pool.stats().leaksDetected();
    }

    @Override
    public int[] getSizeClasses() {
        return pool.sizeClasses();
    }

    @Override
    public long[] getSizeClassBuffersInUse() {
        List<SizeClassStats> s = pool.stats().sizeClasses();
        return s.stream().mapToLong(SizeClassStats::buffersInUse).toArray();
    }

    @Override
    public long[] getSizeClassCommittedBytes() {
        List<SizeClassStats> s = pool.stats().sizeClasses();
        return s.stream().mapToLong(SizeClassStats::committedBytes).toArray();
    }

    @Override
    public void trim() {
        pool.trim();
    }
}
