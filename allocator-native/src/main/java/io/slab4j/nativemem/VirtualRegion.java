package io.slab4j.nativemem;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.StampedLock;

/**
 * One contiguous reservation of virtual address space, {@code [address(), address() +
 * size())}, whose pages are committed and decommitted on demand: the bottom layer of
 * slab4j and the only one that calls the OS.
 *
 * <pre>
 *  address()                                                     address() + size()
 *  |--- PROT_NONE ---|=== commit: READ|WRITE ===|------- PROT_NONE (reserved) -------|
 *                    ^ offset                   ^ offset + length
 * </pre>
 *
 * <ol>
 *   <li>{@link #reserve(long)}: {@code mmap(NULL, size, PROT_NONE,
 *       MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)}. Takes address space only: no
 *       page, no swap, no overcommit charge. {@link #reserve(long, long)} does the same at an
 *       aligned address (it reserves the alignment more and unmaps the excess).</li>
 *   <li>{@link #commit(long, long)}: {@code mprotect(READ|WRITE)}. The range becomes
 *       usable; each page is filled with zeros by the kernel on first touch, so the
 *       resident set grows only as pages are written (or read).</li>
 *   <li>{@link #decommit(long, long)}: {@code madvise(MADV_DONTNEED)} then
 *       {@code mprotect(PROT_NONE)}. The pages go back to the kernel at once (the
 *       resident set falls), a later commit reads zeros, and a stray access faults
 *       instead of quietly committing a page again.</li>
 *   <li>{@link #release(long, long)}: {@code madvise(MADV_DONTNEED)} alone. The pages go
 *       back to the kernel but keep their protection, so no mapping is split; a
 *       committed page reads zeros on its next touch.</li>
 *   <li>{@link #close()}: {@code munmap}.</li>
 * </ol>
 *
 * <p>Invariants:
 * <ul>
 *   <li>{@code address()} and {@code size()} are page aligned, {@code size() > 0}, and
 *       neither changes, not even after close (they stay readable for messages).</li>
 *   <li>Every range call (commit, decommit, release, prefault, advice) lies within
 *       {@code [0, size())}, page aligned, and is made only while the region is open:
 *       nothing outside the reservation, and nothing after {@code munmap}, is ever passed
 *       to the OS.</li>
 *   <li>A rejected call ({@link IllegalArgumentException},
 *       {@link IllegalStateException}) changes nothing. A {@link NativeMemoryException}
 *       from decommit may leave the range zeroed but still accessible (madvise succeeded,
 *       mprotect did not); decommit it again.</li>
 *   <li>The region does not track which pages are committed; overlapping or repeated
 *       commits and decommits are legal and idempotent. The arena above keeps count.</li>
 * </ul>
 *
 * <p>Concurrency: all methods are thread-safe. {@code commit}, {@code decommit} and the
 * other range calls ({@code release}, {@code prefault}, the huge-page advice) hold the
 * read lock of a {@link StampedLock} around their OS calls (shared, so they run in
 * parallel); {@code close} first sets the volatile {@code closed} flag, then takes the
 * write lock, which waits for the calls already in progress, and unmaps. A commit or
 * decommit checks {@code closed} before taking the read lock and again while holding it,
 * so once {@code close} has begun no new call starts (it throws
 * {@link IllegalStateException}), and none ever operates on an unmapped (and possibly
 * re-used) range. Setting the flag before waiting matters: StampedLock lets readers
 * barge past a waiting writer, so without it a stream of commits could hold a close off
 * indefinitely ({@code VirtualRegionCloseRaceTest}).
 * {@link #isOpen()} reads the flag without locking. Commits and decommits of overlapping
 * ranges from different threads race as their syscalls do (the last one wins); giving
 * each range one owner at a time is the caller's job. The region cannot stop a thread
 * from reading or writing the memory itself after a decommit or close: that access
 * faults and kills the JVM.
 *
 * <p>Limits worth knowing: every boundary between committed and uncommitted pages splits
 * a kernel mapping, and a process may have only {@code vm.max_map_count} of them
 * (65530 by default), so a finely fragmented region can make {@code commit} fail with
 * ENOMEM. Callers that free and reuse small ranges often change protections in coarse
 * chunks and {@link #release} pages inside them (the arena's commit chunks do). With {@code vm.overcommit_memory=2} committed pages count against the commit
 * limit (MAP_NORESERVE is ignored there).
 *
 * <p>No {@code Cleaner}: an unreachable region is leaked, not unmapped behind the back of
 * code that may still hold raw addresses into it. Close it explicitly.
 *
 * <p>Supported on Linux x86-64 and aarch64; elsewhere {@link #reserve(long)} and
 * {@link #pageSize()} throw {@link UnsupportedOperationException} and no native code is
 * loaded.
 */
