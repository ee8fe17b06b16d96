package switchboard.store;

import java.nio.file.Path;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The layout of a data file: documents and unique-index keys as BSON ({@link BsonDocumentType},
 * {@link KeyValueType}). A file written by an earlier layout (Java serialization) is refused
 * with what to do, rather than read as garbage.
 */
final class StoreFormat {

    static final String CURRENT = "documents-and-unique-keys-bson-1";
    private static final String MAP = "switchboard.format";

    private StoreFormat() {
    }

    static void check(MVStore store, Path dataFile) {
        boolean hasDocuments = store.getMapNames().stream().anyMatch(name -> name.startsWith("databases."));
        MVMap<String, String> format = store.openMap(MAP);
        String found = format.get("layout");
        if (found == null && hasDocuments || found != null && !found.equals(CURRENT)) {
            store.close();
            System.err.println("store: " + dataFile + " was written in an earlier layout ("
                + (found == null ? "Java-serialized documents" : found) + "); this store reads "
                + CURRENT + ". Remove the file to start afresh.");
            System.exit(3);
        }
        if (found == null) {
            format.put("layout", CURRENT);
            store.commit();
        }
    }
}
