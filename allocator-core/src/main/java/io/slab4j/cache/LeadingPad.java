package io.slab4j.cache;

/**
 * The cache package's copy of {@code io.slab4j.buffer.LeadingPad} (package-private there too;
 * see its comment): 128 bytes in front of {@link ThreadMagazines}' fields, which its owner
 * writes on every get and put, so that two threads' holders never share a cache line however
 * a collection places them. {@code PaddingLayoutTest} checks the layout.
 */
@SuppressWarnings("unused")
abstract class LeadingPad {
    private int g;
    private long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}
