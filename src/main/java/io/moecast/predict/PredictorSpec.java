package io.moecast.predict;

import io.moecast.UserError;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A predictor name with optional parameters: {@code name} or {@code name:key=value:key=value}, e.g.
 * {@code sw-avg:window=200}, {@code ema:beta=0.8}, {@code arima:p=2:d=1:q=1:refit=200}. Parameters use
 * {@code :} (not commas) so a comma-separated list of specs stays unambiguous on the command line.
 * Unknown or malformed parameters are user errors naming the option.
 */
public final class PredictorSpec {
    private final String text;
    private final String name;
    private final Map<String, String> params;
    private final Set<String> used = new LinkedHashSet<>();
    private final String option;

    private PredictorSpec(String text, String name, Map<String, String> params, String option) {
        this.text = text;
        this.name = name;
        this.params = params;
        this.option = option;
    }

    /** Parses a spec; {@code option} names the CLI option in error messages (e.g. "--predictors"). */
    public static PredictorSpec parse(String text, String option) {
        String t = text == null ? "" : text.trim();
        if (t.isEmpty()) {
            throw UserError.option(option, "empty predictor name");
        }
        String[] parts = t.split(":");
        String name = parts[0].trim().toLowerCase(Locale.ROOT);
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            String kv = parts[i].trim();
            int eq = kv.indexOf('=');
            if (eq <= 0 || eq == kv.length() - 1) {
                throw UserError.option(option, "'" + t + "': parameter '" + kv + "' is not key=value");
            }
            String k = kv.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            if (params.put(k, kv.substring(eq + 1).trim()) != null) {
                throw UserError.option(option, "'" + t + "': parameter '" + k + "' given twice");
            }
        }
        return new PredictorSpec(t, name, params, option);
    }

    public static PredictorSpec parse(String text) {
        return parse(text, "predictor");
    }

    public String name() {
        return name;
    }

    public String text() {
        return text;
    }

    public boolean has(String key) {
        return params.containsKey(key);
    }

    public int getInt(String key, int def, int min, int max) {
        used.add(key);
        String v = params.get(key);
        if (v == null) {
            return def;
        }
        int x;
        try {
            x = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw bad(key, v, "an integer");
        }
        if (x < min || x > max) {
            throw bad(key, v, "an integer in [" + min + ", " + max + "]");
        }
        return x;
    }

    public double getDouble(String key, double def, double min, double max) {
        used.add(key);
        String v = params.get(key);
        if (v == null) {
            return def;
        }
        double x;
        try {
            x = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw bad(key, v, "a number");
        }
        if (!(x >= min && x <= max)) {
            throw bad(key, v, "a number in [" + min + ", " + max + "]");
        }
        return x;
    }

    public String getString(String key, String def) {
        used.add(key);
        String v = params.get(key);
        return v == null ? def : v;
    }

    /** Fails on parameters nobody asked for (typos). Call after reading all parameters. */
    public void checkAllUsed() {
        for (String k : params.keySet()) {
            if (!used.contains(k)) {
                throw UserError.option(option, "'" + text + "': unknown parameter '" + k + "' for " + name
                        + (used.isEmpty() ? " (it takes none)" : " (known: " + String.join(", ", used) + ")"));
            }
        }
    }

    private UserError bad(String key, String v, String what) {
        return UserError.option(option, "'" + text + "': " + key + "=" + v + " must be " + what);
    }

    @Override
    public String toString() {
        return text;
    }
}
