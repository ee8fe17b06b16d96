package switchboard.store;

import java.util.stream.Stream;
import java.util.stream.StreamSupport;

import org.h2.mvstore.MVMap;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.bson.Document;

/**
 * An H2 collection that picks, among the indexes able to serve a filter, the one that finds
 * the fewest entries (counted up to {@link #PROBE_LIMIT}), instead of the first declared one:
 * a filter on {@code status} and {@code ticket_id} reads one ticket's entries, not every
 * pending one.
 */
final class PlannedH2Collection extends H2Collection {

    static final int PROBE_LIMIT = 512;

    PlannedH2Collection(MongoDatabase database, String collectionName, CollectionOptions options,
                        MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap,
                        CursorRegistry cursorRegistry) {
        super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    @Override
    protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                         int batchSize, Document fieldSelector) {
        Index<Object> index = plan(query);
        if (index == null) {
            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
        return matchDocuments(query, index.getPositions(query), orderBy, numberToSkip, limit, batchSize,
            fieldSelector);
    }

    /** The documents at these positions, as a stream. */
    Stream<Document> documentsAt(Iterable<Object> positions) {
        return StreamSupport.stream(positions.spliterator(), false).map(this::getDocument);
    }

    /** The index a filter is served by, or null for a scan of the collection. */
    Index<Object> plan(Document query) {
        Index<Object> best = null;
        long fewest = Long.MAX_VALUE;
        for (Index<Object> index : getIndexes()) {
            if (!index.canHandle(query)) {
                continue;
            }
            long found = index instanceof SecondaryIndex secondary ? secondary.probe(query, PROBE_LIMIT) : 0;
            if (found < fewest) {
                best = index;
                fewest = found;
            }
        }
        return best;
    }
}
