package io.moecast.trace.format;

import io.moecast.UserError;

/** Validation of one count as read from a file: a non-negative whole number that fits an int. */
final class CountCheck {
    private static final java.util.regex.Pattern DECIMAL = java.util.regex.Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");

    private CountCheck() {
    }

    static int fromLong(long v, Object file, String where) {
        if (v < 0) {
            throw UserError.inFile(file, where, "negative count " + v);
        }
        if (v > Integer.MAX_VALUE) {
            throw UserError.inFile(file, where, "count " + v + " is too large (limit " + Integer.MAX_VALUE + ")");
        }
        return (int) v;
    }

    static int fromDouble(double v, Object file, String where) {
        if (Double.isNaN(v)) {
            throw UserError.inFile(file, where, "NaN count");
        }
        if (Double.isInfinite(v)) {
            throw UserError.inFile(file, where, "infinite count");
        }
        if (v < 0) {
            throw UserError.inFile(file, where, "negative count " + v);
        }
        if (v != Math.rint(v)) {
            throw UserError.inFile(file, where, "non-integral count " + v);
        }
        if (v > Integer.MAX_VALUE) {
            throw UserError.inFile(file, where, "count " + v + " is too large (limit " + Integer.MAX_VALUE + ")");
        }
        return (int) v;
    }

    /** Parses a CSV/JSON text field as a count. Accepts "12", "12.0", "1e3"; rejects the rest. */
    static int fromText(String t, Object file, String where) {
        String s = t.trim();
        if (s.isEmpty()) {
            throw UserError.inFile(file, where, "empty count");
        }
        boolean plainInt = true;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9') && !(i == 0 && (c == '-' || c == '+'))) {
                plainInt = false;
                break;
            }
        }
        if (plainInt && s.length() < 19) {
            try {
                return fromLong(Long.parseLong(s), file, where);
            } catch (NumberFormatException e) {
                throw UserError.inFile(file, where, "not a number: '" + clip(s) + "'");
            }
        }
        String lower = s.toLowerCase(java.util.Locale.ROOT);
        if (lower.equals("nan") || lower.equals("-nan") || lower.equals("+nan")) { // numpy/pandas spelling
            throw UserError.inFile(file, where, "NaN count");
        }
        if (lower.matches("[+-]?inf(inity)?")) {
            throw UserError.inFile(file, where, "infinite count");
        }
        if (!DECIMAL.matcher(s).matches()) { // Double.parseDouble would also take "12f", "0x1p3"
            throw UserError.inFile(file, where, "not a number: '" + clip(s) + "'");
        }
        double d;
        try {
            d = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw UserError.inFile(file, where, "not a number: '" + clip(s) + "'");
        }
        return fromDouble(d, file, where);
    }

    static String clip(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    static String where(long step, int layer, int expert) {
        return "step " + step + ", layer " + layer + ", expert " + expert;
    }
}
