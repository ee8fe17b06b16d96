package switchboard.store;

import java.lang.reflect.Field;
import java.util.List;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;

/**
 * An H2 database whose non-unique indexes are real ({@link SecondaryIndex}) instead of ignored,
 * and whose unique indexes also serve filters that pin their keys ({@link PinnedUniqueIndex}).
 */
final class IndexedH2Database extends H2Database {

    IndexedH2Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
        super(databaseName, mvStore, cursorRegistry);
    }

    @Override
    protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName,
                                                    List<IndexKey> keys, boolean sparse) {
        // The map name H2Database gives unique indexes, so its dropIndex removes ours.
        String mapName = getFullCollectionNamespace(collectionName) + "._index_" + indexName;
        MVMap<KeyValue, Object> entries = store().openMap(mapName,
            new MVMap.Builder<KeyValue, Object>().keyType(KeyValueType.INSTANCE));
        return new PinnedUniqueIndex(new UniqueH2Index(entries, indexName, keys, sparse), sparse);
    }

    @Override
    protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName,
                                                       List<IndexKey> keys, boolean sparse) {
        // The same map name H2Database gives unique indexes, so its dropIndex removes ours too.
        String mapName = getFullCollectionNamespace(collectionName) + "._index_" + indexName;
        MVMap<String, Object> entries = store().openMap(mapName);
        return new SecondaryIndex(entries, indexName, keys, sparse);
    }

    @Override
    protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
        // The map names H2Database gives a collection's documents and its metadata.
        String fullName = getFullCollectionNamespace(collectionName);
        MVMap<Object, Document> dataMap = store().openMap("databases." + fullName,
            new MVMap.Builder<Object, Document>().valueType(BsonDocumentType.INSTANCE));
        MVMap<String, Object> metaMap = store().openMap("meta." + fullName);
        return new PlannedH2Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    // An aggregation that starts with $match reads what the match's index finds instead of the
    // whole collection (mongo-java-server runs every pipeline over a full scan); PyMongo's
    // count_documents is one. The $match stage stays in the pipeline and filters exactly.
    @Override
    public Document handleCommand(Channel channel, String command, Document query,
                                  DatabaseResolver databaseResolver, Oplog oplog) {
        if ("aggregate".equalsIgnoreCase(command) && query.get(command) instanceof String name
            && resolveCollection(name, false) instanceof PlannedH2Collection collection) {
            List<Document> pipeline = Aggregation.parse(query.get("pipeline"));
            Iterable<Object> positions = pipeline.isEmpty()
                || !(pipeline.get(0).get("$match") instanceof Document match) ? null : collection.positions(match);
            if (positions != null) {
                Aggregation aggregation = Aggregation.fromPipeline(pipeline, databaseResolver, this, collection, oplog);
                aggregation.validate(query);
                List<Document> result = aggregation.runStages(collection.documentsAt(positions));
                return firstBatch(getFullCollectionNamespace(name), result);
            }
        }
        return super.handleCommand(channel, command, query, databaseResolver, oplog);
    }

    private static Document firstBatch(String namespace, List<Document> documents) {
        Document cursor = new Document("id", 0L).append("ns", namespace).append("firstBatch", documents);
        return new Document("cursor", cursor).append("ok", 1.0);
    }

    // Called from H2Database's constructor (it opens the stored indexes), before any field of
    // this class is assigned: the store is read from the field H2Database set first.
    private MVStore store() {
        try {
            Field field = H2Database.class.getDeclaredField("mvStore");
            field.setAccessible(true);
            return (MVStore) field.get(this);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("mongo-java-server's H2Database changed shape", e);
        }
    }
}
