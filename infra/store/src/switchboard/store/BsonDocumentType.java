package switchboard.store;

import java.nio.ByteBuffer;
import java.util.Arrays;

import org.h2.mvstore.DataUtils;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Documents stored as BSON, the bytes the wire already speaks. H2's default value type writes
 * them with Java serialization, which the store bench showed to be where most of the server's
 * time went (reading and writing pages of documents).
 */
final class BsonDocumentType extends BasicDataType<Document> {

    static final BsonDocumentType INSTANCE = new BsonDocumentType();

    private BsonDocumentType() {
    }

    @Override
    public int getMemory(Document document) {
        return 256 + 64 * document.size(); // an estimate for the page cache, as H2's own types
    }

    @Override
    public void write(WriteBuffer buffer, Document document) {
        byte[] bson = encode(document);
        buffer.putVarInt(bson.length).put(bson);
    }

    @Override
    public Document read(ByteBuffer buffer) {
        byte[] bson = new byte[DataUtils.readVarInt(buffer)];
        buffer.get(bson);
        return BsonDecoder.decodeBson(Unpooled.wrappedBuffer(bson));
    }

    @Override
    public int compare(Document a, Document b) {
        // Values are compared only to tell a change from none (MVMap.replace).
        return a.equals(b) ? 0 : Arrays.compare(encode(a), encode(b));
    }

    @Override
    public Document[] createStorage(int size) {
        return new Document[size];
    }

    private static byte[] encode(Document document) {
        ByteBuf bson = Unpooled.buffer(512);
        try {
            BsonEncoder.encodeDocument(document, bson);
            byte[] bytes = new byte[bson.readableBytes()];
            bson.readBytes(bytes);
            return bytes;
        } finally {
            bson.release();
        }
    }
}
