import { strict as assert } from "assert";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { presignS3Put, PresignPutOptions } from "../../functions/formSender/presign";

/**
 * The reference: @smithy/signature-v4 presigning the same PUT as the SDK's S3 presigner does
 * (paths not double-encoded; the unsigned-payload header hoisted into the query).
 */
async function reference(o: PresignPutOptions, host: string, path: string): Promise<URLSearchParams> {
    const signer = new SignatureV4({
        service: "s3",
        region: o.region,
        credentials: o.credentials,
        sha256: Hash.bind(null, "sha256"),
        uriEscapePath: false,
        applyChecksum: false,
    });
    const signed = await signer.presign(
        {
            method: "PUT",
            protocol: "https:",
            hostname: host,
            path,
            headers: { host, "content-type": o.contentType, "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD" },
            query: {},
        },
        { signingDate: o.now, expiresIn: o.expiresInSeconds },
    );
    return new URLSearchParams(Object.entries(signed.query as Record<string, string>));
}

describe("S3 PUT presigning", () => {
    const keys = [
        "client-config/stg/T100/0f8c2d1e-6b0a-4c1e-9a57-3d2b1c0e9f8a.json",
        "client-config/prd/T 200/a+b=c&d.json",
        "client-config/stg/日本語/(1)!'*~.json",
        "k",
    ];
    const cases: PresignPutOptions[] = [];
    for (const [i, key] of keys.entries()) {
        for (const sessionToken of [undefined, "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+token/with=chars"]) {
            cases.push({
                bucket: `fs-stg-client-config-${i}abc`,
                key,
                region: i % 2 ? "ap-northeast-1" : "us-east-1",
                credentials: {
                    accessKeyId: "ASIAEXAMPLEKEY000001",
                    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    sessionToken,
                },
                expiresInSeconds: [900, 1, 604800, 3600][i],
                contentType: "application/json",
                now: new Date(Date.UTC(2026, 10, 23, 1, 2, 3 + i)),
            });
        }
    }

    it("signs virtual-hosted URLs exactly as @smithy/signature-v4 does, session token included", async () => {
        for (const o of cases) {
            const url = new URL(presignS3Put(o));
            assert.equal(url.origin, `https://${o.bucket}.s3.${o.region}.amazonaws.com`);
            assert.equal(decodeURIComponent(url.pathname.slice(1)), o.key);
            const expected = await reference(o, url.host, url.pathname);
            assert.deepEqual(
                Object.fromEntries([...url.searchParams].sort()),
                Object.fromEntries([...expected].sort()),
                o.key,
            );
        }
    });

    it("addresses a custom endpoint path-style and signs that host and path", async () => {
        const o = { ...cases[2], endpoint: "http://127.0.0.1:4566/" };
        const url = new URL(presignS3Put(o));
        assert.equal(url.origin, "http://127.0.0.1:4566");
        assert.ok(url.pathname.startsWith(`/${o.bucket}/client-config/prd/`));
        const expected = await reference(o, "127.0.0.1:4566", url.pathname);
        assert.equal(url.searchParams.get("X-Amz-Signature"), expected.get("X-Amz-Signature"));
    });

    it("changes the signature when anything signed changes", () => {
        const base = new URL(presignS3Put(cases[0])).searchParams.get("X-Amz-Signature");
        for (const change of [
            { key: "client-config/other.json" },
            { contentType: "text/plain" },
            { expiresInSeconds: 901 },
            { region: "us-west-2" },
            { credentials: { ...cases[0].credentials, secretAccessKey: "x" } },
        ]) {
            assert.notEqual(
                new URL(presignS3Put({ ...cases[0], ...change })).searchParams.get("X-Amz-Signature"),
                base,
                JSON.stringify(change),
            );
        }
    });

    it("refuses an expiry S3 would not accept", () => {
        assert.throws(
            () => presignS3Put({ ...cases[0], expiresInSeconds: 604801 }),
            /^Error: presigned URL expiry must be a whole number of seconds from 1 to 604800, got 604801$/,
        );
        assert.throws(() => presignS3Put({ ...cases[0], expiresInSeconds: 0 }), /got 0$/);
    });
});
