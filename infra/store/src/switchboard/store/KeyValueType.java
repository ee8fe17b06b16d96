package switchboard.store;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.h2.mvstore.DataUtils;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;

import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * The keys of a unique index (the {@code _id} index among them), ordered as MongoDB orders
 * values and stored as BSON. H2's default type serialized them with Java serialization and
 * deserialized both sides of every comparison of the map's binary search.
 */
final class KeyValueType extends BasicDataType<KeyValue> {

    static final KeyValueType INSTANCE = new KeyValueType();
    private static final ValueComparator ORDER = ValueComparator.asc();

    private KeyValueType() {
    }

    @Override
    public int compare(KeyValue a, KeyValue b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int order = ORDER.compare(a.get(i), b.get(i));
            if (order != 0) {
                return order;
            }
        }
        return Integer.compare(a.size(), b.size());
    }

    @Override
    public int getMemory(KeyValue key) {
        return 48 + 32 * key.size();
    }

    @Override
    public void write(WriteBuffer buffer, KeyValue key) {
        // {v: [values], m: [positions of Missing values]}: BSON has no "missing".
        List<Object> values = new ArrayList<>();
        List<Object> missing = new ArrayList<>();
        for (Object value : key) {
            if (value instanceof Missing) {
                missing.add(values.size());
                values.add(null);
            } else {
                values.add(value);
            }
        }
        Document document = new Document("v", values);
        if (!missing.isEmpty()) {
            document.put("m", missing);
        }
        ByteBuf bson = Unpooled.buffer(64);
        try {
            BsonEncoder.encodeDocument(document, bson);
            buffer.putVarInt(bson.readableBytes());
            byte[] bytes = new byte[bson.readableBytes()];
            bson.readBytes(bytes);
            buffer.put(bytes);
        } finally {
            bson.release();
        }
    }

    @Override
    public KeyValue read(ByteBuffer buffer) {
        byte[] bytes = new byte[DataUtils.readVarInt(buffer)];
        buffer.get(bytes);
        Document document = BsonDecoder.decodeBson(Unpooled.wrappedBuffer(bytes));
        List<Object> values = new ArrayList<>((List<?>) document.get("v"));
        if (document.get("m") instanceof List<?> missing) {
            for (Object position : missing) {
                values.set(((Number) position).intValue(), Missing.getInstance());
            }
        }
        return new KeyValue(values);
    }

    @Override
    public KeyValue[] createStorage(int size) {
        return new KeyValue[size];
    }
}
