package switchboard.store;

import java.lang.reflect.Field;
import java.util.List;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
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
        return new PinnedUniqueIndex(super.openOrCreateUniqueIndex(collectionName, indexName, keys, sparse), sparse);
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
        MVMap<Object, Document> dataMap = store().openMap("databases." + fullName);
        MVMap<String, Object> metaMap = store().openMap("meta." + fullName);
        return new PlannedH2Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
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
