package io.slab4j.arena;

/** The boundary-tag tables behind the {@link Table} contract (the previous layout, {@code SegmentTable}, now lives in the bench module). */
enum TableKind {
    TAGS {
        @Override
        Table make(int quanta, long baseQuanta, int leafShift) {
            TagTable t = new TagTable(quanta, baseQuanta, leafShift);
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
    };

    abstract Table make(int quanta, long baseQuanta, int leafShift);
}
