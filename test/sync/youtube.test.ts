import { strict as assert } from "assert";
import {
    channelScopedReason,
    createYouTubeClient,
    QuotaExhaustedError,
    YouTubeApiError,
    YouTubeClientOptions,
} from "../../functions/syncBatch";
import { Logger } from "../../functions/syncBatch/log";
import { freePort } from "../support/postgres";
import {
    channelId,
    channelResource,
    fakeChannel,
    startYouTubeServer,
    videoId,
    videoResource,
    YouTubeServer,
} from "../support/youtubeServer";

const KEY = "AIza-test-key-never-logged";

describe("YouTube Data API client", () => {
    let yt: YouTubeServer;
    const ch = channelId("client");
    const ids = Array.from({ length: 120 }, (_, i) => videoId(`c${i}`));
    let sleeps: number[];
    let logs: string[];
    const logger: Logger = {
        info: (m, f) => logs.push(JSON.stringify({ m, ...f })),
        warn: (m, f) => logs.push(JSON.stringify({ m, ...f })),
        error: (m, f) => logs.push(JSON.stringify({ m, ...f })),
    };
    const client = (o: Partial<YouTubeClientOptions> = {}) =>
        createYouTubeClient({
            apiKey: KEY,
            baseUrl: yt.baseUrl,
            logger,
            sleep: (ms) => {
                sleeps.push(ms);
                return Promise.resolve();
            },
            random: () => 0.5,
            ...o,
        });

    before(async () => {
        yt = await startYouTubeServer({ apiKey: KEY });
        yt.addChannel(fakeChannel(channelResource(ch), ids));
        ids.forEach((id, i) => yt.addVideo(videoResource(id, ch, { index: i })));
    });
    after(() => yt.close());
    beforeEach(() => {
        yt.resetLog();
        yt.exhaustQuotaAfter(undefined);
        sleeps = [];
        logs = [];
    });

    it("walks an uploads playlist 50 items per page following nextPageToken", async () => {
        const c = client();
        const pages: string[][] = [];
        let token: string | undefined;
        do {
            const p = await c.playlistPage(`UU${ch.slice(2)}`, token);
            pages.push(p.videoIds);
            token = p.nextPageToken;
        } while (token);
        assert.deepEqual(
            pages.map((p) => p.length),
            [50, 50, 20],
        );
        assert.deepEqual(pages.flat(), ids);
        assert.deepEqual(
            yt.requests.map((r) => r.params.maxResults),
            ["50", "50", "50"],
        );
        assert.equal(yt.requests[0].params.pageToken, undefined);
        assert.deepEqual(c.quota, { units: 3, calls: { channels: 0, playlistItems: 3, videos: 0 }, retries: 0 });
    });

    it("asks videos.list for snippet, statistics and contentDetails of up to 50 ids in one call", async () => {
        const c = client();
        const items = await c.videos(ids.slice(0, 50));
        assert.equal(items.length, 50);
        assert.deepEqual(Object.keys(items[0]).sort(), [
            "contentDetails",
            "etag",
            "id",
            "kind",
            "snippet",
            "statistics",
        ]);
        assert.equal(yt.requests.length, 1);
        assert.equal(yt.requests[0].params.part, "snippet,statistics,contentDetails");
        await assert.rejects(c.videos(ids.slice(0, 51)), {
            message: "videos.list: between 1 and 50 ids per call, got 51",
        });
    });

    it("retries a burst of 5xx answers with growing backoff and counts every answered call", async () => {
        yt.failNext(3, { endpoint: "channels", status: 503 });
        const c = client();
        const items = await c.channels([ch]);
        assert.equal(items[0].id, ch);
        assert.deepEqual(
            yt.requests.map((r) => r.status),
            [503, 503, 503, 200],
        );
        assert.deepEqual(sleeps, [375, 750, 1500]);
        assert.deepEqual(c.quota, { units: 4, calls: { channels: 4, playlistItems: 0, videos: 0 }, retries: 3 });
    });

    it("waits as long as Retry-After asks on 429 and retries 403 rateLimitExceeded", async () => {
        yt.failNext(1, { status: 429, retryAfter: "7" });
        yt.failNext(1, { status: 403, reason: "rateLimitExceeded" });
        const c = client();
        await c.videos([ids[0]]);
        assert.deepEqual(
            yt.requests.map((r) => r.status),
            [429, 403, 200],
        );
        assert.deepEqual(sleeps, [7000, 750]);
    });

    it("gives up after the last attempt with an error naming the call and the status", async () => {
        yt.failNext(10, { status: 500 });
        const c = client({ retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 } });
        await assert.rejects(c.videos([ids[0]]), (err: Error) => {
            assert.ok(err instanceof YouTubeApiError);
            assert.equal(
                err.message,
                `videos.list part=snippet,statistics,contentDetails id=${ids[0]}: HTTP 500 backendError after 3 attempts: injected 500`,
            );
            return true;
        });
        assert.equal(yt.requests.length, 3);
    });

    it("stops at once on 403 quotaExceeded without retrying or counting the refused call", async () => {
        yt.exhaustQuotaAfter(1);
        const c = client();
        await c.channels([ch]);
        await assert.rejects(c.videos([ids[0]]), (err: Error) => {
            assert.ok(err instanceof QuotaExhaustedError);
            assert.equal((err as unknown as { reason: string }).reason, "quotaExceeded");
            return true;
        });
        assert.equal(yt.requests.length, 2);
        assert.equal(c.quota.units, 1);
        assert.deepEqual(sleeps, []);
    });

    it("does not spend beyond its own quota budget", async () => {
        const c = client({ quotaBudget: 2 });
        await c.channels([ch]);
        await c.videos([ids[0]]);
        await assert.rejects(c.videos([ids[1]]), {
            name: "QuotaExhaustedError",
            message: `quota budget of 2 units spent before videos.list part=snippet,statistics,contentDetails id=${ids[1]}`,
        });
        assert.equal(yt.requests.length, 2);
    });

    // Today's invalid-key answer is 400 badRequest with ErrorInfo API_KEY_INVALID (test/contracts/youtube.test.ts);
    // the keyInvalid body this test pinned before is from 2018–2020.
    it("fails fast on an invalid key, naming badRequest and API_KEY_INVALID, and never puts the key in errors or logs", async () => {
        const c = createYouTubeClient({
            apiKey: "wrong-key-value",
            baseUrl: yt.baseUrl,
            logger,
            sleep: () => Promise.resolve(),
        });
        await assert.rejects(c.channels([ch]), (err: Error) => {
            assert.match(err.message, /HTTP 400 badRequest: \(API_KEY_INVALID\) API key not valid/);
            assert.ok(!err.message.includes("wrong-key-value"));
            assert.equal(channelScopedReason(err), undefined, "an invalid key concerns every channel");
            return true;
        });
        yt.failNext(1, { status: 502 });
        await client().channels([ch]);
        assert.equal(logs.length, 1);
        assert.ok(!logs.join("\n").includes(KEY));
        assert.equal(yt.requests.length, 3, "one refused call, one 502, one answer: no retry of the invalid key");
    });

    it("asks channels.list and videos.list by id without maxResults, which videos.list does not support with id", async () => {
        const c = client();
        await c.channels([ch]);
        await c.videos(ids.slice(0, 3));
        assert.deepEqual(
            yt.requests.map((r) => [r.endpoint, r.status, "maxResults" in r.params]),
            [
                ["channels", 200, false],
                ["videos", 200, false],
            ],
        );
    });

    it("tells errors that concern one channel from errors that concern every channel", async () => {
        const reasonOf = async (fault: Parameters<YouTubeServer["failNext"]>[1]) => {
            yt.failNext(1, fault);
            const err = await client({ retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } })
                .playlistPage(`UU${ch.slice(2)}`)
                .then(
                    () => assert.fail("expected an error"),
                    (e: unknown) => e,
                );
            return channelScopedReason(err);
        };
        const cases: [Parameters<YouTubeServer["failNext"]>[1], string | undefined][] = [
            [{ status: 400, reason: "invalidPageToken" }, "invalidPageToken"],
            [{ status: 403, reason: "channelClosed" }, "channelClosed"],
            [{ status: 403, reason: "channelSuspended" }, "channelSuspended"],
            [{ status: 403, reason: "playlistItemsNotAccessible" }, "playlistItemsNotAccessible"],
            [{ status: 403, reason: "forbidden" }, "forbidden"],
            [{ status: 400, reason: "unknownPart" }, undefined],
            [{ status: 503 }, undefined],
        ];
        for (const [fault, expected] of cases) assert.equal(await reasonOf(fault), expected, JSON.stringify(fault));
        await assert.rejects(client().playlistPage(`UU${ch.slice(2)}`, "bm90LWEtdG9rZW4"), (err: Error) => {
            assert.equal(channelScopedReason(err), "invalidPageToken");
            return true;
        });
    });

    it("retries a 502 whose body is the front end's HTML error page, not JSON", async () => {
        yt.failNext(1, { endpoint: "channels", status: 502, body: "html" });
        const items = await client().channels([ch]);
        assert.equal(items[0].id, ch);
        assert.deepEqual(
            yt.requests.map((r) => r.status),
            [502, 200],
        );
        assert.deepEqual(sleeps, [375]);
    });

    it("reports a missing uploads playlist as an empty, not-found page", async () => {
        const p = await client().playlistPage("UUdoesnotexistdoesnotexis");
        assert.deepEqual(p, { videoIds: [], notFound: true });
    });

    it("retries network failures and reports them after the last attempt", async () => {
        const port = await freePort();
        const c = createYouTubeClient({
            apiKey: KEY,
            baseUrl: `http://127.0.0.1:${port}/youtube/v3`,
            logger,
            sleep: (ms) => {
                sleeps.push(ms);
                return Promise.resolve();
            },
            retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
        });
        await assert.rejects(c.channels([ch]), /channels\.list .*: network error after 2 attempts/);
        assert.equal(sleeps.length, 1);
        assert.equal(c.quota.units, 0);
    });
});
