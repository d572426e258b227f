package io.slab4j.buffer;

/**
 * 128 bytes of unused fields that a class written on every operation by one thread extends,
 * so that its own fields start two cache lines after the object's header. A collection may
 * copy two threads' such objects next to each other; with this padding in front of each, the
 * fields one thread writes never share a cache line (or the adjacent-line prefetch pair) with
 * the fields another thread writes, and an operation does not move a line between cores.
 *
 * <p>HotSpot lays out a superclass's fields before its subclass's and may place a subclass
 * field in a gap the superclass leaves; the int fills the 4-byte gap after a 12-byte header,
 * so no subclass field lands in front of the longs. Layout is the JVM's choice:
 * {@code PaddingLayoutTest} checks it on the JVM the tests run on.
 */
@SuppressWarnings("unused")
abstract class LeadingPad {
    private int g;
    private long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}