public final class VirtualRegion implements AutoCloseable {

    /** Start of the reservation; page aligned; never changes. */
    private final long address;

    /** Length of the reservation in bytes; a positive multiple of {@link #pageSize()}; never changes. */
    private final long size;

    /** The kernel page size, cached so the checks on the commit path do not re-read it. */
    private final int pageSize;

    /** Read-locked by commit/decommit around their OS calls, write-locked by close around munmap. */
    private final StampedLock lock = new StampedLock();

    /**
     * Set (never cleared) by {@link #close()} before it takes the write lock; read by
     * commit/decommit before and under the read lock. Volatile so a new call sees it at once.
     */
    private volatile boolean closed;
    /** Actions to run once the region is closed ({@link #onClose}); guarded by its own monitor, null once they ran. */
    private List<Runnable> closeActions = new ArrayList<>();

    /** Whether munmap has succeeded; read and written only under the write lock. */
    private boolean unmapped;

    private VirtualRegion(long address, long size, int pageSize) {
        this.address = address;
        this.size = size;
        this.pageSize = pageSize;
    }

    /**
     * Reserves at least {@code bytes} of address space, rounded up to whole pages,
     * committing nothing.
     *
     * @param bytes the least size wanted, &gt; 0
     * @return an open region of {@code bytes} rounded up to a multiple of {@link #pageSize()}
     * @throws IllegalArgumentException      if {@code bytes <= 0} or cannot be rounded up to a page
     * @throws NativeMemoryException         if {@code mmap} fails (ENOMEM: no room in the address space)
     * @throws UnsupportedOperationException on an OS/CPU other than Linux x86-64 or aarch64
     */
    public static VirtualRegion reserve(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("reserve(" + bytes + "): bytes must be > 0");
        }
        SupportedPlatform.require("VirtualRegion.reserve(" + bytes + ")");
        int pageSize = LinuxMemory.pageSize();
        long mask = pageSize - 1L;
        if (bytes > Long.MAX_VALUE - mask) {
            throw new IllegalArgumentException("reserve(" + bytes + "): bytes must be at most "
                    + (Long.MAX_VALUE - mask) + " to round up to a multiple of the page size " + pageSize);
        }
        long size = (bytes + mask) & ~mask;
        return new VirtualRegion(LinuxMemory.reserve(size), size, pageSize);
    }

    /**
     * Reserves at least {@code bytes} of address space, rounded up to whole pages, at an
     * address that is a multiple of {@code alignment}, committing nothing. For huge pages: a
     * region aligned to {@link #hugePageSize()} has its commit chunks (whose boundaries are
     * offsets from {@link #address()}) on huge-page boundaries too, so huge-page advice adds
     * no mapping boundary of its own. Costs one {@code mmap} of {@code alignment} more and
     * one or two {@code munmap}s of the excess.
     *
     * @param bytes     the least size wanted, &gt; 0
     * @param alignment a power of two, at least {@link #pageSize()} (which is what
     *                  {@link #reserve(long)} gives)
     * @return an open region of {@code bytes} rounded up to a multiple of {@link #pageSize()},
     *         whose {@link #address()} is a multiple of {@code alignment}
     * @throws IllegalArgumentException      if {@code bytes <= 0}, {@code alignment} is not a power of
     *                                       two at least the page size, or the sizes overflow
     * @throws NativeMemoryException         if {@code mmap} or {@code munmap} fails (nothing stays reserved)
     * @throws UnsupportedOperationException on an OS/CPU other than Linux x86-64 or aarch64
     */
    public static VirtualRegion reserve(long bytes, long alignment) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("reserve(" + bytes + ", " + alignment + "): bytes must be > 0");
        }
        SupportedPlatform.require("VirtualRegion.reserve(" + bytes + ", " + alignment + ")");
        int pageSize = LinuxMemory.pageSize();
        if (alignment < pageSize || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("reserve(" + bytes + ", " + alignment + "): alignment " + alignment
                    + " must be a power of two at least the page size " + pageSize);
        }
        long mask = pageSize - 1L;
        if (bytes > Long.MAX_VALUE - mask - alignment) {
            throw new IllegalArgumentException("reserve(" + bytes + ", " + alignment + "): bytes must be at most "
                    + (Long.MAX_VALUE - mask - alignment) + " to round up to the page size " + pageSize
                    + " and leave room for the alignment");
        }
        long size = (bytes + mask) & ~mask;
        long address = alignment == pageSize ? LinuxMemory.reserve(size) : LinuxMemory.reserveAligned(size, alignment);
        return new VirtualRegion(address, size, pageSize);
    }

    /**
     * The page size in bytes (a power of two, at least 4096); offsets and lengths passed to
     * {@link #commit} and {@link #decommit} must be multiples of it.
     *
     * @throws UnsupportedOperationException on an OS/CPU other than Linux x86-64 or aarch64
     */
    public static int pageSize() {
        SupportedPlatform.require("VirtualRegion.pageSize()");
        return LinuxMemory.pageSize();
    }

    /**
     * The size of a transparent huge page in bytes (2 MiB on x86-64 and on aarch64 with 4 KiB
     * pages), or 0 when the kernel offers none: built without THP support, or THP set to
     * {@code never} in {@code /sys/kernel/mm/transparent_hugepage/enabled}. Read once per
     * process. With THP set to {@code madvise} (the usual default) only ranges given
     * {@link #adviseHugePages} get huge pages; with {@code always}, any range may.
     *
     * @throws UnsupportedOperationException on an OS/CPU other than Linux x86-64 or aarch64
     */
    public static long hugePageSize() {
        SupportedPlatform.require("VirtualRegion.hugePageSize()");
        return LinuxMemory.hugePageSize();
    }

    /** The start of the region; page aligned. Still returned after close, for messages. */
    public long address() {
        return address;
    }

    /** The size of the region in bytes; a positive multiple of {@link #pageSize()}. */
    public long size() {
        return size;
    }

    /** Whether {@link #close()} has not been called; false from the moment close begins. */
    public boolean isOpen() {
        return !closed;
    }

    /**
     * Makes {@code [address() + offset, address() + offset + length)} readable and
     * writable. Pages are filled (with zeros) on first touch, not here.
     *
     * @param offset page-aligned offset from {@link #address()}, in {@code [0, size())}
     * @param length page-aligned length, &gt; 0, with {@code offset + length <= size()}
     * @throws IllegalArgumentException if the range is unaligned, empty or out of the region
     * @throws IllegalStateException    if the region is closed
     * @throws NativeMemoryException    if {@code mprotect} fails (ENOMEM: see the class comment)
     */
    public void commit(long offset, long length) {
        long stamp = enter("commit", offset, length);
        try {
            LinuxMemory.commit(address + offset, length);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * Returns the pages of {@code [address() + offset, address() + offset + length)} to the
     * OS and makes the range inaccessible. After a later {@link #commit} it reads as zeros.
     *
     * @param offset page-aligned offset from {@link #address()}, in {@code [0, size())}
     * @param length page-aligned length, &gt; 0, with {@code offset + length <= size()}
     * @throws IllegalArgumentException if the range is unaligned, empty or out of the region
     * @throws IllegalStateException    if the region is closed
     * @throws NativeMemoryException    if {@code madvise} or {@code mprotect} fails
     */
    public void decommit(long offset, long length) {
        long stamp = enter("decommit", offset, length);
        try {
            LinuxMemory.decommit(address + offset, length);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * Returns the pages of {@code [address() + offset, address() + offset + length)} to the
     * OS ({@code madvise(MADV_DONTNEED)}) and leaves their protection as it is: committed
     * pages stay readable and writable and read as zeros on the next touch; uncommitted
     * pages stay inaccessible. Unlike {@link #decommit} this never splits a kernel mapping,
     * so an arena can free a span inside a committed chunk without adding to the process's
     * mapping count (see the class comment).
     *
     * @param offset page-aligned offset from {@link #address()}, in {@code [0, size())}
     * @param length page-aligned length, &gt; 0, with {@code offset + length <= size()}
     * @throws IllegalArgumentException if the range is unaligned, empty or out of the region
     * @throws IllegalStateException    if the region is closed
     * @throws NativeMemoryException    if {@code madvise} fails
     */
    public void release(long offset, long length) {
        long stamp = enter("release", offset, length);
        try {
            LinuxMemory.release(address + offset, length);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * Faults in every page of {@code [address() + offset, address() + offset + length)} now,
     * writable and zero-filled, as a write to each would ({@code madvise(MADV_POPULATE_WRITE)},
     * Linux 5.14+): one syscall instead of one page fault per page on first touch. Pages
     * already present are left as they are. The range must be committed. A later
     * {@link #release} or {@link #decommit} drops the pages as usual.
     *
     * <p>On a kernel that does not know the advice (before 5.14; found once by an empty
     * probe call, so an EINVAL for a bad range is not mistaken for it) this does nothing
     * and returns false; the pages then fill on first touch as without it. The refusal is
     * logged once and remembered: later calls return false at once, without a syscall.
     *
     * @param offset page-aligned offset from {@link #address()}, in {@code [0, size())}
     * @param length page-aligned length, &gt; 0, with {@code offset + length <= size()}
     * @return true when the pages are resident now, false when the kernel cannot prefault
     * @throws IllegalArgumentException if the range is unaligned, empty or out of the region
     * @throws IllegalStateException    if the region is closed
     * @throws NativeMemoryException    if {@code madvise} fails otherwise: ENOMEM when memory
     *                                  runs out; EINVAL (on Linux 6.x; EFAULT or ENOMEM on
     *                                  some kernels) when part of the range is not committed
     */
    public boolean prefault(long offset, long length) {
        long stamp = enter("prefault", offset, length);
        try {
            return LinuxMemory.POPULATE_WRITE.apply(address + offset, length);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * Lets transparent huge pages back {@code [address() + offset, address() + offset +
     * length)} ({@code madvise(MADV_HUGEPAGE)}): a fault (or {@link #prefault}) in a
     * {@link #hugePageSize()}-aligned run that lies wholly in the range, and is committed,
     * may then map one huge page for the whole run. Committed or not, the advice stays with
     * the range until {@link #adviseNoHugePages} or close; it splits the kernel mapping at the
     * range's ends (see the class comment). Touches no page and changes no protection.
     *
     * @param offset page-aligned offset from {@link #address()}, in {@code [0, size())}
     * @param length page-aligned length, &gt; 0, with {@code offset + length <= size()}
     * @return true when the advice was taken, false when the kernel has no transparent huge
     *         pages (EINVAL; logged once, and later calls return false without a syscall)
     * @throws IllegalArgumentException if the range is unaligned, empty or out of the region
     * @throws IllegalStateException    if the region is closed
     * @throws NativeMemoryException    if {@code madvise} fails otherwise (ENOMEM: too many mappings)
     */
    public boolean adviseHugePages(long offset, long length) {
        long stamp = enter("adviseHugePages", offset, length);
        try {
            return LinuxMemory.HUGEPAGE.apply(address + offset, length);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * Keeps transparent huge pages out of {@code [address() + offset, address() + offset +
     * length)} ({@code madvise(MADV_NOHUGEPAGE)}), even where THP is {@code always}; undoes
     * {@link #adviseHugePages}. Huge pages already mapped stay until the pages are released.
     * Same arguments, results and exceptions as {@link #adviseHugePages}.
     */
    public boolean adviseNoHugePages(long offset, long length) {
        long stamp = enter("adviseNoHugePages", offset, length);
        try {
            return LinuxMemory.NOHUGEPAGE.apply(address + offset, length);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * Unmaps the whole region, committed pages included. Idempotent: later calls do
     * nothing. From the moment it is called, new commits and decommits throw
     * {@link IllegalStateException}; it waits for those already in progress on other
     * threads before unmapping. If {@code munmap} fails the exception propagates, the
     * region stays closed to commit and decommit, and a later {@code close} retries the unmap.
     *
     * @throws NativeMemoryException if {@code munmap} fails
     */
    @Override
    public void close() {
        closed = true;
        try {
            long stamp = lock.writeLock();
            try {
                if (!unmapped) {
                    LinuxMemory.unmap(address, size);
                    unmapped = true;
                }
            } finally {
                lock.unlockWrite(stamp);
            }
        } finally {
            runCloseActions(); // the region is closed to every call from here on, unmapped or not
        }
    }

    /**
     * Registers {@code action} to run once when this region is closed, on the thread that
     * calls {@link #close()}, after commits and decommits have been shut out; at once, on the
     * calling thread, when the region is closed already. For layers above that keep threads
     * waiting on the region (an arena's blocked allocations), so that a close releases them
     * instead of leaving them to a free that can no longer come. An action that throws is
     * logged and does not stop the others or the close.
     *
     * @throws NullPointerException if {@code action} is null
     */
    public void onClose(Runnable action) {
        java.util.Objects.requireNonNull(action, "onClose(null): the action is null");
        synchronized (this) {
            if (closeActions != null && !closed) {
                closeActions.add(action);
                return;
            }
        }
        runQuietly(action);
    }

    private void runCloseActions() {
        List<Runnable> actions;
        synchronized (this) {
            actions = closeActions;
            closeActions = null;
        }
        if (actions != null) {
            for (Runnable a : actions) {
                runQuietly(a);
            }
        }
    }

    private void runQuietly(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            System.getLogger(VirtualRegion.class.getName()).log(System.Logger.Level.WARNING,
                    "a close action of " + this + " failed; the region is closed all the same", e);
        }
    }

    @Override
    public String toString() {
        return "VirtualRegion[" + hex(address) + ".." + hex(address + size) + ", " + size + " bytes ("
                + (size / pageSize) + " pages of " + pageSize + "), " + (closed ? "closed" : "open") + "]";
    }

    /**
     * Checks state, then arguments, and returns a read stamp to release after the OS call.
     * {@code closed} is checked before locking (so once close has begun, callers leave
     * without touching the lock) and again under the lock (close may have begun meanwhile).
     */
    private long enter(String call, long offset, long length) {
        if (closed) {
            throw closedException(call, offset, length);
        }
        String problem = rangeProblem(offset, length);
        if (problem != null) {
            throw new IllegalArgumentException(describe(call, offset, length) + " on region "
                    + hex(address) + " of " + size + " bytes: " + problem);
        }
        long stamp = lock.readLock();
        if (closed) {
            lock.unlockRead(stamp);
            throw closedException(call, offset, length);
        }
        return stamp;
    }

    private IllegalStateException closedException(String call, long offset, long length) {
        return new IllegalStateException(describe(call, offset, length)
                + ": region " + hex(address) + " of " + size + " bytes is closed");
    }

    /** What is wrong with {@code [offset, offset + length)}, or null if it is a valid range. */
    private String rangeProblem(long offset, long length) {
        long mask = pageSize - 1L;
        if (length <= 0) {
            return "length " + hex(length) + " must be > 0";
        }
        if (offset < 0) {
            return "offset " + hex(offset) + " must be >= 0";
        }
        if ((offset & mask) != 0) {
            return "offset " + hex(offset) + " is not a multiple of the page size " + hex(pageSize)
                    + " (" + pageSize + ")";
        }
        if ((length & mask) != 0) {
            return "length " + hex(length) + " is not a multiple of the page size " + hex(pageSize)
                    + " (" + pageSize + ")";
        }
        // Written as a subtraction so that a huge length cannot overflow past the check.
        if (offset >= size || length > size - offset) {
            return "offset " + hex(offset) + " + length " + hex(length) + " exceeds the region size "
                    + hex(size) + "; the range must lie within [0x0, " + hex(size) + ")";
        }
        return null;
    }

    private static String describe(String call, long offset, long length) {
        return call + "(offset=" + hex(offset) + ", length=" + hex(length) + ")";
    }

    /** {@code value} in hex with a {@code 0x} prefix, and a minus sign when negative (the native layer's one copy). */
    static String hex(long value) {
        // -Long.MIN_VALUE == Long.MIN_VALUE, whose unsigned hex is the right magnitude.
        return value < 0 ? "-0x" + Long.toHexString(-value) : "0x" + Long.toHexString(value);
    }
}
