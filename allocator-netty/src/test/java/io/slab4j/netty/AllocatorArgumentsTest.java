package io.slab4j.netty;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The allocator's refusals of bad arguments name the call that was made. */
class AllocatorArgumentsTest {
    /** Review 15: the constructor's refusal said "builder(null)", a call the user never made. */
    @Test
    void aNullPoolIsRefusedNamingTheCallMade() {
        assertThatThrownBy(() -> new SlabByteBufAllocator(null)).isInstanceOf(NullPointerException.class)
                .hasMessageStartingWith("new SlabByteBufAllocator(null)");
        assertThatThrownBy(() -> SlabByteBufAllocator.builder(null)).isInstanceOf(NullPointerException.class)
                .hasMessageStartingWith("builder(null)");
    }
}
