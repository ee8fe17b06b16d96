package switchboard.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;

/**
 * A non-unique (and multikey) index kept in an MVStore map, which mongo-java-server leaves
 * unimplemented. An entry's key is the encoded key values followed by the encoded position,
 * so equality (and {@code $in}) on a leading prefix of the index keys is a prefix scan; the
 * collection then applies the whole filter to the documents found.
 */
final class SecondaryIndex extends Index<Object> {

    private static final String ID_FIELD = "_id";

    private final MVMap<String, Object> entries;

    SecondaryIndex(MVMap<String, Object> entries, String name, List<IndexKey> keys, boolean sparse) {
        super(name, keys, sparse);
        this.entries = entries;
    }

    @Override
    public Object getPosition(Document document) {
        return null;
    }

    @Override
    public void checkAdd(Document document, MongoCollection<Object> collection) {
        // Not unique: nothing to refuse.
    }

    @Override
    public synchronized void add(Document document, Object position, MongoCollection<Object> collection) {
        for (String key : entryKeys(document, position)) {
            entries.put(key, Missing.ofNullable(position));
        }
    }

    @Override
    public synchronized Object remove(Document document) {
        Object position = positionOf(document);
        for (String key : entryKeys(document, position)) {
            entries.remove(key);
        }
        return position;
    }

    @Override
    public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {
        // Not unique: nothing to refuse.
    }

    @Override
    public synchronized void updateInPlace(Document oldDocument, Document newDocument, Object position,
                                           MongoCollection<Object> collection) {
        Set<String> before = entryKeys(oldDocument, position);
        Set<String> after = entryKeys(newDocument, position);
        for (String key : before) {
            if (!after.contains(key)) {
                entries.remove(key);
            }
        }
        for (String key : after) {
            if (!before.contains(key)) {
                entries.put(key, Missing.ofNullable(position));
            }
        }
    }

    @Override
    public boolean canHandle(Document query) {
        String leading = keys().get(0);
        List<Object> values = equalityValues(query, leading);
        if (values != null) {
            // A sparse index has no entry for a missing field, which `null` also matches.
            return !isSparse() || keys().stream().map(key -> equalityValues(query, key))
                .noneMatch(pinned -> pinned != null && pinned.contains(null));
        }
        return KeyRange.of(query.get(leading)) != null;
    }

    // Equality on a leading run of the keys is a set of prefixes; a range on the key after
    // that run narrows each prefix's scan to the range.
    @Override
    public synchronized Iterable<Object> getPositions(Document query) {
        return positions(query, Integer.MAX_VALUE);
    }

    /** How many documents the index finds for a filter, counted up to `limit`. */
    synchronized int probe(Document query, int limit) {
        return positions(query, limit).size();
    }

    private Set<Object> positions(Document query, int limit) {
        List<String> prefixes = List.of("");
        KeyRange range = null;
        for (String key : keys()) {
            List<Object> values = equalityValues(query, key);
            if (values == null) {
                range = KeyRange.of(query.get(key));
                break;
            }
            List<String> longer = new ArrayList<>();
            for (String prefix : prefixes) {
                for (Object value : values) {
                    longer.add(prefix + IndexKeys.component(value));
                }
            }
            prefixes = longer;
        }
        Set<Object> positions = new LinkedHashSet<>();
        for (String prefix : prefixes) {
            if (range == null) {
                scanPrefix(prefix, positions, limit);
            } else {
                scanRange(prefix, range, positions, limit);
            }
        }
        return positions;
    }

    /**
     * Every entry in key order (or reverse), as (leading key component, position): what a sort
     * on the leading key reads.
     */
    Iterable<Map.Entry<String, Object>> inKeyOrder(boolean ascending) {
        return walk("", ascending);
    }

