package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NativeMemoryExceptionTest {

    @ParameterizedTest
    @CsvSource({
        "1, EPERM", "9, EBADF", "11, EAGAIN", "12, ENOMEM", "13, EACCES", "14, EFAULT", "22, EINVAL",
    })
    void namesTheLinuxErrnoValuesTheMemoryCallsReport(int errno, String name) {
        assertEquals(name, new NativeMemoryException("mprotect", "addr=0x1000", errno).errnoName());
    }

    @Test
    void namesAnUnknownErrnoByNumber() {
        NativeMemoryException e = new NativeMemoryException("madvise", "addr=0x1000, length=0x1000", 4242);
        assertEquals("errno 4242", e.errnoName());
        assertEquals("madvise(addr=0x1000, length=0x1000) failed: errno 4242", e.getMessage());
    }

    @Test
    void messageNamesCallArgumentsAndError() {
        NativeMemoryException e = new NativeMemoryException("munmap", "addr=0x7f0000000000, length=0x1000", 22);
        assertEquals("munmap", e.call());
        assertEquals("addr=0x7f0000000000, length=0x1000", e.arguments());
        assertEquals(22, e.errno());
        assertEquals("munmap(addr=0x7f0000000000, length=0x1000) failed: EINVAL (22): Invalid argument",
                e.getMessage());
    }

    @Test
    void aHintFollowsTheError() {
        NativeMemoryException e = new NativeMemoryException("mprotect", "prot=PROT_NONE", 12, "see vm.max_map_count");
        assertEquals("mprotect(prot=PROT_NONE) failed: ENOMEM (12): Cannot allocate memory; see vm.max_map_count",
                e.getMessage());
    }
}
