package io.moecast.analysis;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The offline answer for a whole trace: per layer, the runs of transient and stable steps, the
 * transition step (first stable step) and any relapses into fluctuation; and the same for the model
 * (stable while every layer is stable, for at least the hold). Steps are the trace's step numbers.
 */
public final class StateTimeline {
    private final StateCriterion criterion;
    private final long firstStep;
    private final long endStep;
    private final List<List<Segment>> layers;
    private final List<Segment> model;

    public StateTimeline(StateCriterion criterion, long firstStep, long endStep, List<List<Segment>> layers) {
        this.criterion = criterion;
        this.firstStep = firstStep;
        this.endStep = endStep;
        this.layers = List.copyOf(layers.stream().map(List::copyOf).toList());
        this.model = dropShortStable(intersect(this.layers, firstStep, endStep), criterion.hold());
    }

    public StateCriterion criterion() {
        return criterion;
    }

    public int layers() {
        return layers.size();
    }

    public long firstStep() {
        return firstStep;
    }

    /** One past the last step. */
    public long endStep() {
        return endStep;
    }

    public List<Segment> segments(int layer) {
        return layers.get(layer);
    }

    public List<Segment> modelSegments() {
        return model;
    }

    /** First step of the first stable run of a layer, or -1 if it never becomes stable. */
    public long transitionStep(int layer) {
        return transition(layers.get(layer));
    }

    /** First step from which every layer is stable, or -1 if that never happens. */
    public long modelTransitionStep() {
        return transition(model);
    }

    /** Steps where a layer fell back from stable into the transient state. */
    public List<Long> relapses(int layer) {
        return relapses(layers.get(layer));
    }

    /** Steps where the model fell back from stable into the transient state. */
    public List<Long> modelRelapses() {
        return relapses(model);
    }

    public LoadState stateAt(int layer, long step) {
        return at(layers.get(layer), step);
    }

    public LoadState modelStateAt(long step) {
        return at(model, step);
    }

    /** Steps of a layer spent in a state. */
    public long stepsIn(int layer, LoadState s) {
        return count(layers.get(layer), s);
    }

    public long modelStepsIn(LoadState s) {
        return count(model, s);
    }

    private static long count(List<Segment> segs, LoadState s) {
        long n = 0;
        for (Segment g : segs) {
            if (g.state() == s) {
                n += g.length();
            }
        }
        return n;
    }

    private static LoadState at(List<Segment> segs, long step) {
        for (Segment g : segs) {
            if (g.contains(step)) {
                return g.state();
            }
        }
        throw new IllegalArgumentException("step " + step + " is outside the trace");
    }

    private static long transition(List<Segment> segs) {
        for (Segment g : segs) {
            if (g.state() == LoadState.STABLE) {
                return g.start();
            }
        }
        return -1;
    }

    private static List<Long> relapses(List<Segment> segs) {
        List<Long> out = new ArrayList<>();
        boolean wasStable = false;
        for (Segment g : segs) {
            if (g.state() == LoadState.STABLE) {
                wasStable = true;
            } else if (wasStable) {
                out.add(g.start());
            }
        }
        return out;
    }

    /**
     * The model's runs: a stable run between two transient ones that is shorter than the hold (one
     * layer settling just before another relapses) is not a model-level stable state; it is merged
     * into the transient around it. Each layer's own runs already satisfy the hold.
     */
    static List<Segment> dropShortStable(List<Segment> segs, int hold) {
        List<Segment> out = new ArrayList<>();
        for (int i = 0; i < segs.size(); i++) {
            Segment g = segs.get(i);
            boolean inner = i > 0 && i < segs.size() - 1;
            LoadState st = g.state() == LoadState.STABLE && inner && g.length() < hold ? LoadState.TRANSIENT : g.state();
            if (!out.isEmpty() && out.getLast().state() == st) {
                Segment prev = out.removeLast();
                out.add(new Segment(st, prev.start(), g.end()));
            } else {
                out.add(new Segment(st, g.start(), g.end()));
            }
        }
        return out;
    }

    /** Stable where every layer is stable; transient elsewhere. */
    static List<Segment> intersect(List<List<Segment>> layers, long first, long end) {
        java.util.TreeSet<Long> cuts = new java.util.TreeSet<>();
        cuts.add(first);
        cuts.add(end);
        for (List<Segment> l : layers) {
            for (Segment g : l) {
                cuts.add(g.start());
                cuts.add(g.end());
            }
        }
        List<Segment> out = new ArrayList<>();
        Long prev = null;
        for (long c : cuts) {
            if (prev != null && c > prev) {
                boolean stable = !layers.isEmpty();
                for (List<Segment> l : layers) {
                    if (at(l, prev) != LoadState.STABLE) {
                        stable = false;
                        break;
                    }
                }
                LoadState s = stable ? LoadState.STABLE : LoadState.TRANSIENT;
                if (!out.isEmpty() && out.getLast().state() == s) {
                    Segment lastSeg = out.removeLast();
                    out.add(new Segment(s, lastSeg.start(), c));
                } else {
                    out.add(new Segment(s, prev, c));
                }
            }
            prev = c;
        }
        return out;
    }

    /** JSON-ready summary: criterion, per-layer transitions, relapses and segments, the model's. */
    public Map<String, Object> toMap(java.util.function.IntFunction<Object> layerLabel) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("criterion", Map.of("window", criterion.window(), "threshold", criterion.threshold(), "hold", criterion.hold()));
        m.put("firstStep", firstStep);
        m.put("endStep", endStep);
        m.put("modelTransitionStep", modelTransitionStep());
        m.put("modelRelapses", modelRelapses());
        List<Object> ls = new ArrayList<>();
        for (int l = 0; l < layers.size(); l++) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("layer", layerLabel.apply(l));
            x.put("transitionStep", transitionStep(l));
            x.put("relapses", relapses(l));
            x.put("segments", layers.get(l).stream().map(g -> List.of(g.state().label(), g.start(), g.end())).toList());
            ls.add(x);
        }
        m.put("layers", ls);
        return m;
    }
}
