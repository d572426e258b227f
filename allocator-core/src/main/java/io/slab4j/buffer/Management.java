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

    /**
     * {@code io.slab4j:type=BufferPool,name=<name>}: the name as it is when it holds none of the
     * characters that have a meaning in an unquoted key value ({@code , = : " * ?} and line
     * breaks), else quoted ({@link ObjectName#quote}). So the name key is always exactly the
     * pool's name, two different names never give one MBean name (a name that looks quoted
     * holds {@code "} and is quoted again), and the plain names users type stay unquoted.
     */
    static ObjectName objectName(String name) {
        boolean plain = true;
        for (int i = 0; i < name.length() && plain; i++) {
            plain = ",=:\"*?\n\r".indexOf(name.charAt(i)) < 0;
        }
        try {
            return new ObjectName("io.slab4j:type=BufferPool,name=" + (plain ? name : ObjectName.quote(name)));
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException("buffer pool name '" + name + "' cannot name an MBean", e);
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
    public long getAccessibleBytes() {
        return pool.stats().accessibleBytes();
    }

    @Override
    public long getCommitFailures() {
        return pool.stats().commitFailures();
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
