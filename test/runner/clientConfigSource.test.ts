/** Client config fetching against a local S3 and loopback HTTP servers, and the log sanitizer wiring. */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as path from "path";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ClientConfigError, loadClientConfig } from "../../containers/runner/src/clientConfigSource";
import { makeLogger } from "../../containers/runner/src/log";
import { S3_ERRORS, startS3Server, type S3Server } from "../support/s3Server";
import { FIXTURE_ROOT } from "./fixtureServer";

const CONFIG_TEXT = fs.readFileSync(path.join(FIXTURE_ROOT, "client_config.json"), "utf8");

/** A client config file, parsed: the tests only edit fields of its `client` section. */
interface ClientConfigJson {
    readonly client: Record<string, unknown>;
}

/** One JSON log line of the runner's logger, the fields these tests read. */
interface LogRecord {
    readonly msg: string;
    readonly run_index: number;
    readonly url: string;
}

describe("runner client config source", function () {
    this.timeout(30_000);
    let s3server: S3Server;
    let s3: S3Client;
    let http503: http.Server;
    let httpUrl = "";
    let hits = 0;
    const answers: number[] = [];

    before(async () => {
        s3server = await startS3Server();
        s3 = new S3Client({
            endpoint: s3server.endpoint,
            forcePathStyle: true,
            region: "us-east-1",
            credentials: { accessKeyId: "test", secretAccessKey: "test" },
        });
        await s3.send(new PutObjectCommand({ Bucket: "cfg", Key: "client-config/ok.json", Body: CONFIG_TEXT }));
        await s3.send(new PutObjectCommand({ Bucket: "cfg", Key: "client-config/not-json.json", Body: "{ client: " }));
        const bad = JSON.parse(CONFIG_TEXT) as ClientConfigJson;
        delete bad.client.email;
        bad.client.phone = "call me";
        await s3.send(
            new PutObjectCommand({ Bucket: "cfg", Key: "client-config/invalid.json", Body: JSON.stringify(bad) }),
        );
        // Answers with the next status in `answers` (200 serves the config).
        http503 = http.createServer((_req, res) => {
            hits++;
            const status = answers.shift() ?? 200;
            res.writeHead(status, { "content-type": "application/json" });
            res.end(status === 200 ? CONFIG_TEXT : "{}");
        });
        await new Promise<void>((r) => http503.listen(0, "127.0.0.1", r));
        httpUrl = `http://127.0.0.1:${(http503.address() as AddressInfo).port}/client-config/x.json?X-Amz-Signature=abc`;
    });
    after(async () => {
        await s3server?.close();
        await new Promise((r) => http503?.close(r));
    });

    const deps = (deadlineMs = 5000, retries: string[] = []) => ({
        s3,
        fetch: globalThis.fetch,
        deadlineMs,
        sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 50))),
        onRetry: (reason: string) => retries.push(reason),
    });

    it("reads and validates an s3:// config with the SDK", async () => {
        const config = await loadClientConfig("s3://cfg/client-config/ok.json", deps());
        assert.strictEqual(config.client.company_name, "株式会社テストコネクト");
    });

    it("reads a presigned URL", async () => {
        const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: "cfg", Key: "client-config/ok.json" }), {
            expiresIn: 600,
        });
        assert.match(url, /X-Amz-Signature=/);
        const config = await loadClientConfig(url, deps());
        assert.strictEqual(config.message.subject, "業務効率化サービスのご案内");
    });

    /** The SDK's own retries (3 attempts by default) would absorb the faults; these tests count the runner's. */
    const singleAttemptClient = () =>
        new S3Client({
            endpoint: s3server.endpoint,
            forcePathStyle: true,
            region: "us-east-1",
            maxAttempts: 1,
            credentials: { accessKeyId: "test", secretAccessKey: "test" },
        });

    it("fails at once on a missing object: S3 answers 403 to a role that may not list the bucket", async () => {
        const retries: string[] = [];
        await assert.rejects(
            loadClientConfig("s3://cfg/client-config/never.json", deps(5000, retries)),
            (err: ClientConfigError) => {
                assert.strictEqual(err.exitCode, 69);
                assert.match(
                    err.message,
                    /^client config cannot be read: s3:\/\/cfg\/client-config\/never.json: AccessDenied \(HTTP 403\) \(the object does not exist, or the job role may not read it\)/,
                );
                return true;
            },
        );
        assert.deepStrictEqual(retries, []);
    });

    it("retries S3 throttling and server errors, then reads the object", async () => {
        const retries: string[] = [];
        s3server.failNext("GetObject", S3_ERRORS.SlowDown);
        s3server.failNext("GetObject", S3_ERRORS.InternalError);
        const config = await loadClientConfig("s3://cfg/client-config/ok.json", {
            ...deps(10_000, retries),
            s3: singleAttemptClient(),
        });
        assert.strictEqual(config.client.email, "t.yamada@example.com");
        assert.deepStrictEqual(
            retries.map((r) => /: (\w+) \(HTTP (\d+)\)/.exec(r)?.slice(1).join(" ")),
            ["SlowDown 503", "InternalError 500"],
        );
    });

    it("gives up after the deadline with exit code 69", async () => {
        s3server.failNext("GetObject", S3_ERRORS.ServiceUnavailable, 1000);
        try {
            await assert.rejects(
                loadClientConfig("s3://cfg/client-config/ok.json", {
                    ...deps(400),
                    s3: singleAttemptClient(),
                }),
                (err: ClientConfigError) => {
                    assert.strictEqual(err.exitCode, 69);
                    assert.match(
                        err.message,
                        /^client config unreachable after 0 s of retries: s3:\/\/cfg\/client-config\/ok.json: ServiceUnavailable \(HTTP 503\)/,
                    );
                    return true;
                },
            );
        } finally {
            s3server.clearFaults();
        }
    });

    it("retries 503 answers of a presigned URL, and fails at once on 403 without printing the signature", async () => {
        answers.push(503, 503);
        hits = 0;
        const config = await loadClientConfig(httpUrl, deps());
        assert.strictEqual(config.client.last_name, "山田");
        assert.strictEqual(hits, 3);
        answers.push(403);
        hits = 0;
        await assert.rejects(loadClientConfig(httpUrl, deps()), (err: ClientConfigError) => {
            assert.strictEqual(err.exitCode, 69);
            assert.strictEqual(hits, 1, "a 403 is not retried");
            assert.match(err.message, /HTTP 403; check the job role's s3:GetObject/);
            assert.ok(!err.message.includes("X-Amz-Signature=abc"));
            return true;
        });
    });

    it("rejects a config that is not JSON, or fails the shared schema, with exit code 65 naming every problem", async () => {
        await assert.rejects(
            loadClientConfig("s3://cfg/client-config/not-json.json", deps()),
            (err: ClientConfigError) => err.exitCode === 65 && /is not JSON/.test(err.message),
        );
        await assert.rejects(
            loadClientConfig("s3://cfg/client-config/invalid.json", deps()),
            (err: ClientConfigError) => {
                assert.strictEqual(err.exitCode, 65);
                assert.match(err.message, /\/client\/email is required/);
                assert.match(err.message, /\/client\/phone must match pattern/);
                return true;
            },
        );
    });
});

