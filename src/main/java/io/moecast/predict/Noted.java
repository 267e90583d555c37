package io.moecast.predict;

/** A predictor with something to report about itself (training time, the settings it chose). */
public interface Noted {
    /** One line for reports, or null. */
    String note();
}
