package switchboard.store;

import java.util.Set;

import de.bwaldvogel.mongo.bson.Document;

/**
 * A filter's bounds on one key as encoded index components: {@code $gt/$gte/$lt/$lte} of one
 * ordered type, or an anchored literal {@code $regex} prefix (every string that starts with it).
 */
record KeyRange(char tag, String lower, boolean lowerInclusive, String upper, boolean upperInclusive,
                String prefix) {

    private static final Set<String> OPERATORS = Set.of("$gt", "$gte", "$lt", "$lte");
    private static final String METACHARACTERS = ".^$*+?()[]{}|\\";

    /** The range a filter value sets, or null when it is not one the index can walk. */
    static KeyRange of(Object condition) {
        if (!(condition instanceof Document bounds) || bounds.isEmpty()) {
            return null;
        }
        if (bounds.containsKey("$regex")) {
            return ofPrefix(bounds);
        }
        if (!OPERATORS.containsAll(bounds.keySet())) {
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
            upper, bounds.containsKey("$lte") || upper == null, null);
    }

    // `^literal` with no options: the strings that start with the literal.
    private static KeyRange ofPrefix(Document bounds) {
        Object options = bounds.get("$options");
        if (bounds.size() > 2 || (bounds.size() == 2 && options == null)
            || (options != null && !"".equals(options)) || !(bounds.get("$regex") instanceof String pattern)
            || !pattern.startsWith("^")) {
            return null;
        }
        StringBuilder literal = new StringBuilder();
        for (int i = 1; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '\\' && i + 1 < pattern.length() && !Character.isLetterOrDigit(pattern.charAt(i + 1))) {
                literal.append(pattern.charAt(++i));
            } else if (METACHARACTERS.indexOf(c) >= 0) {
                return null;
            } else {
                literal.append(c);
            }
        }
        String encoded = IndexKeys.STRING + literal.toString().replace("\u0000", "\u0000\u0001");
        return new KeyRange(IndexKeys.STRING, encoded, true, null, true, encoded);
    }

    // Two lower (or upper) bounds in one filter are rare: the range then spans both, a superset.
    private static String encodedBound(Document bounds, String inclusive, String exclusive) {
        Object bound = bounds.containsKey(inclusive) ? bounds.get(inclusive) : bounds.get(exclusive);
        return bound == null ? null : IndexKeys.component(bound);
    }

    /** Where a scan of entries starting with `prefix` begins. */
    String start(String entryPrefix) {
        return entryPrefix + (lower != null ? lower : String.valueOf(tag));
    }

    /** Whether an encoded component lies past the range's end (or outside its type). */
    boolean isPast(String component) {
        if (component.isEmpty() || component.charAt(0) != tag) {
            return true;
        }
        if (prefix != null) {
            return !component.startsWith(prefix);
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
