/**
 * The only layer of slab4j that calls the OS: one reservation of address space per
 * {@link io.slab4j.nativemem.VirtualRegion}, whose pages are committed and given back on
 * demand, and {@link io.slab4j.nativemem.NativeMemoryException} for the calls the kernel
 * refuses (the call, its arguments, errno and its name).
 *
 * <h2>Calls</h2>
 * <ul>
 *   <li>reserve: {@code mmap(PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE)}, mmap(2);
 *   <li>commit: {@code mprotect(PROT_READ|PROT_WRITE)}, mprotect(2);
 *   <li>decommit: {@code madvise(MADV_DONTNEED)} then {@code mprotect(PROT_NONE)};
 *   <li>release: {@code madvise(MADV_DONTNEED)} alone, madvise(2): pages go back, the
 *       protection stays, and no mapping is split;
 *   <li>prefault: {@code madvise(MADV_POPULATE_WRITE)} (Linux 5.14+): a committed range's
 *       pages are faulted in by one call;
 *   <li>huge-page advice: {@code madvise(MADV_HUGEPAGE)} / {@code madvise(MADV_NOHUGEPAGE)}:
 *       whether transparent huge pages may back a range (a mapping flag: advice on part of
 *       a mapping splits it, as a protection change does);
 *   <li>close: {@code munmap}.
 * </ul>
 * Optional advice a kernel does not know (EINVAL) is not an error: the call returns false,
 * and the refusal is logged once and remembered.
 * Every protection boundary splits a kernel mapping and a process may hold only
 * {@code vm.max_map_count} of them; callers that change protections often (the arena)
 * do it in coarse chunks and release pages inside them.
 *
 * <h2>Confinement</h2>
 * Only {@code LinuxMemory} imports JNA (direct mapping, primitive signatures), and a test
 * proves no other class does. On any OS/CPU but Linux x86-64 and aarch64 the public entry
 * points throw {@link java.lang.UnsupportedOperationException} before JNA is loaded.
 *
 * <h2>Locks</h2>
 * One per region: commit, decommit, release, prefault and the advice hold the read lock of its
 * {@code StampedLock} around the OS call; close sets a volatile flag, then takes the write
 * lock and unmaps, so no call ever runs on an unmapped range. This is the innermost lock of
 * slab4j: nothing is called while holding it but the OS.
 */
package io.slab4j.nativemem;
