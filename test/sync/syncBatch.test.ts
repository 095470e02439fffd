import { strict as assert } from "assert";
import { Client } from "pg";
import {
    CHANNEL_COLUMNS,
    CHANNEL_STAGING,
    channelRow,
    copyAll,
    createStaging,
    makeSyncHandler,
    migrate,
    MIGRATIONS,
    PARTIAL_RUN_LOG_MESSAGE,
    publish,
    SyncDeps,
    SyncResult,
    VIDEO_COLUMNS,
    VIDEO_STAGING,
    videoRow,
} from "../../functions/syncBatch";
import { Logger } from "../../functions/syncBatch/log";
import { PARTIAL_RUN_FILTER_PATTERN } from "../../components/syncScheduler";
import { matchesFilterPattern } from "../support/cloudwatchFilter";
import { startPostgres, TestPostgres } from "../support/postgres";
import {
    channelId,
    channelResource,
    fakeChannel,
    Json,
    startYouTubeServer,
    videoId,
    videoResource,
    VideoResource,
    YouTubeServer,
} from "../support/youtubeServer";

const KEY = "AIza-sync-test-key";
const DB_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds-db-credentials/shirogane-AbCdEf";
const YT_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:youtube/api-key-AbCdEf";

/** Titles that break hand-written CSV: separators, quotes, line breaks, emoji, NULL markers. */
const ODD_TITLES = [
    "絵文字 😀🎉 テスト",
    "comma, separated, title",
    'He said "hello", then left',
    "line one\nline two",
    "windows\r\nline",
    "lone\rcarriage",
    "",
    "\\N",
    "  padded  ",
    "tab\tseparated",
    "back\\slash",
    '"",,"\r\n',
];

const A = channelId("alpha");
const B = channelId("bravo");
const C = channelId("charlie");
const EMPTY = channelId("empty");
const NOUPLOADS = channelId("nouploads");

function fixture(yt: YouTubeServer): { videos: Map<string, VideoResource>; deleted: string } {
    const videos = new Map<string, VideoResource>();
    // Alpha: 120 videos over three pages, odd text in the first ones, one deleted entry.
    const alphaIds = Array.from({ length: 120 }, (_, i) => videoId(`a${i}`));
    const deleted = videoId("deleted1");
    alphaIds.forEach((id, i) => {
        const o: Parameters<typeof videoResource>[2] = { index: i };
        if (i < ODD_TITLES.length) o.title = ODD_TITLES[i];
        if (i === 0) o.description = 'before\u0000after, with "quotes"\nand lines';
        if (i === 1) o.snippet = { tags: ["a,b", 'say "hi"', "改行\nタグ"] };
        if (i === 20) o.statistics = null; // the API omits statistics entirely
        if (i === 21) o.statistics = { viewCount: "99", commentCount: "1" }; // likes hidden
        if (i === 22) o.contentDetails = { duration: "P0D" }; // upcoming live stream
        if (i === 23) o.snippet = { publishedAt: "not-a-date" };
        videos.set(id, videoResource(id, A, o));
    });
    const alphaPlaylist = [...alphaIds.slice(0, 60), deleted, ...alphaIds.slice(60)];
    yt.addChannel(fakeChannel(channelResource(A, { title: 'Alpha, "the first"' }), alphaPlaylist));
    // Bravo: hidden subscriber count, 7 videos.
    const bravoIds = Array.from({ length: 7 }, (_, i) => videoId(`b${i}`));
    bravoIds.forEach((id, i) => videos.set(id, videoResource(id, B, { index: i })));
    yt.addChannel(
        fakeChannel(
            channelResource(B, { statistics: { viewCount: "5", hiddenSubscriberCount: true, videoCount: "7" } }),
            bravoIds,
        ),
    );
    // Charlie: 3 videos, used for "not enabled" and manual runs.
    const charlieIds = Array.from({ length: 3 }, (_, i) => videoId(`c${i}`));
    charlieIds.forEach((id, i) => videos.set(id, videoResource(id, C, { index: i })));
    yt.addChannel(fakeChannel(channelResource(C), charlieIds));
    // A channel that never uploaded (playlist 404) and one without an uploads playlist at all.
    yt.addChannel({ ...fakeChannel(channelResource(EMPTY), []), playlistMissing: true });
    yt.addChannel(fakeChannel(channelResource(NOUPLOADS, { uploads: null }), []));
    for (const v of videos.values()) yt.addVideo(v);
    return { videos, deleted };
}

