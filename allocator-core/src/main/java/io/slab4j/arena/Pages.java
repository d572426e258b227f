package io.slab4j.arena;

import io.slab4j.nativemem.VirtualRegion;

/**
 * The page calls {@link CommitChunks} makes on the memory behind an arena: in production
 * those of a {@link VirtualRegion} ({@code mprotect(2)}, {@code madvise(2)}); in tests a
 * fake that fails on demand. Offsets are from the arena's base, page aligned.
 *
 * <p>Implementations are thread-safe and throw {@code NativeMemoryException} when the OS
 * refuses, {@link IllegalStateException} once the memory is gone (region closed).
 */
interface Pages {
    /** Makes the range readable and writable ({@link VirtualRegion#commit}). */
    void commit(long offset, long length);

    /** Drops the range's pages and makes it inaccessible ({@link VirtualRegion#decommit}). */
    void decommit(long offset, long length);

    /** Drops the range's pages, keeping their protection ({@link VirtualRegion#release}). */
    void release(long offset, long length);

    boolean isOpen();

    /**
     * Faults the range's pages in now ({@link VirtualRegion#prefault}); false when the
     * kernel cannot (and for memory that has no such call: the default).
     */
    default boolean prefault(long offset, long length) {
        return false;
    }

    /**
     * Lets ({@code huge}) or keeps ({@code !huge}) transparent huge pages back the range
     * ({@link VirtualRegion#adviseHugePages}, {@link VirtualRegion#adviseNoHugePages}); false
     * when the kernel has none (and for memory that has no such call: the default).
     */
    default boolean adviseHugePages(long offset, long length, boolean huge) {
        return false;
    }

    /** Runs {@code action} once the memory is gone ({@link VirtualRegion#onClose}); never, for memory that cannot go (the default). */
    default void onClose(Runnable action) {
    }

    /** The calls of {@code region}. */
    static Pages of(VirtualRegion region) {
        return new Pages() {
            @Override
            public void commit(long offset, long length) {
                region.commit(offset, length);
            }

            @Override
            public void decommit(long offset, long length) {
                region.decommit(offset, length);
            }

            @Override
            public void release(long offset, long length) {
                region.release(offset, length);
            }

            @Override
            public boolean isOpen() {
                return region.isOpen();
            }

            @Override
            public void onClose(Runnable action) {
                region.onClose(action);
            }

            @Override
            public boolean prefault(long offset, long length) {
                return region.prefault(offset, length);
            }

            @Override
            public boolean adviseHugePages(long offset, long length, boolean huge) {
                return huge ? region.adviseHugePages(offset, length) : region.adviseNoHugePages(offset, length);
            }

            @Override
            public String toString() {
                return region.toString();
            }
        };
    }
}
