package switchboard.store;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoServer;

/** Runs the embedded document store: {@code StoreServer <host> <port> <data-file>} until SIGTERM. */
public final class StoreServer {

    /**
     * Threads answering connections. Netty ties each connection to one of them for life, so a
     * long command (a scan) holds up every connection that shares its thread.
     */
    static final int WORKER_THREADS = Integer.getInteger("switchboard.store.threads", 32);

    private StoreServer() {
    }

    public static void main(String[] args) throws InterruptedException, java.io.IOException {
        if (args.length != 3) {
            System.err.println("usage: StoreServer <host> <port> <data-file>");
            System.exit(2);
        }
        Path dataFile = Path.of(args[2]).toAbsolutePath();
        Files.createDirectories(dataFile.getParent());
        // Commits are made by the backend before each acknowledgement; the background
        // writer only compacts. Pages are not compressed: LZF cost more CPU than it saved.
        MVStore store = new MVStore.Builder().fileName(dataFile.toString()).open();
        StoreFormat.check(store, dataFile);
        DurableH2Backend backend = new DurableH2Backend(store);
        backend.version(DurableH2Backend.VERSION);
        MongoServer server = new MongoServer(backend);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdownNow();
            stopped.countDown();
        }, "store-shutdown"));
        server.bind(new InetSocketAddress(args[0], Integer.parseInt(args[1])), 1, WORKER_THREADS);
        System.err.println("store: listening on " + args[0] + ":" + args[1] + ", data in " + dataFile);
        stopped.await();
    }
}
