package io.slab4j.arena;

/** The boundary-tag table behind the {@link Table} contract, with default and with short inline lengths (the previous layout, {@code SegmentTable}, now lives in the bench module). */
enum TableKind {
    TAGS {
        @Override
        Table make(int quanta, long baseQuanta, int leafShift) {
            return of(new TagTable(quanta, baseQuanta, leafShift));
        }
    },
    /** Lengths of 8 quanta and more in EXT words, so small ranges exercise long lengths everywhere. */
    TAGS_LONG_LENGTHS {
        @Override
        Table make(int quanta, long baseQuanta, int leafShift) {
            return of(new TagTable(quanta, baseQuanta, leafShift, 8));
        }
    };

    abstract Table make(int quanta, long baseQuanta, int leafShift);

    static Table of(TagTable t) {
        return new Table() {
            @Override
            public int allocate(int n, long alignQ, Fit fit) {
                return t.allocate(n, alignQ, fit);
            }

            @Override
            public boolean canFit(int n, long alignQ) {
                return t.canFit(n, alignQ);
            }

            @Override
            public int beginRelease(int at, int n) {
                return t.beginRelease(at, n, TagTableModelTest::describe);
            }

            @Override
            public void finishRelease(int handle) {
                t.finishRelease(handle);
            }

            @Override
            public void free(int at, int n) {
                t.free(at, n, TagTableModelTest::describe);
            }

            @Override
            public long allocatedQuanta() {
                return t.allocatedQuanta();
            }

            @Override
            public int spans() {
                return t.spans();
            }

            @Override
            public int freeSegments() {
                return t.freeSegments();
            }

            @Override
            public int largestFree() {
                return t.largestFree();
            }

            @Override
            public void check() {
                t.check();
            }
        };
    }
}
