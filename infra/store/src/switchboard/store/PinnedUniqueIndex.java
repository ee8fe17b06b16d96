package switchboard.store;

import java.util.List;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.KeyConstraintError;

/**
 * A unique index (the {@code _id} index among them) that also serves filters pinning its keys
 * beside other conditions, such as {@code {_id: x, version: 3}}: mongo-java-server's own
 * unique index serves only filters on exactly its keys and leaves the rest to a full scan.
 */
final class PinnedUniqueIndex extends Index<Object> {

    private final Index<Object> index;

    PinnedUniqueIndex(Index<Object> index, boolean sparse) {
        super(index.getName(), index.getKeys(), sparse);
        this.index = index;
    }

    @Override
    public boolean canHandle(Document query) {
        return index.canHandle(query) || index.canHandle(pinned(query));
    }

    @Override
    public Iterable<Object> getPositions(Document query) {
        return index.canHandle(query) ? index.getPositions(query) : index.getPositions(pinned(query));
    }

    // Only the index's own keys, each pinned by a plain value or $eq/$in.
    private Document pinned(Document query) {
        Document pinned = new Document();
        for (String key : keys()) {
            List<Object> values = SecondaryIndex.equalityValues(query, key);
            if (values == null) {
                return new Document();
            }
            pinned.put(key, values.size() == 1 ? values.get(0) : new Document("$in", values));
        }
        return pinned;
    }

    @Override
    public boolean isUnique() {
        return true;
    }

    @Override
    public Object getPosition(Document document) {
        return index.getPosition(document);
    }

    @Override
    public void checkAdd(Document document, MongoCollection<Object> collection) {
        index.checkAdd(document, collection);
    }

    @Override
    public void add(Document document, Object position, MongoCollection<Object> collection) {
        index.add(document, position, collection);
    }

    @Override
    public Object remove(Document document) {
        return index.remove(document);
    }

    @Override
    public long getCount() {
        return index.getCount();
    }

    @Override
    public boolean isEmpty() {
        return index.isEmpty();
    }

    @Override
    public long getDataSize() {
        return index.getDataSize();
    }

    @Override
    public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {
        index.checkUpdate(oldDocument, newDocument, collection);
    }

    @Override
    public void updateInPlace(Document oldDocument, Document newDocument, Object position,
                              MongoCollection<Object> collection) throws KeyConstraintError {
        index.updateInPlace(oldDocument, newDocument, position, collection);
    }

    @Override
    public void drop() {
        index.drop();
    }

    @Override
    public java.util.Set<KeyValue> getKeyValues(Document document) {
        return index.getKeyValues(document);
    }
}