describe("runner log lines", () => {
    it("mask the Supabase URL and key, e-mails, phones, company names and query strings", () => {
        const lines: string[] = [];
        const log = makeLogger(
            (l) => lines.push(l),
            { run_index: 1 },
            { secrets: ["https://abcdefgh.supabase.co", "service-role-key-123456"] },
        );
        log.addSensitive({ companyNames: ["株式会社テストコネクト", "有限会社カワセ印刷"] });
        log.info("form done", {
            company: "有限会社カワセ印刷",
            detail: "confirmed for t.yamada@example.com / 03-1234-5678 by 株式会社テストコネクト",
            url: "https://kawase.example.jp/contact?utm_source=mail&email=a@b.jp",
            supabase: "https://abcdefgh.supabase.co/rest/v1/rpc/x with service-role-key-123456",
        });
        assert.strictEqual(lines.length, 1);
        const rec = JSON.parse(lines[0]) as LogRecord;
        assert.strictEqual(rec.msg, "form done");
        assert.strictEqual(rec.run_index, 1);
        for (const leaked of [
            "t.yamada",
            "1234-5678",
            "テストコネクト",
            "カワセ",
            "utm_source",
            "abcdefgh",
            "service-role-key",
        ]) {
            assert.ok(!lines[0].includes(leaked), `${leaked} leaked: ${lines[0]}`);
        }
        assert.match(rec.url, /^https:\/\/kawase\.example\.jp\/contact\?\[query\]$/);
    });
});
