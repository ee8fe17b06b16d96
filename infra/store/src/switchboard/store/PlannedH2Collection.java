package switchboard.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;

/**
 * An H2 collection that plans its reads, where mongo-java-server scans:
 * <ul>
 * <li>among the indexes able to serve a filter it picks the one that finds the fewest entries
 * (counted up to {@link #PROBE_LIMIT}), not the first declared: a filter on {@code status} and
 * {@code ticket_id} reads one ticket's entries, not every pending one;</li>
 * <li>a top-level {@code $or} whose every clause an index serves reads the union of those;</li>
 * <li>a filter no index serves, sorted and limited, walks the index (or the {@code _id} order)
 * of its first sort key and stops once it has enough: the newest 50 of a million tickets.</li>
 * </ul>
 * And it never lets an update change a stored document in place. mongo-java-server applies an
 * update to the very document object the map holds; the map's pages keep that object until a
 * commit writes them, and a commit on another thread (any collection's write commits the whole
 * store) then read it while it changed: a torn page, or a ConcurrentModificationException that
 * closes the store. An update here works on a copy, which then replaces the stored one.
 */
final class PlannedH2Collection extends H2Collection {

    static final int PROBE_LIMIT = 512;
    private static final String ID = "_id";

    private final MVMap<Object, Document> documents;

    PlannedH2Collection(MongoDatabase database, String collectionName, CollectionOptions options,
                        MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap,
                        CursorRegistry cursorRegistry) {
        super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
        this.documents = dataMap;
    }

    /** Set while this thread runs an update: the documents its query finds are copies. */
    private static final ThreadLocal<Boolean> UPDATING = ThreadLocal.withInitial(() -> Boolean.FALSE);

    @Override
    public synchronized Document updateDocuments(Document selector, Document updateQuery,
                                                 ArrayFilters arrayFilters, boolean isMulti, boolean isUpsert,
                                                 Oplog oplog) {
        return onCopies(() -> super.updateDocuments(selector, updateQuery, arrayFilters, isMulti, isUpsert, oplog));
    }

    @Override
    public synchronized Document findAndModify(Document query) {
        return onCopies(() -> super.findAndModify(query));
    }

    private static <T> T onCopies(Supplier<T> update) {
        UPDATING.set(Boolean.TRUE);
        try {
            return update.get();
        } finally {
            UPDATING.set(Boolean.FALSE);
        }
    }

