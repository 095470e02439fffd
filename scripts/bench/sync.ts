/**
 * sync-batch benchmark (`npm run bench -- sync`):
 *  1. Loading 100,000 videos: CSV → COPY into staging + one upsert transaction (what the
 *     Lambda does) beside row-by-row INSERT … ON CONFLICT of the same rows, one statement per
 *     table and row, all in one transaction — as plain parameterized queries (the ordinary
 *     loader) and as named prepared statements (its best case) — on fresh databases of the same
 *     embedded PostgreSQL, in this run. Row-by-row costs the same per row at any table size, so
 *     the baselines run on the first BASELINE_ROWS rows to keep the bench under a minute.
 *  2. Quota: the real handler syncs 100,000 videos from the loopback YouTube API; units spent
 *     per 1,000 videos (target ≤ 42: one playlistItems page and one videos.list call per 50).
 */
import { performance } from "perf_hooks";
import { Client } from "pg";
import {
    CHANNEL_COLUMNS,
    CHANNEL_STAGING,
    channelRow,
    copyAll,
    createStaging,
    makeSyncHandler,
    migrate,
    openCopy,
    publish,
    VIDEO_COLUMNS,
    VIDEO_STAGING,
    videoRow,
} from "../../functions/syncBatch";
import { startPostgres, TestPostgres } from "../../test/support/postgres";
import { channelResource, Json, startYouTubeServer, videoResource } from "../../test/support/youtubeServer";

const VIDEOS = 100_000;
const BASELINE_ROWS = 25_000;
const CHANNELS = 20;
const PER_CHANNEL = VIDEOS / CHANNELS;
const SNAPSHOT_DATE = "2025-03-02";
const KEY = "bench-key";

const channelIdOf = (c: number) => `UCbench${String(c).padStart(2, "0")}`.padEnd(24, "x");
/** 11-character video id that encodes its channel and position: c05i0004999. */
const videoIdOf = (c: number, i: number) => `c${String(c).padStart(2, "0")}i${String(i).padStart(7, "0")}`;
const ODD = ["絵文字 😀 title", "comma, title", 'quote "title"', "multi\nline\r\ntitle", ""];

function video(c: number, i: number): Json {
    return videoResource(videoIdOf(c, i), channelIdOf(c), { index: i, title: `${ODD[i % ODD.length]} #${i}` });
}

async function freshDb(pg: TestPostgres, name: string): Promise<Client> {
    const client = new Client({ connectionString: await pg.createDatabase(name) });
    await client.connect();
    await migrate(client);
    return client;
}

const rate = (rows: number, ms: number) => Math.round(rows / (ms / 1000));
const fmt = (n: number) => n.toLocaleString("en-US");

/** The Lambda's path: COPY both staging tables, then one upsert transaction. */
async function loadWithCopy(client: Client, channels: Json[], rows: (string | null)[][]): Promise<number> {
    const t0 = performance.now();
    await createStaging(client);
    await copyAll(client, CHANNEL_STAGING, CHANNEL_COLUMNS, channels.map(channelRow));
    const w = openCopy(client, VIDEO_STAGING, VIDEO_COLUMNS);
    // In pages of 50, as the handler writes them.
    for (let i = 0; i < rows.length; i += 50) await w.write(rows.slice(i, i + 50));
    await w.end();
    const now = new Date();
    const result = await publish(client, {
        startedAt: now,
        finishedAt: now,
        trigger: "bench",
        status: "completed",
        snapshotDate: SNAPSHOT_DATE,
        unavailableVideos: 0,
        quotaUnits: 0,
    });
    if (result.videos !== rows.length || result.snapshots !== rows.length)
        throw new Error(
            `COPY path stored ${result.videos} videos / ${result.snapshots} snapshots, expected ${rows.length}`,
        );
    return performance.now() - t0;
}

/** Baseline: the same upserts one row at a time, in one transaction. */
async function loadRowByRow(
    client: Client,
    channels: Json[],
    rows: (string | null)[][],
    prepared: boolean,
): Promise<number> {
    const t0 = performance.now();
    const ph = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(", ");
    const vc = [...VIDEO_COLUMNS];
    const cc = [...CHANNEL_COLUMNS];
    const channelSql = `INSERT INTO youtube_channels (${cc.join(", ")}, last_seen_on)
        VALUES (${ph(cc.length)}, $${cc.length + 1}::date)
        ON CONFLICT (channel_id) DO UPDATE SET ${cc
            .slice(1)
            .map((c) => `${c} = EXCLUDED.${c}`)
            .join(", ")}, last_seen_on = EXCLUDED.last_seen_on`;
    const videoSql = `INSERT INTO youtube_videos (${vc.join(", ")}, last_seen_on)
        VALUES (${ph(vc.length)}, $${vc.length + 1}::date)
        ON CONFLICT (video_id) DO UPDATE SET ${vc
            .slice(1)
            .map((c) => `${c} = EXCLUDED.${c}`)
            .join(", ")}, last_seen_on = EXCLUDED.last_seen_on`;
    const statSql = `INSERT INTO youtube_video_stats
            (video_id, snapshot_date, view_count, like_count, comment_count, captured_at)
        VALUES ($1, $2::date, $3, $4, $5, now())
        ON CONFLICT (video_id, snapshot_date) DO UPDATE SET view_count = EXCLUDED.view_count,
            like_count = EXCLUDED.like_count, comment_count = EXCLUDED.comment_count`;
    const vi = (c: string) => vc.indexOf(c as (typeof VIDEO_COLUMNS)[number]);
    const q = (name: string, text: string, values: unknown[]) =>
        client.query(prepared ? { name, text, values } : { text, values });
    await client.query("BEGIN");
    for (const ch of channels) await q("bench-channel", channelSql, [...channelRow(ch), SNAPSHOT_DATE]);
    for (const row of rows) {
        await q("bench-video", videoSql, [...row, SNAPSHOT_DATE]);
        await q("bench-stat", statSql, [
            row[0],
            SNAPSHOT_DATE,
            row[vi("view_count")],
            row[vi("like_count")],
            row[vi("comment_count")],
        ]);
    }
    await client.query("COMMIT");
    const n = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM youtube_videos")).rows[0].n;
    if (n !== rows.length) throw new Error(`row-by-row path stored ${n} videos, expected ${rows.length}`);
    return performance.now() - t0;
}