interface Harness {
    /** `apiKey` replaces the YouTube key the secret holds. */
    run(event?: Json, o?: Partial<SyncDeps> & { remainingMs?: number; apiKey?: string }): Promise<SyncResult>;
    db: Client;
    logs: Json[];
    setNow(iso: string): void;
}

describe("sync-batch handler against PostgreSQL and a loopback YouTube API", function () {
    this.timeout(120000);
    let pg: TestPostgres;
    let yt: YouTubeServer;
    let videos: Map<string, VideoResource>;
    let deleted: string;
    let dbCount = 0;
    const clients: Client[] = [];

    before(async () => {
        [pg, yt] = await Promise.all([startPostgres(), startYouTubeServer({ apiKey: KEY })]);
        ({ videos, deleted } = fixture(yt));
    });
    after(async () => {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
        await Promise.all([yt?.close(), pg?.stop()]);
    });
    beforeEach(() => {
        yt.resetLog();
        yt.exhaustQuotaAfter(undefined);
    });

    /** A fresh database and a handler wired to it exactly as production wires pg and secrets. */
    async function harness(channelIds: string[] = [A, B]): Promise<Harness> {
        const url = new URL(await pg.createDatabase(`sync_${++dbCount}`));
        const db = new Client({ connectionString: url.toString() });
        await db.connect();
        clients.push(db);
        let now = new Date("2025-03-01T15:00:05Z");
        const logs: Json[] = [];
        const logger: Logger = {
            info: (message, f) => logs.push({ level: "INFO", message, ...f }),
            warn: (message, f) => logs.push({ level: "WARN", message, ...f }),
            error: (message, f) => logs.push({ level: "ERROR", message, ...f }),
        };
        const secrets: Record<string, string> = {
            [DB_SECRET]: JSON.stringify({
                username: "postgres",
                password: decodeURIComponent(url.password),
                engine: "postgres",
            }),
            [YT_SECRET]: KEY,
        };
        return {
            db,
            logs,
            setNow: (iso) => void (now = new Date(iso)),
            run: (event = { source: "aws.events", "detail-type": "Scheduled Event", detail: {} }, o = {}) => {
                const handler = makeSyncHandler({
                    async connect(password) {
                        const c = new Client({
                            host: url.hostname,
                            port: Number(url.port),
                            database: url.pathname.slice(1),
                            user: "postgres",
                            password,
                        });
                        await c.connect();
                        return c;
                    },
                    getSecret: (id) =>
                        id === YT_SECRET && o.apiKey !== undefined
                            ? Promise.resolve(o.apiKey)
                            : id in secrets
                              ? Promise.resolve(secrets[id])
                              : Promise.reject(new Error(`ResourceNotFoundException: ${id}`)),
                    dbPasswordSecretId: DB_SECRET,
                    youtubeApiKeySecretId: YT_SECRET,
                    youtubeBaseUrl: yt.baseUrl,
                    now: () => now,
                    sleep: () => Promise.resolve(),
                    logger,
                    channelIds,
                    ...o,
                });
                const remaining = o.remainingMs;
                return handler(
                    event,
                    remaining === undefined ? undefined : { getRemainingTimeInMillis: () => remaining },
                );
            },
        };
    }

    async function dump(db: Client): Promise<Record<string, Json[]>> {
        const out: Record<string, Json[]> = {};
        for (const [table, order] of [
            ["youtube_channels", "channel_id"],
            ["youtube_videos", "video_id"],
            ["youtube_video_stats", "video_id, snapshot_date"],
        ]) {
            out[table] = (await db.query<Json>(`SELECT * FROM ${table} ORDER BY ${order}`)).rows;
        }
        return out;
    }

    it("loads channels, videos and a JST-dated snapshot with odd text byte-for-byte intact", async () => {
        const h = await harness();
        const r = await h.run();
        assert.equal(r.status, "completed");
        assert.equal(r.trigger, "schedule");
        assert.equal(r.snapshotDate, "2025-03-02");
        assert.equal(r.channels, 2);
        assert.equal(r.videos, 127);
        assert.equal(r.unavailableVideos, 1, "the deleted playlist entry");
        assert.equal(r.snapshots, 126, "every video but the one without statistics");

        const titles = new Map(
            (
                await h.db.query<{ video_id: string; title: string; description: string; tags: string[] }>(
                    "SELECT video_id, title, description, tags FROM youtube_videos",
                )
            ).rows.map((row) => [row.video_id, row]),
        );
        assert.equal(titles.size, 127);
        for (const [id, v] of videos) {
            if (v.snippet.channelId === C) continue;
            assert.equal(titles.get(id)?.title, v.snippet.title, `title of ${id}`);
        }
        assert.equal(titles.get(videoId("a6"))?.title, "", "an empty title stays an empty string, not NULL");
        assert.equal(titles.get(videoId("a7"))?.title, "\\N");
        assert.equal(titles.get(videoId("a0"))?.description, 'beforeafter, with "quotes"\nand lines');
        assert.deepEqual(titles.get(videoId("a1"))?.tags, ["a,b", 'say "hi"', "改行\nタグ"]);
        assert.equal(titles.has(deleted), false);

        const odd = (
            await h.db.query<Json>(
                "SELECT video_id, view_count, like_count, comment_count, duration, duration_seconds, published_at, last_seen_on::text FROM youtube_videos WHERE video_id = ANY($1) ORDER BY video_id",
                [[videoId("a20"), videoId("a21"), videoId("a22"), videoId("a23")]],
            )
        ).rows;
        assert.deepEqual(
            odd.map((o) => [
                o.video_id,
                o.view_count,
                o.like_count,
                o.comment_count,
                o.duration,
                o.duration_seconds,
                o.published_at === null,
                o.last_seen_on,
            ]),
            [
                [videoId("a20"), null, null, null, "PT21M20S", 1280, false, "2025-03-02"],
                [videoId("a21"), "99", null, "1", "PT22M21S", 1341, false, "2025-03-02"],
                [videoId("a22"), "1022", "32", "5", "P0D", 0, false, "2025-03-02"],
                [videoId("a23"), "1023", "33", "6", "PT24M23S", 1463, true, "2025-03-02"],
            ],
        );
        const snap = await h.db.query(
            "SELECT snapshot_date::text AS d, view_count, like_count FROM youtube_video_stats WHERE video_id = $1",
            [videoId("a21")],
        );
        assert.deepEqual(snap.rows, [{ d: "2025-03-02", view_count: "99", like_count: null }]);
        assert.equal(
            (await h.db.query("SELECT 1 FROM youtube_video_stats WHERE video_id = $1", [videoId("a20")])).rowCount,
            0,
        );

        const ch = (
            await h.db.query(
                "SELECT channel_id, title, subscriber_count, hidden_subscriber_count, uploads_playlist_id FROM youtube_channels ORDER BY channel_id",
            )
        ).rows;
        assert.deepEqual(ch, [
            {
                channel_id: A,
                title: 'Alpha, "the first"',
                subscriber_count: "7890",
                hidden_subscriber_count: false,
                uploads_playlist_id: `UU${A.slice(2)}`,
            },
            {
                channel_id: B,
                title: `Channel ${B}`,
                subscriber_count: null,
                hidden_subscriber_count: true,
                uploads_playlist_id: `UU${B.slice(2)}`,
            },
        ]);

        // Quota: one channels.list, one playlistItems page and one videos.list per 50 entries.
        assert.deepEqual(r.quotaCalls, { channels: 1, playlistItems: 3 + 1, videos: 3 + 1 });
        assert.equal(r.quotaUnits, 9);
        assert.equal(r.quotaUnits, yt.units);
        assert.ok(
            yt.requests.every((q) => ["channels", "playlistItems", "videos"].includes(q.endpoint)),
            "never search.list",
        );
        assert.ok(yt.requests.filter((q) => q.endpoint === "videos").every((q) => q.params.id.split(",").length <= 50));
        assert.ok(yt.requests.filter((q) => q.endpoint === "playlistItems").every((q) => q.params.maxResults === "50"));
        const finished = h.logs.find((l) => l.message === "sync finished");
        assert.equal(finished?.quotaUnits, 9);
        const run = (
            await h.db.query(
                "SELECT status, trigger, channels, videos, snapshots, unavailable_videos, quota_units, snapshot_date::text AS d FROM youtube_sync_runs",
            )
        ).rows;
        assert.deepEqual(run, [
            {
                status: "completed",
                trigger: "schedule",
                channels: 2,
                videos: 127,
                snapshots: 126,
                unavailable_videos: 1,
                quota_units: 9,
                d: "2025-03-02",
            },
        ]);
    });

    it("gives exactly the same rows when run twice on the same day", async () => {
        const h = await harness();
        await h.run();
        const first = await dump(h.db);
        h.setNow("2025-03-02T09:00:00Z"); // 18:00 JST, same JST day
        const r = await h.run({ source: "batch-scheduler", "detail-type": "manual-trigger", detail: {} });
        assert.equal(r.status, "completed");
        assert.equal(r.trigger, "manual");
        assert.equal(r.videosChanged, 0);
        assert.equal(r.snapshots, 0);
        assert.deepEqual(await dump(h.db), first);
        assert.equal(
            (await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM youtube_sync_runs")).rows[0].n,
            2,
        );
    });

    it("adds a snapshot per day and moves updated_at only for videos whose content changed", async () => {
        const h = await harness([B]);
        await h.run();
        const before = new Map(
            (
                await h.db.query<{ video_id: string; updated_at: Date }>(
                    "SELECT video_id, updated_at FROM youtube_videos",
                )
            ).rows.map((r) => [r.video_id, r.updated_at.getTime()]),
        );
        const changed = videos.get(videoId("b3"))!;
        const original = changed.statistics;
        changed.statistics = { ...original, viewCount: "5000" };
        try {
            h.setNow("2025-03-02T15:00:05Z");
            const r = await h.run();
            assert.equal(r.snapshotDate, "2025-03-03");
            assert.equal(r.snapshots, 7);
        } finally {
            changed.statistics = original;
        }
        const stats = (
            await h.db.query(
                "SELECT snapshot_date::text AS d, view_count FROM youtube_video_stats WHERE video_id = $1 ORDER BY 1",
                [videoId("b3")],
            )
        ).rows;
        assert.deepEqual(stats, [
            { d: "2025-03-02", view_count: "1003" },
            { d: "2025-03-03", view_count: "5000" },
        ]);
        const after = (
            await h.db.query<{ video_id: string; updated_at: Date; view_count: string; seen: string }>(
                "SELECT video_id, updated_at, view_count, last_seen_on::text AS seen FROM youtube_videos ORDER BY video_id",
            )
        ).rows;
        for (const row of after) {
            assert.equal(row.seen, "2025-03-03");
            if (row.video_id === videoId("b3")) {
                assert.equal(row.view_count, "5000");
                assert.ok(row.updated_at.getTime() > before.get(row.video_id)!);
            } else {
                assert.equal(row.updated_at.getTime(), before.get(row.video_id), `${row.video_id} unchanged`);
            }
        }
    });

    it("rides out 5xx bursts and 429s with retries and still completes", async () => {
        const h = await harness();
        yt.failNext(3, { endpoint: "videos", status: 503, after: 1 });
        yt.failNext(2, { endpoint: "playlistItems", status: 429, retryAfter: "1" });
        yt.failNext(1, { endpoint: "channels", status: 500 });
        const r = await h.run();
        assert.equal(r.status, "completed");
        assert.equal(r.videos, 127);
        assert.equal(r.retries, 6);
        assert.equal(r.quotaUnits, 15);
        assert.equal(h.logs.filter((l) => l.message === "youtube call failed, retrying").length, 6);
    });

    it("stops cleanly on quotaExceeded and keeps what it had loaded", async () => {
        const h = await harness();
        yt.exhaustQuotaAfter(4); // channels + page 1 + videos 1 + page 2
        const r = await h.run();
        assert.equal(r.status, "quota_exhausted");
        assert.equal(r.channels, 2);
        assert.equal(r.videos, 50);
        assert.equal(r.quotaUnits, 4);
        const n = (await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM youtube_videos")).rows[0].n;
        assert.equal(n, 50);
        assert.equal(
            (await h.db.query<{ status: string }>("SELECT status, quota_units FROM youtube_sync_runs")).rows[0].status,
            "quota_exhausted",
        );
        assert.ok(
            h.logs.some(
                (l) =>
                    l.level === "WARN" && l.message === "stopping early: YouTube quota" && l.reason === "quotaExceeded",
            ),
        );
    });

    it("stops before spending more than its quota budget", async () => {
        const h = await harness();
        const r = await h.run(undefined, { quotaBudget: 3 });
        assert.equal(r.status, "quota_budget");
        assert.equal(r.quotaUnits, 3);
        assert.equal(yt.requests.length, 3);
        assert.equal(r.videos, 50);
    });

    it("leaves the previous data intact when a run fails part-way", async () => {
        const h = await harness();
        await h.run();
        const before = await dump(h.db);
        const v = videos.get(videoId("a0"))!;
        const title = v.snippet.title;
        v.snippet.title = "changed by a run that fails";
        yt.failNext(10, { endpoint: "videos", status: 500, after: 1 });
        try {
            h.setNow("2025-03-02T15:00:05Z");
            await assert.rejects(
                h.run(undefined, { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }),
                (err: Error) => {
                    assert.match(
                        err.message,
                        /^sync failed during videos: videos\.list .*HTTP 500 backendError after 2 attempts/,
                    );
                    return true;
                },
            );
        } finally {
            v.snippet.title = title;
        }
        assert.deepEqual(await dump(h.db), before);
        const runs = (
            await h.db.query<{ status: string; error: string }>(
                "SELECT status, error FROM youtube_sync_runs ORDER BY run_id",
            )
        ).rows;
        assert.equal(runs.length, 2);
        assert.equal(runs[1].status, "failed");
        assert.match(runs[1].error, /^sync failed during videos/);
        assert.ok(h.logs.some((l) => l.level === "ERROR" && l.stage === "videos"));
    });

    it("publishes what it loaded when the Lambda deadline nears", async () => {
        const h = await harness();
        let t = Date.parse("2025-03-01T15:00:05Z");
        // Every clock read advances 10 s; the run may use 30 s before its 90 s margin.
        const r = await h.run(undefined, { now: () => new Date((t += 10_000)), remainingMs: 120_000 });
        assert.equal(r.status, "deadline");
        assert.ok(r.videos > 0 && r.videos < 127, `published ${r.videos} videos`);
        assert.equal(
            (await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM youtube_videos")).rows[0].n,
            r.videos,
        );
    });

    /**
     * The run's log lines, as the Lambda's Text log format stores jsonLogger's console.log lines,
     * that the partial-run metric filter (components/syncScheduler.ts) counts.
     */
    const partialAlarmLines = (logs: Json[]) =>
        logs
            .map((l) => `2025-03-02T15:00:09.000Z\t5f0e6c1e-1f8a-4c53-9a43-7d1c0f4e2b11\tINFO\t${JSON.stringify(l)}`)
            .filter((line) => matchesFilterPattern(PARTIAL_RUN_FILTER_PATTERN, line));

    /** Rows of the view that names deleted or private videos (migration 2). */
    const unavailableVideos = async (db: Client) =>
        (
            await db.query<{ video_id: string }>("SELECT video_id FROM youtube_videos_unavailable ORDER BY video_id")
        ).rows.map((r) => r.video_id);

    it("skips a channel whose error concerns only it, publishes the healthy ones and ends partial with reasons", async () => {
        const D = channelId("delta");
        const deltaIds = Array.from({ length: 5 }, (_, i) => videoId(`d${i}`));
        deltaIds.forEach((id, i) => yt.addVideo(videoResource(id, D, { index: i })));
        yt.addChannel(fakeChannel(channelResource(D, { statistics: { videoCount: "5" } }), deltaIds));
        const h = await harness([A, B, C, D]);
        const day1 = await h.run();
        assert.equal(day1.status, "completed");
        assert.deepEqual(await unavailableVideos(h.db), []);
        assert.deepEqual(partialAlarmLines(h.logs), [], "a completed run does not count as partial");
        h.logs.length = 0;

        h.setNow("2025-03-02T15:00:05Z");
        const uploads = (ch: string) => `UU${ch.slice(2)}`;
        // Alpha: one spurious invalidPageToken on page 2, cured by restarting the walk.
        yt.failNext(1, { playlistId: uploads(A), status: 400, reason: "invalidPageToken", after: 1 });
        // Charlie: closed. Delta: its playlist refused on page 1, and again after a restart.
        yt.failNext(1, { playlistId: uploads(C), status: 403, reason: "channelClosed" });
        yt.failNext(2, { playlistId: uploads(D), status: 400, reason: "invalidPageToken" });
        const r = await h.run();

        assert.equal(r.status, "partial");
        assert.deepEqual(
            r.skippedChannels.map((c) => [c.channelId, c.reason]),
            [
                [C, "channelClosed"],
                [D, "invalidPageToken"],
            ],
        );
        assert.match(
            r.skippedChannels[0].error,
            /playlistItems\.list .*HTTP 403 channelClosed: The channel identified/,
        );
        assert.equal(r.channels, 4, "every channel's metadata is still published");
        assert.equal(r.videos, 127, "alpha (120 of 121 entries, one deleted) and bravo (7)");
        const seen = (
            await h.db.query<{ channel_id: string; n: number }>(
                `SELECT channel_id, count(*)::int AS n FROM youtube_videos WHERE last_seen_on = '2025-03-03'
                 GROUP BY channel_id ORDER BY channel_id`,
            )
        ).rows;
        assert.deepEqual(seen, [
            { channel_id: A, n: 120 },
            { channel_id: B, n: 7 },
        ]);
        const run = (
            await h.db.query<{ status: string; skipped_channels: Json[]; error: string | null }>(
                "SELECT status, skipped_channels, error FROM youtube_sync_runs ORDER BY run_id DESC LIMIT 1",
            )
        ).rows[0];
        assert.equal(run.status, "partial");
        assert.equal(run.error, null);
        assert.deepEqual(
            run.skipped_channels.map((c) => [c.channel_id, c.reason]),
            [
                [C, "channelClosed"],
                [D, "invalidPageToken"],
            ],
        );
        // The skipped channels' videos were not listed today, and must not look deleted for it.
        assert.deepEqual(await unavailableVideos(h.db), []);
        assert.equal(
            (
                await h.db.query<{ n: number }>(
                    "SELECT count(*)::int AS n FROM youtube_videos WHERE channel_id IN ($1, $2) AND last_seen_on < '2025-03-03'",
                    [C, D],
                )
            ).rows[0].n,
            8,
        );
        assert.ok(h.logs.some((l) => l.level === "WARN" && l.message === PARTIAL_RUN_LOG_MESSAGE));
        assert.equal(partialAlarmLines(h.logs).length, 1, "the partial-run alarm's filter counts this run once");
        assert.equal(
            h.logs.filter((l) => l.message === "invalidPageToken on an uploads playlist; restarting its walk once")
                .length,
            2,
            "alpha and delta restarted once each",
        );
    });

    it("fails the whole run on an error that concerns every channel (an invalid key), publishing nothing", async () => {
        const h = await harness();
        await h.run();
        const before = await dump(h.db);
        h.setNow("2025-03-02T15:00:05Z");
        yt.resetLog();
        await assert.rejects(
            h.run(undefined, { apiKey: "AIza-revoked" }),
            /sync failed during channels\.list: channels\.list .*HTTP 400 badRequest: \(API_KEY_INVALID\) API key not valid/,
        );
        assert.deepEqual(await dump(h.db), before);
        assert.equal(yt.requests.length, 1, "one refused call, no retry, no playlist walked");
    });

    /** A stand-in whose videos are generated from their ids (`g<index>` of channel `owner`). */
    async function generatedServer(owner: string, o: { uploadsCap?: number } = {}): Promise<YouTubeServer> {
        const server = await startYouTubeServer({
            apiKey: KEY,
            ...o,
            generateVideo: (id) => {
                const m = /^v*g(\d+)$/.exec(id);
                return m ? videoResource(id, owner, { index: Number(m[1]) }) : undefined;
            },
        });
        for (const v of videos.values()) if (v.snippet.channelId === B) server.addVideo(v);
        server.addChannel(
            fakeChannel(
                channelResource(B, { statistics: { viewCount: "5", hiddenSubscriberCount: true, videoCount: "7" } }),
                Array.from({ length: 7 }, (_, i) => videoId(`b${i}`)),
            ),
        );
        return server;
    }

    it("reports a channel above the 20,000-item uploads cap as truncated with both numbers", async () => {
        const BIG = channelId("bigchannel");
        const total = 20_100;
        const big = await generatedServer(BIG);
        try {
            big.addChannel({
                resource: channelResource(BIG, { statistics: { viewCount: "1", videoCount: String(total) } }),
                // Newest first: g20099 … g0.
                playlist: { count: total, idAt: (i) => videoId(`g${total - 1 - i}`) },
            });
            const h = await harness([BIG, B]);
            const r = await h.run(undefined, { youtubeBaseUrl: big.baseUrl });
            assert.equal(r.status, "completed", "truncation is reported, not an error");
            assert.deepEqual(r.truncatedChannels, [{ channelId: BIG, videoCount: total, listed: 20_000 }]);
            assert.equal(r.videos, 20_007);
            const run = (
                await h.db.query<{ truncated_channels: Json[] }>("SELECT truncated_channels FROM youtube_sync_runs")
            ).rows[0];
            assert.deepEqual(run.truncated_channels, [{ channel_id: BIG, video_count: total, listed: 20_000 }]);
            assert.ok(
                h.logs.some(
                    (l) =>
                        l.level === "WARN" &&
                        l.channelId === BIG &&
                        l.videoCount === total &&
                        l.listed === 20_000 &&
                        l.message === "uploads playlist listed fewer videos than the channel's videoCount",
                ),
            );
            const oldest = (
                await h.db.query<{ id: string }>(
                    "SELECT video_id AS id FROM youtube_videos WHERE channel_id = $1 ORDER BY published_at LIMIT 1",
                    [BIG],
                )
            ).rows[0].id;
            assert.equal(oldest, videoId("g100"), "the 100 oldest uploads are beyond the cap");
        } finally {
            await big.close();
        }
    });

    it("does not take uploads beyond the cap for deleted, while a deletion the walk can see still shows", async () => {
        const GROW = channelId("growing");
        const cap = 100;
        const server = await generatedServer(GROW, { uploadsCap: cap });
        try {
            // The channel's uploads, newest first; the test adds and deletes between runs.
            let uploads = Array.from({ length: 90 }, (_, i) => videoId(`g${89 - i}`));
            const stats: Json = { viewCount: "1", videoCount: "90" };
            server.addChannel({
                resource: channelResource(GROW, { statistics: stats }),
                playlist: {
                    get count() {
                        return uploads.length;
                    },
                    idAt: (i) => uploads[i],
                },
            });
            const h = await harness([GROW, B]);
            const day1 = await h.run(undefined, { youtubeBaseUrl: server.baseUrl });
            assert.deepEqual(day1.truncatedChannels, []);
            const listedOn = async () =>
                (
                    await h.db.query<{ on: string; from: string | null }>(
                        "SELECT uploads_listed_on::text AS on, (uploads_listed_from AT TIME ZONE 'UTC')::text AS from " +
                            "FROM youtube_channels WHERE channel_id = $1",
                        [GROW],
                    )
                ).rows[0];
            assert.deepEqual(await listedOn(), { on: "2025-03-02", from: null });

            // 40 new uploads push the 30 oldest past the cap; g85 (listed on day 1) is deleted.
            uploads = [...Array.from({ length: 40 }, (_, i) => videoId(`g${129 - i}`)), ...uploads].filter(
                (id) => id !== videoId("g85"),
            );
            stats.videoCount = String(uploads.length);
            h.setNow("2025-03-02T15:00:05Z");
            const day2 = await h.run(undefined, { youtubeBaseUrl: server.baseUrl });
            assert.deepEqual(day2.truncatedChannels, [{ channelId: GROW, videoCount: 129, listed: cap }]);
            // The walk reached g29 (published 2024-01-02T05:00Z): g28 … g0 were not listed, yet are not "deleted".
            assert.deepEqual(await listedOn(), { on: "2025-03-03", from: "2024-01-02 05:00:00" });
            assert.deepEqual(await unavailableVideos(h.db), [videoId("g85")]);
            const stale = (
                await h.db.query<{ n: number }>(
                    "SELECT count(*)::int AS n FROM youtube_videos WHERE channel_id = $1 AND last_seen_on < '2025-03-03'",
                    [GROW],
                )
            ).rows[0].n;
            assert.equal(stale, 30, "g85 and the 29 uploads beyond the cap keep their day-1 date");
        } finally {
            await server.close();
        }
    });

    it("syncs config channels plus enabled youtube_channels rows, skipping disabled ones and noting missing ones", async () => {
        const h = await harness([A]);
        await migrate(h.db);
        const gone = channelId("gone");
        await h.db.query("INSERT INTO youtube_channels (channel_id) VALUES ($1), ($2), ($3), ($4), ($5)", [
            B,
            EMPTY,
            NOUPLOADS,
            gone,
            C,
        ]);
        await h.db.query("UPDATE youtube_channels SET sync_enabled = false WHERE channel_id = $1", [C]);
        const r = await h.run();
        assert.equal(r.status, "completed");
        assert.deepEqual(r.missingChannels, [gone]);
        assert.equal(r.channels, 4);
        assert.equal(r.videos, 127);
        const rows = (
            await h.db.query<{ channel_id: string; synced: boolean }>(
                "SELECT channel_id, title IS NOT NULL AS synced FROM youtube_channels ORDER BY channel_id",
            )
        ).rows;
        assert.deepEqual(Object.fromEntries(rows.map((x) => [x.channel_id, x.synced])), {
            [A]: true,
            [B]: true,
            [C]: false,
            [EMPTY]: true,
            [NOUPLOADS]: true,
            [gone]: false,
        });
        assert.ok(
            h.logs.some(
                (l) =>
                    l.message === "uploads playlist not found; treating the channel as having no videos" &&
                    l.channelId === EMPTY,
            ),
        );
        assert.ok(h.logs.some((l) => l.message === "channel has no uploads playlist" && l.channelId === NOUPLOADS));
    });

    it("syncs only the channels a manual trigger names, and rejects malformed ids before any API call", async () => {
        const h = await harness([A, B]);
        const r = await h.run({
            source: "batch-scheduler",
            "detail-type": "manual-trigger",
            detail: { channelIds: [C] },
        });
        assert.equal(r.channels, 1);
        assert.equal(r.videos, 3);
        yt.resetLog();
        await assert.rejects(
            h.run({ source: "batch-scheduler", "detail-type": "manual-trigger", detail: { channelIds: ["@charlie"] } }),
            {
                message:
                    'manual trigger detail.channelIds: invalid YouTube channel id "@charlie"; expected "UC" followed by 22 letters, digits, "-" or "_" (the id in https://www.youtube.com/channel/<id>)',
            },
        );
        await assert.rejects(
            h.run({ source: "batch-scheduler", "detail-type": "manual-trigger", detail: { channelIds: C } }),
            /detail\.channelIds must be a list of channel ids/,
        );
        assert.equal(yt.requests.length, 0);
    });

    it("skips a run while another run holds the lock", async () => {
        const h = await harness();
        await h.db.query("SELECT pg_advisory_lock($1)", [0x59_54_53_59]);
        try {
            const r = await h.run();
            assert.equal(r.status, "skipped_running");
            assert.equal(yt.requests.length, 0);
        } finally {
            await h.db.query("SELECT pg_advisory_unlock($1)", [0x59_54_53_59]);
        }
    });

    it("records a run with no channels without calling the API", async () => {
        const h = await harness([]);
        const r = await h.run();
        assert.equal(r.status, "no_channels");
        assert.equal(yt.requests.length, 0);
        assert.equal(
            (await h.db.query<{ status: string }>("SELECT status FROM youtube_sync_runs")).rows[0].status,
            "no_channels",
        );
    });

    it("fails with the secret's id when a secret cannot be read", async () => {
        const h = await harness();
        await assert.rejects(
            h.run(undefined, {
                youtubeApiKeySecretId: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:missing-AbCdEf",
            }),
            /ResourceNotFoundException: .*secret:missing-AbCdEf/,
        );
        assert.equal(yt.requests.length, 0);
    });

    it("refuses to publish videos of a channel that is neither staged nor stored, publishing nothing", async () => {
        const h = await harness();
        await h.run();
        const before = await dump(h.db);
        const stray = channelId("stray");
        await createStaging(h.db);
        await copyAll(h.db, CHANNEL_STAGING, CHANNEL_COLUMNS, [channelRow(channelResource(B))]);
        await copyAll(h.db, VIDEO_STAGING, VIDEO_COLUMNS, [
            videoRow(videoResource(videoId("stray1"), stray, { index: 0 }), stray),
        ]);
        const at = new Date("2025-03-02T15:00:05Z");
        await assert.rejects(
            publish(h.db, {
                startedAt: at,
                finishedAt: at,
                trigger: "test",
                status: "completed",
                snapshotDate: "2025-03-03",
                unavailableVideos: 0,
                quotaUnits: 0,
            }),
            new RegExp(
                `staged videos reference channels that were neither staged nor stored \\(${stray}\\); nothing was published`,
            ),
        );
        assert.deepEqual(await dump(h.db), before);
    });

    it("applies migrations once, also when two runs migrate at the same moment", async () => {
        const url = new URL(await pg.createDatabase(`sync_${++dbCount}`));
        const open = async () => {
            const c = new Client({ connectionString: url.toString() });
            await c.connect();
            clients.push(c);
            return c;
        };
        const [c1, c2] = await Promise.all([open(), open()]);
        const [a, b] = await Promise.all([migrate(c1), migrate(c2)]);
        assert.deepEqual(
            [...a, ...b],
            MIGRATIONS.map((m) => m.version),
        );
        assert.deepEqual(await migrate(c1), []);
        const versions = (
            await c1.query<{ version: number }>("SELECT version FROM youtube_sync_schema_migrations")
        ).rows.map((r) => r.version);
        assert.deepEqual(
            versions,
            MIGRATIONS.map((m) => m.version),
        );
    });
});
