package io.moecast.placement;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moecast.util.Json;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlanJsonTest {
    @Test
    void roundTrip() throws Exception {
        Random rnd = new Random(5);
        PlacementShape s = PlacementShape.of(3, 64, 16, 8, 2, 8);
        double[] load = new double[3 * 64];
        for (int i = 0; i < load.length; i++) {
            load[i] = Math.pow(rnd.nextDouble(), -1.5);
        }
        Placement p = EplbPlannerTest.plan(s, load);
        String text = Json.MAPPER.writeValueAsString(PlanJson.toMap(p));
        Placement back = PlanJson.fromJson(Json.MAPPER.readTree(text));
        assertEquals(p, back);
        assertEquals(p.shape(), back.shape());
    }

    @Test
    void rejectsInconsistentPlans() throws Exception {
        PlacementShape s = PlacementShape.of(1, 4, 2, 2);
        Placement p = EplbPlannerTest.plan(s, new double[] {6, 3, 2, 1});
        JsonNode good = Json.MAPPER.valueToTree(PlanJson.toMap(p));

        ObjectNode bad = good.deepCopy();
        ((ArrayNode) bad.get("logcnt").get(0)).set(0, 2);
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> PlanJson.fromJson(bad));
        assertTrue(ex.getMessage().contains("logcnt[0][0]"), ex.getMessage());

        ObjectNode bad2 = good.deepCopy();
        ((ArrayNode) bad2.get("phy2log").get(0)).set(0, 9);
        assertThrows(IllegalArgumentException.class, () -> PlanJson.fromJson(bad2));

        ObjectNode bad3 = good.deepCopy();
        ((ArrayNode) bad3.get("log2phy").get(0).get(0)).set(0, 0); // slot 0 holds expert 1
        ex = assertThrows(IllegalArgumentException.class, () -> PlanJson.fromJson(bad3));
        assertTrue(ex.getMessage().contains("log2phy[0][0][0]"), ex.getMessage());

        ObjectNode bad4 = good.deepCopy();
        bad4.remove("phy2log");
        assertThrows(IllegalArgumentException.class, () -> PlanJson.fromJson(bad4));
    }
}