export async function bench(): Promise<void> {
    const pg = await startPostgres();
    const yt = await startYouTubeServer({
        apiKey: KEY,
        generateVideo: (id) => {
            const m = /^c(\d{2})i(\d{7})$/.exec(id);
            return m ? video(Number(m[1]), Number(m[2])) : undefined;
        },
    });
    try {
        const channels = Array.from({ length: CHANNELS }, (_, c) =>
            channelResource(channelIdOf(c), {
                statistics: { viewCount: "1", subscriberCount: "2", videoCount: String(PER_CHANNEL) },
            }),
        );
        for (const [c, resource] of channels.entries()) {
            yt.addChannel({ resource, playlist: { count: PER_CHANNEL, idAt: (i) => videoIdOf(c, i) } });
        }
        const rows: (string | null)[][] = [];
        for (let c = 0; c < CHANNELS; c++)
            for (let i = 0; i < PER_CHANNEL; i++) rows.push(videoRow(video(c, i), channelIdOf(c)));

        // 1. COPY + upsert vs row-by-row INSERT, same rows, same server, this run.
        const copyDb = await freshDb(pg, "bench_copy");
        const copyMs = await loadWithCopy(copyDb, channels, rows);
        await copyDb.end();
        const sample = rows.slice(0, BASELINE_ROWS);
        const plainDb = await freshDb(pg, "bench_rows_plain");
        const plainMs = await loadRowByRow(plainDb, channels, sample, false);
        await plainDb.end();
        const preparedDb = await freshDb(pg, "bench_rows_prepared");
        const preparedMs = await loadRowByRow(preparedDb, channels, sample, true);
        await preparedDb.end();
        const copyRate = rate(VIDEOS, copyMs);
        const plainRate = rate(BASELINE_ROWS, plainMs);
        const preparedRate = rate(BASELINE_ROWS, preparedMs);
        console.log(`load videos (+ one stats snapshot row each), rows/s:`);
        /** One aligned line of the load table: rows, seconds, rows per second. */
        const loadLine = (label: string, rows: number, ms: number, perSecond: number) =>
            `  ${label.padEnd(30)} ${fmt(rows).padStart(7)} rows ${(ms / 1000).toFixed(2).padStart(6)} s ` +
            `${fmt(perSecond).padStart(8)} rows/s`;
        console.log(loadLine("CSV → COPY + upsert", VIDEOS, copyMs, copyRate));
        console.log(`${loadLine("row-by-row INSERT (plain)", BASELINE_ROWS, plainMs, plainRate)}  baseline`);
        console.log(loadLine("row-by-row INSERT (prepared)", BASELINE_ROWS, preparedMs, preparedRate));
        console.log(
            `  speed-up: ${(copyRate / plainRate).toFixed(1)}× over plain row-by-row (target ≥ 20×), ` +
                `${(copyRate / preparedRate).toFixed(1)}× over prepared row-by-row`,
        );
        console.log(
            `  (loopback: each row-by-row statement costs one round trip; Lambda → RDS round trips are ~10× longer)`,
        );

        // 2. Quota units through the real handler and the loopback API.
        const url = new URL(await pg.createDatabase("bench_handler"));
        const handler = makeSyncHandler({
            async connect(password) {
                const c = new Client({
                    host: url.hostname,
                    port: Number(url.port),
                    database: "bench_handler",
                    user: "postgres",
                    password,
                });
                await c.connect();
                return c;
            },
            getSecret: (id) => Promise.resolve(id === "db" ? decodeURIComponent(url.password) : KEY),
            dbPasswordSecretId: "db",
            youtubeApiKeySecretId: "yt",
            youtubeBaseUrl: yt.baseUrl,
            logger: { info: () => undefined, warn: () => undefined, error: (m, f) => console.error(m, f) },
            channelIds: channels.map((_, c) => channelIdOf(c)),
            quotaBudget: 10_000,
        });
        const t0 = performance.now();
        const r = await handler({ source: "aws.events", "detail-type": "Scheduled Event" });
        const e2eMs = performance.now() - t0;
        if (r.status !== "completed" || r.videos !== VIDEOS)
            throw new Error(`handler run ended ${r.status} with ${r.videos} videos`);
        const perThousand = (r.quotaUnits / r.videos) * 1000;
        console.log(`quota through the handler (loopback API, ${CHANNELS} channels):`);
        console.log(
            `  ${fmt(r.quotaUnits)} units for ${fmt(r.videos)} videos = ` +
                `${perThousand.toFixed(2)} units / 1,000 videos (target ≤ 42)`,
        );
        const searches = yt.requests.filter((q) => q.endpoint === "search").length;
        console.log(
            `  calls: channels.list ${r.quotaCalls.channels}, playlistItems.list ${fmt(r.quotaCalls.playlistItems)}, ` +
                `videos.list ${fmt(r.quotaCalls.videos)}; search.list ${searches}`,
        );
        console.log(
            `  end to end (API + COPY + upsert): ${(e2eMs / 1000).toFixed(2)} s, ${fmt(rate(VIDEOS, e2eMs))} videos/s`,
        );
    } finally {
        await yt.close();
        await pg.stop();
    }
}
