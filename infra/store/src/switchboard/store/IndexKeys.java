package switchboard.store;

import java.util.Collection;
import java.util.Date;
import java.util.Map;
import java.util.TreeMap;

/**
 * An order-preserving-enough string encoding of index key values.
 *
 * <p>Each component is tagged by type and terminated by a separator that cannot occur inside
 * it, so the encoding of the first k components is an exact prefix of every entry that has
 * those values: an equality lookup is a prefix scan of the index map.
 */
final class IndexKeys {

    private static final char ESCAPE = '\u0000';
    private static final String TERMINATOR = "\u0000\u0000";
    private static final String ESCAPED = "\u0000\u0001";

    private IndexKeys() {
    }

    static String component(Object value) {
        return tagged(value).replace(String.valueOf(ESCAPE), ESCAPED) + TERMINATOR;
    }

    private static String tagged(Object value) {
        if (value == null || "Missing".equals(value.getClass().getSimpleName())) {
            return "z";
        }
        if (value instanceof Number number) {
            return number(number);
        }
        if (value instanceof String text) {
            return "s" + text;
        }
        if (value instanceof Boolean flag) {
            return "b" + flag;
        }
        if (value instanceof Date date) {
            return "d" + date.getTime();
        }
        if (value instanceof java.time.Instant instant) {
            return "d" + instant.toEpochMilli();
        }
        if (value instanceof Map<?, ?> map) {
            StringBuilder out = new StringBuilder("m");
            new TreeMap<>(map).forEach((key, item) -> out.append(key).append('=').append(tagged(item)).append(';'));
            return out.toString();
        }
        if (value instanceof Collection<?> items) {
            StringBuilder out = new StringBuilder("a");
            items.forEach(item -> out.append(tagged(item)).append(';'));
            return out.toString();
        }
        return "o" + value.getClass().getName() + ":" + value;
    }

    // MongoDB compares numbers by value across int, long and double: so does the key.
    private static String number(Number number) {
        if (number instanceof Long whole && (long) (double) whole != whole) {
            return "l" + whole;
        }
        double value = number.doubleValue();
        return "n" + (value == 0.0 ? 0.0 : value);
    }
}
