package io.slab4j.arena;

/**
 * The package-private contract {@link Arena} uses on its boundary-tag table, so the model
 * test drives every table ({@link TableKind}) alike. Bad frees render quanta with
 * {@link TagTableModelTest#describe}.
 */
interface Table {
    int allocate(int n, long alignQ, Fit fit);

    boolean canFit(int n, long alignQ);

    int beginRelease(int at, int n);

    void finishRelease(int handle);

    void free(int at, int n);

    long allocatedQuanta();

    int spans();

    int freeSegments();

    int largestFree();

    void check();
}
