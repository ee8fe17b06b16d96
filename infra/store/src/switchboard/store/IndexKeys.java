package switchboard.store;

import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.Map;
import java.util.TreeMap;

/**
 * An order-preserving string encoding of index key values.
 *
 * <p>Each component is a type tag (in MongoDB's order of types), the value encoded so that
 * string order is value order within the type, and a terminator that cannot occur inside it.
 * So the encoding of the first k key values is an exact prefix of every entry with those
 * values (an equality lookup is a prefix scan), and a range of one type is a contiguous run.
 * Where an encoding merges two values (a long beyond double precision), lookups return a
 * superset: the collection applies the whole filter to what the index finds.
 */
final class IndexKeys {

    static final char NULL = 'a';
    static final char NUMBER = 'b';
    static final char STRING = 'c';
    static final char OBJECT = 'd';
    static final char ARRAY = 'e';
    static final char OTHER = 'f';
    static final char BOOLEAN = 'g';
    static final char DATE = 'h';

    static final String TERMINATOR = "\u0000\u0000";
    private static final String ESCAPED = "\u0000\u0001";

    private IndexKeys() {
    }

    /** One key value as it appears in an entry: tag, encoded value, terminator. */
    static String component(Object value) {
        return encoded(value).replace("\u0000", ESCAPED) + TERMINATOR;
    }

    /** The first component of an entry (or of what follows a prefix of it), terminator included. */
    static String leadingComponent(String entry) {
        return entry.substring(0, entry.indexOf(TERMINATOR) + TERMINATOR.length());
    }

    /** The type tag a value sorts under. */
    static char tag(Object value) {
        return encoded(value).charAt(0);
    }

    /** Whether values of this type keep their order in the encoding (numbers, strings, dates). */
    static boolean isOrdered(Object value) {
        char tag = tag(value);
        return tag == NUMBER || tag == STRING || tag == DATE;
    }

    private static String encoded(Object value) {
        if (value == null || "Missing".equals(value.getClass().getSimpleName())) {
            return String.valueOf(NULL);
        }
        if (value instanceof Number number) {
            return NUMBER + sortable(number.doubleValue());
        }
        if (value instanceof String text) {
            return STRING + text;
        }
        if (value instanceof Date date) {
            return DATE + sortable(date.getTime());
        }
        if (value instanceof Instant instant) {
            return DATE + sortable(instant.toEpochMilli());
        }
        if (value instanceof Boolean flag) {
            return BOOLEAN + (flag ? "1" : "0");
        }
        if (value instanceof Map<?, ?> map) {
            StringBuilder out = new StringBuilder().append(OBJECT);
            new TreeMap<>(map).forEach((key, item) -> out.append(key).append('=').append(encoded(item)).append(';'));
            return out.toString();
        }
        if (value instanceof Collection<?> items) {
            StringBuilder out = new StringBuilder().append(ARRAY);
            items.forEach(item -> out.append(encoded(item)).append(';'));
            return out.toString();
        }
        return OTHER + value.getClass().getName() + ":" + value;
    }

    // IEEE 754 bits flipped so that unsigned order is numeric order; -0.0 is 0.0.
    private static String sortable(double value) {
        long bits = Double.doubleToLongBits(value == 0.0 ? 0.0 : value);
        return hex(bits < 0 ? ~bits : bits ^ Long.MIN_VALUE);
    }

    private static String sortable(long millis) {
        return hex(millis ^ Long.MIN_VALUE);
    }

    private static String hex(long bits) {
        String digits = Long.toHexString(bits);
        return "0".repeat(16 - digits.length()) + digits;
    }
}
