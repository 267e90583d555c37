package io.moecast.budget;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PresetsTest {
    @Test
    void everyPresetHasAValidShapeAStepTimeAndSources() {
        assertEquals(8, Presets.all().size());
        for (ModelPreset p : Presets.all()) {
            p.placementShape();
            p.routingSpec();
            assertTrue(p.stepTimeMs() > 0, p.name());
            assertFalse(p.sources().isBlank(), p.name());
            assertEquals(p.kind() == ModelPreset.Kind.SERVING, p.stepTimeGiven(), p.name());
        }
    }

    @Test
    void deepSeekV3TrainingStepIsAbout20Seconds() {
        // 2048 H800 at the MFU implied by 180K GPU-hours per trillion tokens: 62.9M tokens in ~20 s
        ModelPreset p = Presets.get("deepseek-v3");
        assertEquals(58, p.moeLayers());
        assertEquals(256, p.experts());
        assertEquals(8, p.topK());
        assertEquals(8, p.routingGroups());
        double tokensPerSecond = 1e12 / (180e3 * 3600 / 2048);
        assertEquals(p.tokensPerStep() / tokensPerSecond * 1e3, p.stepTimeMs(), 0.02 * p.stepTimeMs());
    }

    @Test
    void stepEstimateFormulaAndOverrides() {
        ModelPreset p = Presets.get("gpt3-125m-moe");
        double expected = 6 * p.activeParams() * p.tokensPerStep() / (4 * 165.2e12 * 0.30) * 1e3;
        assertEquals(expected, p.stepTimeMs(), 1e-9 * expected);
        assertEquals(12.5, p.withStepMs(12.5).stepTimeMs());
        ModelPreset q = p.with(null, null, null, null, null, 8, null, null, null, null, null, null);
        assertEquals(p.stepTimeMs() / 2, q.stepTimeMs(), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> Presets.get("gpt5"));
        // serving presets: tight budgets of tens of ms
        assertTrue(Presets.get("deepseek-v3-decode").stepTimeMs() < 100);
        assertTrue(Presets.get("qwen3-235b-a22b-decode").stepTimeMs() < 100);
    }
}
