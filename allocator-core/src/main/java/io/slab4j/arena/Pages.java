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
            public String toString() {
                return region.toString();
            }
        };
    }
}
