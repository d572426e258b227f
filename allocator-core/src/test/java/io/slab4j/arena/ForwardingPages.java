package io.slab4j.arena;

/** Test seam: page calls passed to {@code real}; subclasses override the calls they inject into. */
class ForwardingPages implements Pages {
    final Pages real;

    ForwardingPages(Pages real) {
        this.real = real;
    }

    @Override
    public void commit(long offset, long length) {
        real.commit(offset, length);
    }

    @Override
    public void decommit(long offset, long length) {
        real.decommit(offset, length);
    }

    @Override
    public void release(long offset, long length) {
        real.release(offset, length);
    }

    @Override
    public boolean isOpen() {
        return real.isOpen();
    }

    @Override
    public boolean prefault(long offset, long length) {
        return real.prefault(offset, length);
    }

    @Override
    public boolean adviseHugePages(long offset, long length, boolean huge) {
        return real.adviseHugePages(offset, length, huge);
    }

    @Override
    public void onClose(Runnable action) {
        real.onClose(action);
    }

    @Override
    public String toString() {
        return "forwarding " + real;
    }
}