    @Override
    protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                         int batchSize, Document fieldSelector) {
        QueryResult found = plannedQuery(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        if (!UPDATING.get()) {
            return found;
        }
        List<Document> copies = new ArrayList<>();
        for (Document document : found) {
            copies.add(document.cloneDeeply());
        }
        return new QueryResult(copies, found.getCursorId());
    }

    private QueryResult plannedQuery(Document query, Document orderBy, int numberToSkip, int limit,
                                     int batchSize, Document fieldSelector) {
        Plan plan = plan(query);
        // More found than asked for: walking the index in sort order reads only as many
        // documents as it takes to fill the page, never more than fetching all found would.
        List<Document> walked = limit > 0 && plan != null && plan.found() > numberToSkip + limit
            ? inSortOrderWithin(query, orderBy, numberToSkip + limit) : null;
        if (walked != null) {
            return matchDocumentsFromStream(query, walked.stream(), numberToSkip, limit, batchSize, null,
                fieldSelector);
        }
        Iterable<Object> positions = plan != null ? plan.index().getPositions(query) : positions(query);
        if (positions != null) {
            return matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
        List<Document> ordered = limit > 0 ? inSortOrder(query, orderBy, numberToSkip + limit) : null;
        if (ordered != null) {
            return matchDocumentsFromStream(query, ordered.stream(), numberToSkip, limit, batchSize, null,
                fieldSelector);
        }
        return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
    }

    /** The documents at these positions, as a stream. */
    Stream<Document> documentsAt(Iterable<Object> positions) {
        return StreamSupport.stream(positions.spliterator(), false).map(this::getDocument);
    }

    /** Where the documents a filter may match are, as its plan finds them; null for a scan. */
    Iterable<Object> positions(Document query) {
        Plan plan = plan(query);
        if (plan != null) {
            return plan.index().getPositions(query);
        }
        List<Document> clauses = orClauses(query);
        if (clauses == null) {
            return null;
        }
        Set<Object> union = new LinkedHashSet<>();
        for (Document clause : clauses) {
            Iterable<Object> found = positions(clause);
            if (found == null) {
                return null;
            }
            found.forEach(union::add);
        }
        return union;
    }

    /** An index that serves a filter, and how many entries it found (up to PROBE_LIMIT). */
    record Plan(Index<Object> index, int found) {
    }

    /** The index a filter is served by, or null when none serves it. */
    Plan plan(Document query) {
        Plan best = null;
        for (Index<Object> index : getIndexes()) {
            if (!index.canHandle(query)) {
                continue;
            }
            int found = index instanceof SecondaryIndex secondary ? secondary.probe(query, PROBE_LIMIT) : 0;
            if (best == null || found < best.found()) {
                best = new Plan(index, found);
            }
        }
        return best;
    }

    /** The plan of a find, in the shape of MongoDB's queryPlanner.winningPlan. */
    Document explain(Document query, Document orderBy) {
        Document stage = inputStage(query);
        if (stage == null && orderBy != null && !orderBy.isEmpty()) {
            String key = orderBy.keySet().iterator().next();
            String name = ID.equals(key) && hasStringIds() ? "_id_" : indexLedBy(key) == null ? null
                : indexLedBy(key).getName();
            stage = name == null ? null : new Document("stage", "IXSCAN").append("indexName", name)
                .append("keyPattern", new Document(key, 1));
        }
        return stage == null ? new Document("stage", "COLLSCAN")
            : new Document("stage", "FETCH").append("inputStage", stage);
    }

    private Document inputStage(Document query) {
        Plan plan = plan(query);
        if (plan != null) {
            Index<Object> index = plan.index();
            return new Document("stage", "IXSCAN").append("indexName", index.getName())
                .append("keyPattern", index.toIndexDescription().get("key"));
        }
        List<Document> clauses = orClauses(query);
        if (clauses == null) {
            return null;
        }
        List<Document> stages = new ArrayList<>();
        for (Document clause : clauses) {
            Document stage = inputStage(clause);
            if (stage == null) {
                return null;
            }
            stages.add(stage);
        }
        return new Document("stage", "OR").append("inputStages", stages);
    }

    private static List<Document> orClauses(Document query) {
        if (!(query.get("$or") instanceof Collection<?> clauses) || clauses.isEmpty()) {
            return null;
        }
        List<Document> documents = new ArrayList<>();
        for (Object clause : clauses) {
            if (!(clause instanceof Document document)) {
                return null;
            }
            documents.add(document);
        }
        return documents;
    }

    // A filter that finds more documents than the page holds, sorted and limited, where an
    // index pins the filter's equality keys and then orders by the first sort key: walked in
    // that order until enough match (a customer's newest 50 of hundreds).
    private List<Document> inSortOrderWithin(Document query, Document orderBy, int wanted) {
        if (orderBy == null || orderBy.isEmpty() || orderBy.containsKey("$natural")) {
            return null;
        }
        String key = orderBy.keySet().iterator().next();
        boolean ascending = !(orderBy.get(key) instanceof Number direction) || direction.intValue() >= 0;
        for (Index<Object> index : getIndexes()) {
            if (index instanceof SecondaryIndex ordered) {
                Iterable<Map.Entry<String, Object>> entries = ordered.inKeyOrderWithin(query, key, ascending);
                if (entries != null) {
                    return firstMatches(entries, query, deriveComparator(orderBy), wanted);
                }
            }
        }
        return null;
    }

    // The first `wanted` matches in sort order, read along the first sort key's order; within
    // a run of equal first keys the full sort decides. Null when no index has that order.
    private List<Document> inSortOrder(Document query, Document orderBy, int wanted) {
        if (orderBy == null || orderBy.isEmpty() || orderBy.containsKey("$natural")) {
            return null;
        }
        String key = orderBy.keySet().iterator().next();
        boolean ascending = !(orderBy.get(key) instanceof Number direction) || direction.intValue() >= 0;
        Iterable<Map.Entry<String, Object>> entries;
        if (ID.equals(key) && hasStringIds()) {
            entries = idOrder(ascending);
        } else if (indexLedBy(key) != null) {
            entries = indexLedBy(key).inKeyOrder(ascending);
        } else {
            return null;
        }
        return firstMatches(entries, query, deriveComparator(orderBy), wanted);
    }

    private List<Document> firstMatches(Iterable<Map.Entry<String, Object>> entries, Document query,
                                        Comparator<Document> order, int wanted) {
        List<Document> found = new ArrayList<>();
        List<Document> run = new ArrayList<>();
        Set<Object> seen = new HashSet<>();
        String runKey = null;
        for (Map.Entry<String, Object> entry : entries) {
            if (!entry.getKey().equals(runKey)) {
                run.sort(order);
                found.addAll(run);
                run.clear();
                if (found.size() >= wanted) {
                    return found;
                }
                runKey = entry.getKey();
            }
            Document document = seen.add(entry.getValue()) ? getDocument(entry.getValue()) : null;
            if (document != null && documentMatchesQuery(document, query)) {
                run.add(document);
            }
        }
        run.sort(order);
        found.addAll(run);
        return found;
    }

    // Documents by _id, in the data map's order: _id order when every _id is a string (the map
    // orders by type first, so the first and last keys being strings says all are).
    private Iterable<Map.Entry<String, Object>> idOrder(boolean ascending) {
        return () -> {
            Cursor<Object, Document> cursor = documents.cursor(null, null, !ascending);
            return new java.util.Iterator<>() {
                @Override
                public boolean hasNext() {
                    return cursor.hasNext();
                }

                @Override
                public Map.Entry<String, Object> next() {
                    Object id = cursor.next();
                    return Map.entry(String.valueOf(id), id);
                }
            };
        };
    }

    private boolean hasStringIds() {
        return documents.firstKey() instanceof String && documents.lastKey() instanceof String;
    }

    private SecondaryIndex indexLedBy(String key) {
        for (Index<Object> index : getIndexes()) {
            if (index instanceof SecondaryIndex secondary && secondary.getKeys().get(0).getKey().equals(key)) {
                return secondary;
            }
        }
        return null;
    }
}
