package dev.loupe.model.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class BackendsTest {

    @Test
    void cpuIsFoundByName() {
        try (Backend b = Backends.byName("cpu", 1)) {
            assertEquals("cpu", b.name());
            assertEquals(1, b.threads());
        }
    }

    @Test
    void tornadoWithoutTheModuleSaysHowToInstallIt() {
        // the default build never has the tornado module on the class path
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.byName("tornado", 1));
        assertTrue(e.getMessage().contains("TornadoVM") && e.getMessage().contains("TORNADOVM_HOME"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void unknownNamesListTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.byName("cuda", 1));
        assertEquals("unknown backend 'cuda': expected one of [cpu]", e.getMessage());
    }

    @Test
    void heapBuffersMoveToTheHostWithoutCopies() {
        try (Backend b = Backends.byName("cpu", 1)) {
            ActivationBuffer buf = b.allocate(4);
            float[] host = buf.toHost();
            host[2] = 7f;
            assertSame(host, buf.toHost());
            buf.fromHost(host);
            buf.fromHost(new float[]{1, 2, 3, 4});
            assertArrayEquals(new float[]{1, 2, 3, 4}, host);
        }
    }
}