    /**
     * The entries of one equality prefix in the order of the key after it, as (that key's
     * component, position), when the filter pins every key before `sortKey` to one value and
     * `sortKey` is the next: what a filtered, sorted and limited read walks. Null otherwise.
     */
    Iterable<Map.Entry<String, Object>> inKeyOrderWithin(Document query, String sortKey, boolean ascending) {
        StringBuilder prefix = new StringBuilder();
        int next = 0;
        for (String key : keys()) {
            if (key.equals(sortKey)) {
                break;
            }
            List<Object> values = equalityValues(query, key);
            if (values == null || values.size() != 1) {
                return null;
            }
            prefix.append(IndexKeys.component(values.get(0)));
            next++;
        }
        return next == 0 || next >= keys().size() ? null : walk(prefix.toString(), ascending);
    }

    // The entries starting with `prefix`, in order, as (the component after it, position).
    private Iterable<Map.Entry<String, Object>> walk(String prefix, boolean ascending) {
        String from = prefix.isEmpty() ? null : prefix;
        String to = prefix.isEmpty() ? null : prefix + '\uffff';
        return () -> {
            Cursor<String, Object> cursor = ascending ? entries.cursor(from, to, false) : entries.cursor(to, from, true);
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return cursor.hasNext();
                }

                @Override
                public Map.Entry<String, Object> next() {
                    String rest = cursor.next().substring(prefix.length());
                    return Map.entry(IndexKeys.leadingComponent(rest), cursor.getValue());
                }
            };
        };
    }

    private void scanPrefix(String prefix, Set<Object> positions, int limit) {
        Cursor<String, Object> cursor = entries.cursor(prefix);
        while (positions.size() < limit && cursor.hasNext() && cursor.next().startsWith(prefix)) {
            positions.add(cursor.getValue());
        }
    }

    private void scanRange(String prefix, KeyRange range, Set<Object> positions, int limit) {
        Cursor<String, Object> cursor = entries.cursor(range.start(prefix));
        while (positions.size() < limit && cursor.hasNext()) {
            String entry = cursor.next();
            if (!entry.startsWith(prefix)) {
                return;
            }
            String component = IndexKeys.leadingComponent(entry.substring(prefix.length()));
            if (range.isPast(component)) {
                return;
            }
            if (range.admits(component)) {
                positions.add(cursor.getValue());
            }
        }
    }

    /**
     * The values a filter requires `key` to equal, or null when it does not pin the key down.
     * A `null` among them also stands for a missing field, which the index keeps as null.
     */
    static List<Object> equalityValues(Document query, String key) {
        if (!query.containsKey(key)) {
            return null;
        }
        Object value = query.get(key);
        if (value instanceof Collection || BsonRegularExpression.isRegularExpression(value)) {
            return null;
        }
        if (!(value instanceof Document condition)) {
            return java.util.Collections.singletonList(value);
        }
        if (condition.isEmpty() || !condition.keySet().iterator().next().startsWith("$")) {
            return null;
        }
        if (condition.size() == 1 && condition.containsKey("$eq")) {
            Object equal = condition.get("$eq");
            return equal instanceof Map || equal instanceof Collection ? null : java.util.Collections.singletonList(equal);
        }
        if (condition.size() == 1 && condition.get("$in") instanceof Collection<?> options) {
            for (Object option : options) {
                if (option instanceof Map || option instanceof Collection
                    || BsonRegularExpression.isRegularExpression(option)) {
                    return null;
                }
            }
            return new ArrayList<>(options);
        }
        return null;
    }

    private Set<String> entryKeys(Document document, Object position) {
        Set<String> keys = new LinkedHashSet<>();
        if (isSparse() && keys().stream().noneMatch(document::containsKey)) {
            return keys;
        }
        String suffix = IndexKeys.component(position);
        for (KeyValue keyValue : getKeyValues(document)) {
            StringBuilder entry = new StringBuilder();
            Iterator<Object> values = keyValue.iterator();
            while (values.hasNext()) {
                entry.append(IndexKeys.component(values.next()));
            }
            keys.add(entry.append(suffix).toString());
        }
        return keys;
    }

    private static Object positionOf(Document document) {
        return Missing.ofNullable(document.get(ID_FIELD));
    }

    @Override
    public long getCount() {
        return entries.sizeAsLong();
    }

    @Override
    public boolean isEmpty() {
        return entries.isEmpty();
    }

    @Override
    public long getDataSize() {
        return getCount();
    }

    @Override
    public void drop() {
        entries.clear();
    }
}
