package io.slab4j.event;

/** The value {@link Events#timeout} yields: a signal, not data (events never yield null). */
public enum Timeout {
    TIMEOUT
}
