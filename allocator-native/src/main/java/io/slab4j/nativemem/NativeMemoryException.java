package io.slab4j.nativemem;

/**
 * An operating-system memory call ({@code mmap}, {@code mprotect}, {@code madvise},
 * {@code munmap}) failed.
 *
 * <p>The message names the call, its arguments (addresses and lengths in hex, flags by
 * name) and the error, for example:
 * <pre>
 * mmap(addr=0x0, length=0x4000000000000000, prot=PROT_NONE,
 *      flags=MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, fd=-1, offset=0x0)
 *      failed: ENOMEM (12): Cannot allocate memory
 * </pre>
 * (on one line). {@link #errnoName()} knows the handful of Linux errno values these calls
 * can report; any other value is named {@code "errno N"}.
 *
 * <p>Invariants: immutable; {@link #call()}, {@link #arguments()} and {@link #errno()} are
 * exactly what the constructor was given.
 *
 * <p>Concurrency: immutable, so safe to share between threads once constructed.
 */
public class NativeMemoryException extends RuntimeException {

    /** Linux errno values (asm-generic, the same on x86-64 and aarch64): number, name, text. */
    private static final Object[][] ERRNO_TABLE = {
        {1, "EPERM", "Operation not permitted"},
        {2, "ENOENT", "No such file or directory"},
        {4, "EINTR", "Interrupted system call"},
        {9, "EBADF", "Bad file descriptor"},
        {11, "EAGAIN", "Resource temporarily unavailable"},
        {12, "ENOMEM", "Cannot allocate memory"},
        {13, "EACCES", "Permission denied"},
        {14, "EFAULT", "Bad address"},
        {16, "EBUSY", "Device or resource busy"},
        {17, "EEXIST", "File exists"},
        {19, "ENODEV", "No such device"},
        {22, "EINVAL", "Invalid argument"},
        {23, "ENFILE", "Too many open files in system"},
        {24, "EMFILE", "Too many open files"},
        {38, "ENOSYS", "Function not implemented"},
        {75, "EOVERFLOW", "Value too large for defined data type"},
    };

    /** The failed call, e.g. {@code "mmap"}. */
    private final String call;

    /** The call's arguments as shown in the message, e.g. {@code "addr=0x0, length=0x1000"}. */
    private final String arguments;

    /** The {@code errno} the call left behind. */
    private final int errno;

    /**
     * @param call      the failed call, e.g. {@code "mprotect"}
     * @param arguments its arguments, formatted for people, e.g. {@code "addr=0x7f00, length=0x1000"}
     * @param errno     the {@code errno} value the call reported
     */
    public NativeMemoryException(String call, String arguments, int errno) {
        this(call, arguments, errno, null);
    }

    /**
     * @param hint what usually causes this failure and what to look at, appended to the
     *             message; may be null
     */
    NativeMemoryException(String call, String arguments, int errno, String hint) {
        super(message(call, arguments, errno, hint));
        this.call = call;
        this.arguments = arguments;
        this.errno = errno;
    }

    /** The failed call, e.g. {@code "mmap"}, {@code "mprotect"}, {@code "madvise"}, {@code "munmap"}. */
    public String call() {
        return call;
    }

    /** The call's arguments as they appear in the message. */
    public String arguments() {
        return arguments;
    }

    /** The {@code errno} value the call reported. */
    public int errno() {
        return errno;
    }

    /** The symbolic name of {@link #errno()}, e.g. {@code "ENOMEM"}, or {@code "errno N"} if unknown. */
    public String errnoName() {
        return errnoName(errno);
    }

    /** The symbolic Linux name of {@code errno}, e.g. {@code "ENOMEM"}, or {@code "errno N"} if unknown. */
    static String errnoName(int errno) {
        Object[] row = row(errno);
        return row == null ? "errno " + errno : (String) row[1];
    }

    private static Object[] row(int errno) {
        for (Object[] row : ERRNO_TABLE) {
            if ((Integer) row[0] == errno) {
                return row;
            }
        }
        return null;
    }

    private static String message(String call, String arguments, int errno, String hint) {
        Object[] row = row(errno);
        String error = row == null
                ? "errno " + errno
                : row[1] + " (" + errno + "): " + row[2];
        String text = call + "(" + arguments + ") failed: " + error;
        return hint == null ? text : text + "; " + hint;
    }
}
