package io.slab4j.arena;

/**
 * The validated shape of an {@link Arena}, made once by {@link Arena.Builder#build()}: its
 * range, quantum, fit, page size, cap and backing. Every rule on the builder's values lives
 * here, so a bad value is rejected, naming itself and the expectation, before any arena
 * exists; the builder itself is never changed. Immutable.
 *
 * @param maxQuanta the cap in quanta; the whole range when {@code capped} is false
 */
record ArenaGeometry(long base, long size, long quantum, Fit fit, long pageSize, long maxQuanta, boolean capped,
                     Backing backing) {
    /** Default commit chunks: at least this big, and at most this many over the range. */
    private static final long MIN_DEFAULT_CHUNK = 64 << 10;
    private static final long MAX_DEFAULT_CHUNKS = 8192;

    /**
     * @param pages        the region's page calls, or null for a plain range
     * @param maxCommitted the cap in bytes, 0 for none
     * @param commitChunk  the chunk in bytes, 0 for the default
     * @param advice       what a commit does beyond protection (prefault, huge pages)
     */
    static ArenaGeometry of(Pages pages, long base, long size, int osPageSize, long quantum, Fit fit,
                            long maxCommitted, long commitChunk, CommitChunks.Advice advice) {
        if (quantum <= 0 || Long.bitCount(quantum) != 1) {
            throw new IllegalArgumentException("quantum " + quantum + " is not a power of two");
        }
        if (pages != null && quantum % osPageSize != 0) {
            throw new IllegalArgumentException("quantum " + quantum + " over a region must be a multiple of the page size "
                    + osPageSize + " (spans are committed page by page)");
        }
        // over a region, a quantum above the page needs a region aligned to it, which only reserve(bytes, alignment) promises
        String remedy = pages != null && quantum > osPageSize
                ? "; reserve the region with VirtualRegion.reserve(bytes, " + quantum + ") to align it to a quantum above the page" : "";
        if (base <= 0 || (base & (quantum - 1)) != 0) {
            throw new IllegalArgumentException("base " + Hex.of(base) + " is not a positive multiple of the quantum "
                    + quantum + " (0 is the 'no fit' sentinel)" + remedy);
        }
        if (size <= 0 || (size & (quantum - 1)) != 0) {
            throw new IllegalArgumentException("size " + size + " is not a positive multiple of the quantum " + quantum + remedy);
        }
        if (base + size < base) {
            throw new IllegalArgumentException("range " + Hex.of(base) + " + " + size + " overflows the address space");
        }
        if (size / quantum > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size " + size + " holds " + size / quantum + " quanta of " + quantum
                    + "; at most " + Integer.MAX_VALUE + " are supported: use a larger quantum");
        }
        if (maxCommitted != 0 && (maxCommitted < quantum || maxCommitted > size)) {
            throw new IllegalArgumentException("maxCommitted " + maxCommitted + " is not in [" + quantum + ", " + size
                    + "]: at least one quantum, at most the arena's size");
        }
        long maxQuanta = (maxCommitted != 0 ? maxCommitted : size) / quantum;
        long pageSize = pages != null ? osPageSize : Math.max(4096, quantum);
        return new ArenaGeometry(base, size, quantum, fit, pageSize, maxQuanta, maxCommitted != 0,
                backing(pages, size, osPageSize, commitChunk, advice));
    }

    private static Backing backing(Pages pages, long size, int osPageSize, long commitChunk, CommitChunks.Advice advice) {
        if (pages == null) {
            if (commitChunk != 0) {
                throw new IllegalArgumentException("commitChunk " + commitChunk
                        + ": a plain range commits nothing; commit chunks apply over a region only");
            }
            if (advice.requested()) {
                throw new IllegalArgumentException(advice + ": a plain range commits nothing; prefault and huge"
                        + " pages apply over a region only");
            }
            return Backing.PLAIN;
        }
        long chunk = commitChunk;
        if (chunk == 0) {
            long spread = Long.highestOneBit(Math.max(1, (size + MAX_DEFAULT_CHUNKS - 1) / MAX_DEFAULT_CHUNKS - 1)) << 1;
            chunk = Math.max(Math.max(MIN_DEFAULT_CHUNK, osPageSize), spread);
        } else if (chunk % osPageSize != 0) {
            throw new IllegalArgumentException("commitChunk " + chunk + " is not a multiple of the page size " + osPageSize);
        }
        if (size / chunk >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("commitChunk " + chunk + " makes " + size / chunk + " chunks of "
                    + size + " bytes; use a larger chunk");
        }
        return new CommitChunks(pages, size, chunk, advice);
    }

    /** The size in quanta; rejects a size that is not positive, beyond the range, or beyond the cap. */
    int quantaFor(long bytes, String call, Arena arena) {
        if (bytes <= 0 || bytes > size) {
            throw new IllegalArgumentException(call + ": size " + bytes + " is not in [1, " + size + "], the arena's size");
        }
        if (capped && bytes > maxQuanta * quantum) {
            throw new IllegalArgumentException(call + ": size " + bytes + " exceeds maxCommitted " + maxQuanta * quantum
                    + " of " + arena + "; it could never be met");
        }
        return (int) ((bytes + quantum - 1) / quantum);
    }

    /** The alignment in quanta; rejects one that is malformed or that no aligned address of the range has room for. */
    long alignQuanta(long align, int n, String call, Arena arena) {
        if (align < quantum || Long.bitCount(align) != 1) {
            throw new IllegalArgumentException(call + ": alignment " + align
                    + " is not a power of two at least the quantum (" + quantum + ")");
        }
        long alignQ = align / quantum;
        long baseQ = base / quantum;
        long firstAligned = (baseQ & (alignQ - 1)) == 0 ? 0 : alignQ - (baseQ & (alignQ - 1));
        if (alignQ > 1 && firstAligned + n > size / quantum) {
            throw new IllegalArgumentException(call + ": alignment " + align + " leaves no room for " + n * quantum
                    + " bytes: no address of " + arena + " that is a multiple of it has that much of the range after it;"
                    + " it could never be met");
        }
        return alignQ;
    }
}
