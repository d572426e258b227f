package io.slab4j.arena;

/**
 * What an {@link Arena} does to the memory behind its range as spans come and go: nothing
 * ({@link #PLAIN}, a plain address range someone else maps, or none at all in tests), or
 * commit and release through commit chunks over a region ({@link CommitChunks}). The arena
 * calls it outside its lock, on spans the calling thread alone holds.
 *
 * <p>Contract: {@link #commit} either makes the span usable or throws having changed
 * nothing the arena can see; {@link #release} does what it can, keeps its own bookkeeping
 * right whatever the OS did, and throws the first failure afterwards (the arena counts
 * and logs it and never passes it on). Memory that is gone (the region closed) is not a
 * failure of {@code release}: nothing stays committed, so it does not throw for it; a
 * commit over a closed region throws {@link IllegalStateException}, and only then while
 * {@link #isOpen} is false. Implementations are thread-safe.
 */
interface Backing {
    /** Makes {@code [offset, offset + length)} of a freshly carved span usable. */
    void commit(long offset, long length);

    /**
     * Gives the memory of a freed span back; throws (after doing what it could) when the OS
     * refused some of it, never because the region is closed (its memory is gone already).
     */
    void release(long offset, long length);

    /** False when commit and release do nothing: the arena then frees in one step under its lock. */
    boolean touchesMemory();

    /** False once the memory is gone (the region was closed): nothing can be committed any more. */
    boolean isOpen();

    /** Runs {@code action} once the memory is gone (the region closed); never for a plain range (the default). */
    default void onClose(Runnable action) {
    }

    /**
     * Tries again to make inaccessible the free memory whose release the OS refused before;
     * returns the bytes it made inaccessible now. Never throws for a refusal (that memory
     * stays as it is, for a later call). 0 for a plain range.
     */
    default long retryReleases() {
        return 0;
    }

    /** Bytes made readable and writable (whole chunks), a freed span's released pages included; 0 for a plain range. */
    long accessibleBytes();

    /** Commit granularity in bytes; 0 for a plain range. */
    long chunkBytes();

    /**
     * Checks the backing's bookkeeping; when {@code spans} is not null (the arena is
     * quiescent: no span being committed or released), also that it agrees with them.
     * Called under the arena lock.
     */
    void check(TagTable spans, int quantumShift);

    /** The plain range: no OS calls, nothing to check. */
    Backing PLAIN = new Backing() {
        @Override
        public void commit(long offset, long length) {
        }

        @Override
        public void release(long offset, long length) {
        }

        @Override
        public boolean touchesMemory() {
            return false;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public long accessibleBytes() {
            return 0;
        }

        @Override
        public long chunkBytes() {
            return 0;
        }

        @Override
        public void check(TagTable spans, int quantumShift) {
        }

        @Override
        public String toString() {
            return "plain range";
        }
    };
}
