package io.slab4j.nativemem;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

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
 * <p>Invariants: nothing here keeps state beyond the page size read once at class
 * initialisation; every method either succeeds or throws {@link NativeMemoryException}
 * naming the call, its arguments and the errno.
 *
 * <p>Concurrency: stateless and thread-safe; the kernel serialises changes to the
 * address space. Keeping callers from using a range after it is unmapped is
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
