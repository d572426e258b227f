package io.slab4j.nativemem;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The libc memory calls slab4j makes, bound with JNA <em>direct mapping</em>, and the one
 * class in the project that imports {@code com.sun.jna}.
 *
 * <p>Direct mapping ({@link Native#register(Class, NativeLibrary)} over {@code static
 * native} methods) rather than an interface proxy, because these calls sit on the
 * arena's grow and shrink paths: no reflection, no boxing, no argument array per call.
 * Every signature is primitive only ({@code void*}, {@code size_t} and {@code off_t} are
 * {@code long}, as they are 64 bits wide on LP64 Linux), so JNA converts nothing either.
 *
 * <p>Errors: a call's return value says whether it failed ({@link #MAP_FAILED} or -1);
 * only then is {@link Native#getLastError()} read, which JNA saves per thread right after
 * every direct call. Methods are not declared {@code throws LastErrorException}: JNA
 * would then throw whenever {@code errno} is non-zero after the call, which libc does not
 * promise to leave at zero on success.
 *
 * <p>Constants are the generic Linux values, identical on x86-64 and aarch64 (see
 * {@code mmap(2)}, {@code mprotect(2)}, {@code madvise(2)}). Callers must check
 * {@link SupportedPlatform} before touching this class, so it is never loaded (and JNA
 * never initialised) on a platform where those values would be wrong.
 *
 * <p>Optional advice ({@link Advice}: prefault, huge pages) may be unknown to the kernel
 * (prefault before Linux 5.14, huge-page advice without {@code CONFIG_TRANSPARENT_HUGEPAGE}).
 * That is not an error here: the call returns false, the answer is remembered (later calls
 * return false without a syscall) and logged once, at INFO, through {@link System.Logger}.
 *
 * <p>Invariants: nothing here keeps state beyond the page size and huge-page size read
 * once at class initialisation and whether each {@link Advice} is known (found once);
 * every method either succeeds, returns false for an advice the kernel does not know, or
 * throws {@link NativeMemoryException} naming the call, its arguments and the errno.
 *
 * <p>Concurrency: thread-safe, and stateless but for those answers; the kernel serialises
 * changes to the address space. Keeping callers from using a range after it is unmapped is
 * {@link VirtualRegion}'s job.
 */
final class LinuxMemory {

    static final int PROT_NONE = 0x0;
    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;

    static final int MAP_PRIVATE = 0x02;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;

    static final int MADV_DONTNEED = 4;
    static final int MADV_HUGEPAGE = 14;
    static final int MADV_NOHUGEPAGE = 15;
    /** Linux 5.14+: fault every page of the range in, writable, as a write would (madvise(2)). */
    static final int MADV_POPULATE_WRITE = 23;

    /** errno: out of memory, address space or mappings. */
    static final int ENOMEM = 12;

    /** {@code (void *) -1}, what {@code mmap} returns on failure. */
    static final long MAP_FAILED = -1L;

    private static final String RESERVE_FLAGS = "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE";

    /** Why {@code mprotect}/{@code madvise} typically fail with ENOMEM on a valid range. */
    private static final String ENOMEM_HINT = "the process may have too many mappings"
            + " (each commit/decommit boundary splits one; see /proc/sys/vm/max_map_count)"
            + " or reached the commit limit (vm.overcommit_memory=2)";

    /** The kernel page size, from {@code getpagesize()}; a power of two. */
    private static final int PAGE_SIZE;

    /** Where the kernel says how big a transparent huge page (one PMD) is. */
    private static final Path THP_SIZE = Path.of("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    /** The THP policy: {@code always [madvise] never}, the bracketed word being in force. */
    private static final Path THP_ENABLED = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    /** The transparent huge page size, or 0 when THP is absent or set to {@code never}; read once. */
    private static final long HUGE_PAGE_SIZE = readHugePageSize();

    private static final System.Logger LOG = System.getLogger(VirtualRegion.class.getName());

    /** Prefault: populate writable. Unknown before Linux 5.14. */
    static final Advice POPULATE_WRITE = new Advice(MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE",
            "pages will fill on first touch instead (the kernel is probably older than 5.14)");
    /** Huge-page advice; unknown to a kernel built without transparent huge pages. */
    static final Advice HUGEPAGE = new Advice(MADV_HUGEPAGE, "MADV_HUGEPAGE",
            "no transparent huge pages (kernel built without CONFIG_TRANSPARENT_HUGEPAGE)");
    static final Advice NOHUGEPAGE = new Advice(MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE",
            "no transparent huge pages (kernel built without CONFIG_TRANSPARENT_HUGEPAGE)");

    /**
     * An optional {@code madvise} advice value that a kernel may not know. Whether it does is
     * asked once, on first use, by a probe of length 0: madvise(2) checks the advice value
     * before anything else and, for a valid one, returns 0 at once for an empty range, so the
     * probe's EINVAL means "unknown advice" and nothing else (an EINVAL on a real range may
     * also mean the range does not suit the advice, e.g. a prefault of inaccessible pages).
     * Thread-safe: {@code state} is volatile and goes from unknown to known once (two racing
     * first calls both probe, with the same answer).
     */
    static final class Advice {
        private static final int UNKNOWN = 0;
        private static final int SUPPORTED = 1;
        private static final int REFUSED = -1;

        final int value;
        final String name;
        private final String consequence;
        /** UNKNOWN until the first call's probe, then SUPPORTED or REFUSED for good. */
        private volatile int state = UNKNOWN;

        Advice(int value, String name, String consequence) {
            this.value = value;
            this.name = name;
            this.consequence = consequence;
        }

        /** Whether the kernel has been found not to know this advice. */
        boolean refused() {
            return state == REFUSED;
        }

        /**
         * {@code madvise(address, length, value)}: true when applied, false when the kernel
         * does not know the advice (found now or before; logged once).
         *
         * @throws NativeMemoryException when the kernel knows the advice but refuses it for
         *                               this range (EINVAL, EFAULT, ENOMEM, ...)
         */
        boolean apply(long address, long length) {
            int known = state;
            if (known == UNKNOWN) {
                known = madviseErrno(0L, 0L, value) == 0 ? SUPPORTED : REFUSED;
                state = known;
                if (known == REFUSED) {
                    LOG.log(System.Logger.Level.INFO, "madvise(" + name + ") is unknown to this kernel (EINVAL): "
                            + consequence + "; not asked again in this process");
                }
            }
            if (known == REFUSED) {
                return false;
            }
            int errno = madviseErrno(address, length, value);
            if (errno != 0) {
                throw new NativeMemoryException("madvise", "addr=" + VirtualRegion.hex(address)
                        + ", length=" + VirtualRegion.hex(length) + ", advice=" + name,
                        errno, errno == ENOMEM ? ENOMEM_HINT : null);
            }
            return true;
        }
    }

    /** {@code madvise}, answering 0 on success or the errno (kept here: only this class touches JNA). */
    private static int madviseErrno(long address, long length, int advice) {
        return madvise(address, length, advice) == 0 ? 0 : Native.getLastError();
    }

    static {
        Native.register(LinuxMemory.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
        int pageSize = getpagesize();
        if (pageSize < 4096 || Integer.bitCount(pageSize) != 1) {
            throw new IllegalStateException("getpagesize() returned " + pageSize
                    + ", expected a power of two >= 4096");
        }
        PAGE_SIZE = pageSize;
    }

    private LinuxMemory() {
    }

    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
    private static native long mmap(long addr, long length, int prot, int flags, int fd, long offset);

    // int munmap(void *addr, size_t length);
    private static native int munmap(long addr, long length);

    // int mprotect(void *addr, size_t len, int prot);
    private static native int mprotect(long addr, long length, int prot);

    // int madvise(void *addr, size_t length, int advice);
    private static native int madvise(long addr, long length, int advice);

    // int getpagesize(void);
    private static native int getpagesize();

    /** The kernel page size in bytes. */
    static int pageSize() {
        return PAGE_SIZE;
    }

    /** The transparent huge page size in bytes, 0 when there are none (absent, or {@code never}). */
    static long hugePageSize() {
        return HUGE_PAGE_SIZE;
    }

    private static long readHugePageSize() {
        try {
            String enabled = Files.readString(THP_ENABLED);
            if (enabled.contains("[never]")) {
                return 0;
            }
            long size = Long.parseLong(Files.readString(THP_SIZE).trim());
            return size > 0 && Long.bitCount(size) == 1 ? size : 0;
        } catch (IOException | NumberFormatException | SecurityException e) {
            return 0; // no sysfs entry: a kernel without THP, or a sandbox hiding it
        }
    }

    /**
     * Reserves {@code length} bytes of address space that is inaccessible and backed by
     * nothing: no page is committed and no swap or overcommit charge is taken.
     *
     * @param length a positive multiple of {@link #pageSize()}
     * @return the start of the reservation, page aligned
     */
    static long reserve(long length) {
        int prot = PROT_NONE;
        int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
        long address = mmap(0L, length, prot, flags, -1, 0L);
        if (address == MAP_FAILED) {
            int errno = Native.getLastError();
            throw new NativeMemoryException("mmap", "addr=0x0, length=" + VirtualRegion.hex(length)
                    + ", prot=PROT_NONE, flags=" + RESERVE_FLAGS + ", fd=-1, offset=0x0", errno);
        }
        return address;
    }

    /**
     * Reserves {@code length} bytes as {@link #reserve(long)} does, starting at a multiple of
     * {@code alignment}: reserves {@code length + alignment - pageSize} and unmaps the head and
     * tail around the aligned part. If trimming fails, what is still this call's of the
     * over-reservation is unmapped and the failure thrown, so nothing is left behind: the whole
     * of it when the head's unmap failed, else from the aligned part on. Once the head is
     * unmapped its addresses are free for any thread's next mmap, so unmapping them again could
     * take another mapping away.
     *
     * @param length    a positive multiple of {@link #pageSize()}
     * @param alignment a power of two, greater than {@link #pageSize()}, with {@code length + alignment} not overflowing
     */
    static long reserveAligned(long length, long alignment) {
        return trimToAligned(reserve(length + alignment - PAGE_SIZE), length, alignment, LinuxMemory::unmap);
    }

    /** {@code munmap} as {@link #trimToAligned} calls it: the real one, or a test's that refuses. */
    interface Unmapper {
        void unmap(long address, long length);
    }

    /** {@link #reserveAligned}'s trimming of the over-reservation at {@code raw}, through {@code unmapper}. */
    static long trimToAligned(long raw, long length, long alignment, Unmapper unmapper) {
        long slack = alignment - PAGE_SIZE;
        long aligned = (raw + alignment - 1) & -alignment;
        long head = aligned - raw;
        long tail = slack - head;
        long ours = raw; // the first byte still this call's: past the head once the head is unmapped
        try {
            if (head > 0) {
                unmapper.unmap(raw, head);
                ours = aligned;
            }
            if (tail > 0) {
                unmapper.unmap(aligned + length, tail);
            }
        } catch (NativeMemoryException e) {
            try {
                unmapper.unmap(ours, raw + length + slack - ours); // a failed munmap unmapped nothing, so all of this is still ours
            } catch (NativeMemoryException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        return aligned;
    }

    /** Makes {@code [address, address + length)} readable and writable; pages fill on first touch. */
    static void commit(long address, long length) {
        protect(address, length, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");
    }

    /**
     * Gives the pages of {@code [address, address + length)} back to the kernel (the
     * resident set falls; later reads see zeros) and makes the range inaccessible again, so
     * a stray access faults instead of silently re-committing a page.
     */
    static void decommit(long address, long length) {
        release(address, length);
        protect(address, length, PROT_NONE, "PROT_NONE");
    }

    /**
     * Gives the pages of {@code [address, address + length)} back to the kernel without
     * changing their protection ({@code madvise(MADV_DONTNEED)}, madvise(2)): the resident
     * set falls, the range stays accessible, and the next touch of a page reads zeros. No
     * protection change means no mapping is split, which is what a commit chunk wants for
     * a freed span inside it.
     */
    static void release(long address, long length) {
        if (madvise(address, length, MADV_DONTNEED) != 0) {
            int errno = Native.getLastError();
            throw new NativeMemoryException("madvise", "addr=" + VirtualRegion.hex(address)
                    + ", length=" + VirtualRegion.hex(length) + ", advice=MADV_DONTNEED",
                    errno, errno == ENOMEM ? ENOMEM_HINT : null);
        }
    }

    /** Unmaps {@code [address, address + length)}; afterwards any access faults. */
    static void unmap(long address, long length) {
        if (munmap(address, length) != 0) {
            int errno = Native.getLastError();
            throw new NativeMemoryException("munmap", "addr=" + VirtualRegion.hex(address)
                    + ", length=" + VirtualRegion.hex(length), errno);
        }
    }

    private static void protect(long address, long length, int prot, String protName) {
        if (mprotect(address, length, prot) != 0) {
            int errno = Native.getLastError();
            throw new NativeMemoryException("mprotect", "addr=" + VirtualRegion.hex(address)
                    + ", length=" + VirtualRegion.hex(length) + ", prot=" + protName,
                    errno, errno == ENOMEM ? ENOMEM_HINT : null);
        }
    }
}
