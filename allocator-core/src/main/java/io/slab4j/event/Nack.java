package io.slab4j.event;

/** The value a {@link NackEvent} yields: a signal, not data (events never yield null). */
public enum Nack {
    NACK
}
