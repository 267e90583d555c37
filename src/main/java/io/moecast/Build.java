package io.moecast;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Facts fixed at build time (written by Maven into {@code build.properties}). */
public final class Build {
    private static final Properties PROPS = new Properties();

    static {
        try (InputStream in = Build.class.getResourceAsStream("build.properties")) {
            if (in != null) {
                PROPS.load(in);
            }
        } catch (IOException ignored) {
            // defaults below
        }
    }

    private Build() {
    }

    public static String version() {
        return PROPS.getProperty("version", "dev");
    }

    /** The JVM flags every moecast JVM needs (the same ones the pom gives javac and Surefire). */
    public static String[] jvmFlags() {
        String f = PROPS.getProperty("jvm.flags", "--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED");
        return f.trim().split("\\s+");
    }
}
