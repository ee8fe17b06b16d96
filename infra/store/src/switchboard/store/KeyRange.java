package switchboard.store;

import java.util.Set;

import de.bwaldvogel.mongo.bson.Document;

/** A filter's {@code $gt/$gte/$lt/$lte} bounds on one key, as encoded index components. */
record KeyRange(char tag, String lower, boolean lowerInclusive, String upper, boolean upperInclusive) {

    private static final Set<String> OPERATORS = Set.of("$gt", "$gte", "$lt", "$lte");

    /** The range a filter value sets, or null when it is not a range of one ordered type. */
    static KeyRange of(Object condition) {
        if (!(condition instanceof Document bounds) || bounds.isEmpty() || !OPERATORS.containsAll(bounds.keySet())) {
            return null;
        }
        Character tag = null;
        for (Object bound : bounds.values()) {
            if (bound == null || !IndexKeys.isOrdered(bound) || (tag != null && tag != IndexKeys.tag(bound))) {
                return null;
            }
            tag = IndexKeys.tag(bound);
        }
        String lower = encodedBound(bounds, "$gte", "$gt");
        String upper = encodedBound(bounds, "$lte", "$lt");
        return new KeyRange(tag, lower, bounds.containsKey("$gte") || lower == null,
            upper, bounds.containsKey("$lte") || upper == null);
    }

    // Two lower (or upper) bounds in one filter are rare: the range then spans both, a superset.
    private static String encodedBound(Document bounds, String inclusive, String exclusive) {
        Object bound = bounds.containsKey(inclusive) ? bounds.get(inclusive) : bounds.get(exclusive);
        return bound == null ? null : IndexKeys.component(bound);
    }

    /** Where a scan of entries starting with `prefix` begins. */
    String start(String prefix) {
        return prefix + (lower != null ? lower : String.valueOf(tag));
    }

    /** Whether an encoded component lies past the range's end (or outside its type). */
    boolean isPast(String component) {
        if (component.isEmpty() || component.charAt(0) != tag) {
            return true;
        }
        if (upper == null) {
            return false;
        }
        int order = component.compareTo(upper);
        return upperInclusive ? order > 0 : order >= 0;
    }

    /** Whether an encoded component is inside the range, given it is not past it. */
    boolean admits(String component) {
        return lower == null || lowerInclusive || !component.equals(lower);
    }
}
