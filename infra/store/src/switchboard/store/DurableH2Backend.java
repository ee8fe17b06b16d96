package switchboard.store;

import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import io.netty.channel.Channel;

/**
 * mongo-java-server's H2 backend, with three changes the platform relies on: a write is
 * committed to the store file before it is acknowledged (so a killed server keeps every
 * acknowledged write), non-unique indexes are used, and {@code explain} names the index a
 * find would use.
 */
final class DurableH2Backend extends H2Backend {

    DurableH2Backend(MVStore mvStore) {
        super(mvStore);
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new IndexedH2Database(databaseName, getMvStore(), getCursorRegistry());
    }

    @Override
    public Document handleMessage(MongoMessage message) {
        boolean readOnly = readsOnly(message.getDocument());
        try {
            return super.handleMessage(message);
        } finally {
            if (!readOnly) {
                commitPendingWrites();
            }
        }
    }

    // Commands that change nothing: they answer at once instead of waiting, with the writes
    // of the moment, for the next commit (they never made anything there was to keep). Like
    // MongoDB's default read concern, they may see a write not yet acknowledged.
    private static final Set<String> READS = Set.of("find", "getmore", "count", "distinct",
        "listcollections", "listindexes", "listdatabases", "hello", "ismaster", "ping", "buildinfo",
        "explain", "killcursors", "endsessions", "dbstats", "collstats", "serverstatus");

    static boolean readsOnly(Document command) {
        if (command.isEmpty()) {
            return false;
        }
        String name = command.keySet().iterator().next().toLowerCase(Locale.ROOT);
        if ("aggregate".equals(name) && command.get("pipeline") instanceof List<?> stages) {
            return stages.stream().noneMatch(stage -> stage instanceof Document document
                && (document.containsKey("$out") || document.containsKey("$merge")));
        }
        return READS.contains(name);
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
        if ("explain".equalsIgnoreCase(command)) {
            return explain(databaseName, (Document) query.get(command));
        }
        return super.handleCommand(channel, databaseName, command, query);
    }

    private static final String MODE = System.getProperty("switchboard.store.commit", "group");
    private final Object committer = new Object();
    private long requested;
    private long committed;

    // Group commit: a write waits until a commit that began after it finished. Whoever takes
    // the committer lock first commits every write made so far, so writes arriving together
    // share one commit instead of queueing for one each.
    private void commitPendingWrites() {
        MVStore store = getMvStore();
        if ("none".equals(MODE) || !store.hasUnsavedChanges()) {
            return;
        }
        if ("each".equals(MODE)) {
            store.commit();
            return;
        }
        long mine;
        synchronized (this) {
            mine = ++requested;
        }
        synchronized (committer) {
            if (committed >= mine) {
                return;
            }
            long upTo;
            synchronized (this) {
                upTo = requested;
            }
            store.commit();
            committed = upTo;
        }
    }

    // The plan a find would run, as the collection itself plans it, in MongoDB's queryPlanner shape.
    private Document explain(String databaseName, Document explained) {
        String collectionName = (String) explained.get("find");
        if (collectionName == null) {
            throw new IllegalArgumentException("explain supports find only");
        }
        Object filter = explained.get("filter");
        Document query = filter instanceof Document given ? given : new Document();
        MongoCollection<?> collection = resolveDatabase(databaseName).resolveCollection(collectionName, false);
        Document plan = collection instanceof PlannedH2Collection planned
            ? planned.explain(query, explained.get("sort") instanceof Document sort ? sort : null)
            : new Document("stage", "COLLSCAN");
        Document planner = new Document("namespace", databaseName + "." + collectionName)
            .append("parsedQuery", query).append("winningPlan", plan).append("rejectedPlans", List.of());
        return new Document("queryPlanner", planner).append("ok", 1.0);
    }

    /** MongoDB 6.0's version and wire version, the oldest PyMongo 4.20 accepts with room to spare. */
    static final MongoVersion VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(6, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 17;
        }
    };
}
