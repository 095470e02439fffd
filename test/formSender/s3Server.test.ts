import { strict as assert } from "assert";
import {
    DeleteObjectCommand,
    GetObjectCommand,
    HeadObjectCommand,
    PutObjectCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { S3Server, startS3Server } from "../support/s3Server";

describe("local S3 server", () => {
    let s3: S3Server;
    let client: S3Client;
    before(async () => {
        s3 = await startS3Server();
        client = new S3Client({
            region: "us-east-1",
            endpoint: s3.endpoint,
            forcePathStyle: true,
            credentials: { accessKeyId: "test", secretAccessKey: "test" },
        });
    });
    after(() => s3.close());

    it("stores, reads, heads and deletes objects through the SDK", async () => {
        await client.send(
            new PutObjectCommand({
                Bucket: "b",
                Key: "client-config/x.json",
                Body: '{"a":1}',
                ContentType: "application/json",
            }),
        );
        const got = await client.send(new GetObjectCommand({ Bucket: "b", Key: "client-config/x.json" }));
        assert.equal(await got.Body!.transformToString(), '{"a":1}');
        assert.equal(
            (await client.send(new HeadObjectCommand({ Bucket: "b", Key: "client-config/x.json" }))).ContentLength,
            7,
        );
        await client.send(new DeleteObjectCommand({ Bucket: "b", Key: "client-config/x.json" }));
        await assert.rejects(
            client.send(new GetObjectCommand({ Bucket: "b", Key: "client-config/x.json" })),
            (e: Error) => e.name === "NoSuchKey",
        );
    });

    it("accepts presigned PUT and GET URLs", async () => {
        const put = await getSignedUrl(
            client,
            new PutObjectCommand({ Bucket: "b", Key: "k.json", ContentType: "application/json" }),
            { expiresIn: 60 },
        );
        assert.equal(
            (await fetch(put, { method: "PUT", body: "{}", headers: { "content-type": "application/json" } })).status,
            200,
        );
        const get = await getSignedUrl(client, new GetObjectCommand({ Bucket: "b", Key: "k.json" }), { expiresIn: 60 });
        assert.equal(await (await fetch(get)).text(), "{}");
    });
});
