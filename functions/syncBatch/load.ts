/**
 * Loading: rows are streamed as RFC 4180 CSV (csv-stringify) into `COPY … FROM STDIN` on
 * session-local staging tables while the API is still being read, then one transaction
 * upserts channels, videos and the day's stats snapshot. Until that transaction commits the
 * published tables are untouched, so a failed run leaves the previous data intact.
 */
import { once } from "events";
import { finished } from "stream/promises";
import { stringify } from "csv-stringify/sync";
import type { ClientBase } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Cell, CHANNEL_COLUMNS, VIDEO_COLUMNS } from "./rows";

export const CHANNEL_STAGING = "youtube_channels_staging";
export const VIDEO_STAGING = "youtube_videos_staging";
const TEMP_BUFFERS = "64MB";

/** Column types shared by the staging and published tables. */
const CHANNEL_TYPES: Record<(typeof CHANNEL_COLUMNS)[number], string> = {
    channel_id: "text NOT NULL",
    title: "text",
    description: "text",
    custom_url: "text",
    country: "text",
    published_at: "timestamptz",
    thumbnail_url: "text",
    uploads_playlist_id: "text",
    subscriber_count: "bigint",
    hidden_subscriber_count: "boolean",
    view_count: "bigint",
    video_count: "bigint",
};

const VIDEO_TYPES: Record<(typeof VIDEO_COLUMNS)[number], string> = {
    video_id: "text NOT NULL",
    channel_id: "text NOT NULL",
    title: "text",
    description: "text",
    published_at: "timestamptz",
    duration: "text",
    duration_seconds: "integer",
    category_id: "text",
    tags: "jsonb",
    default_language: "text",
    live_broadcast_content: "text",
    definition: "text",
    caption: "boolean",
    thumbnail_url: "text",
    view_count: "bigint",
    like_count: "bigint",
    comment_count: "bigint",
};

/**
 * (Re)creates the staging tables as temporary tables of this session: invisible to other
 * sessions, gone when the connection closes, never written to the WAL.
 */
export async function createStaging(client: ClientBase): Promise<void> {
    const cols = (types: Record<string, string>) =>
        Object.entries(types)
            .map(([c, t]) => `${c} ${t}`)
            .join(", ");
    // 100,000 staged videos take ~30 MB; at the 8 MB default the upsert's scans of the staging
    // table read it back from disk. The setting is per session, allocated only as used, and
    // must be set before the session's first temporary table (setting the same value again
    // later is allowed, so a reused connection is fine).
    await client.query(`
SET temp_buffers = '${TEMP_BUFFERS}';
DROP TABLE IF EXISTS pg_temp.${CHANNEL_STAGING};
DROP TABLE IF EXISTS pg_temp.${VIDEO_STAGING};
CREATE TEMP TABLE ${CHANNEL_STAGING} (${cols(CHANNEL_TYPES)});
CREATE TEMP TABLE ${VIDEO_STAGING} (${cols(VIDEO_TYPES)});
`);
}

/** A COPY in progress. */
export interface CopyWriter {
    /** Streams a batch of rows (one API page); resolves once the socket can take more. */
    write(rows: Cell[][]): Promise<void>;
    /** Finishes the COPY; resolves with the number of rows PostgreSQL stored. */
    end(): Promise<number>;
    /** Cancels the COPY (CopyFail): nothing written through this writer is kept. */
    abort(reason: Error): Promise<void>;
}

/**
 * csv-stringify options. CRLF record ends, as RFC 4180 writes them, and two forced quotings on
 * top of the library's own:
 * - empty strings: an unquoted empty field is NULL in PostgreSQL's CSV format, and an empty
 *   title must stay an empty string (NULL is written as an unquoted empty field);
 * - any CR or LF: csv-stringify only quotes fields containing the whole record delimiter, so a
 *   lone "\n" in a title would otherwise end the row ("unquoted newline found in data").
 */
export const CSV_OPTIONS = { quoted_match: /^$|[\r\n]/, record_delimiter: "\r\n" } as const;

/**
 * Starts `COPY table (columns) FROM STDIN` in CSV format and returns a writer. Each batch is
 * one csv-stringify call and one CopyData message, so a page of 50 videos costs one socket
 * write rather than fifty.
 */
export function openCopy(client: ClientBase, table: string, columns: readonly string[]): CopyWriter {
    const copy = client.query(copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN WITH (FORMAT csv)`));
    const done = finished(copy);
    let failure: Error | undefined;
    done.catch((err: Error) => {
        failure ??= err;
    });
    return {
        async write(rows) {
            if (failure) throw failure;
            if (rows.length === 0) return;
            if (!copy.write(Buffer.from(stringify(rows, CSV_OPTIONS)))) {
                const drained = once(copy, "drain");
                drained.catch(() => undefined); // `done` reports the error
                await Promise.race([drained, done]);
            }
        },
        async end() {
            if (failure) throw failure;
            copy.end();
            await done;
            return copy.rowCount;
        },
        async abort(reason) {
            copy.destroy(reason);
            await done.catch(() => undefined);
        },
    };
}

/** Writes `rows` through one COPY; used for the few channel rows. */
export async function copyAll(
    client: ClientBase,
    table: string,
    columns: readonly string[],
    rows: Cell[][],
): Promise<number> {
    const w = openCopy(client, table, columns);
    try {
        await w.write(rows);
    } catch (err) {
        await w.abort(err as Error);
        throw err;
    }
    return w.end();
}

/** A channel whose videos a run did not refresh, and why (a YouTube error reason). */
export interface SkippedChannel {
    readonly channelId: string;
    readonly reason: string;
    readonly error: string;
}

/** A channel whose uploads playlist listed fewer entries than its statistics.videoCount. */
export interface TruncatedChannel {
    readonly channelId: string;
    readonly videoCount: number;
    readonly listed: number;
}

/**
 * A channel whose uploads walk ran to the playlist's last page. `complete` false: the walk ended
 * short of the channel's videoCount (the API's paging cap), so older uploads were not listed.
 */
export interface ChannelWalk {
    readonly channelId: string;
    readonly complete: boolean;
}

/** What a run found beyond its rows. */
export interface RunOutcome {
    readonly unavailableVideos: number;
    readonly skippedChannels: readonly SkippedChannel[];
    readonly truncatedChannels: readonly TruncatedChannel[];
}

export interface RunRecord {
    readonly unavailableVideos: number;
    /** @default [] */
    readonly skippedChannels?: readonly SkippedChannel[];
    /** @default [] */
    readonly truncatedChannels?: readonly TruncatedChannel[];
    readonly startedAt: Date;
    readonly finishedAt: Date;
    readonly trigger: string;
    readonly status: string;
    readonly snapshotDate: string;
    readonly quotaUnits: number;
    readonly error?: string;
}

export interface PublishResult {
    /** Channels / videos staged (distinct ids). */
    readonly channels: number;
    readonly videos: number;
    /** Rows inserted or changed in youtube_channels / youtube_videos / youtube_video_stats. */
    readonly channelsChanged: number;
    readonly videosChanged: number;
    readonly snapshots: number;
    readonly runId: number;
}

const list = (prefix: string, cols: readonly string[]) => cols.map((c) => `${prefix}${c}`).join(", ");

/** `(t.a, t.b) IS DISTINCT FROM (s.a, s.b)` */
const differs = (cols: readonly string[], extraOld: string[] = [], extraNew: string[] = []) =>
    `(${[list("t.", cols), ...extraOld].join(", ")}) IS DISTINCT FROM (${[list("s.", cols), ...extraNew].join(", ")})`;

/**
 * An upsert of staged rows as two set-based statements: UPDATE the rows whose values differ,
 * then INSERT the keys not yet present. Unlike INSERT … ON CONFLICT this needs no speculative
 * insertion per row (half the cost at 100,000 rows) and runs on any PostgreSQL version (no
 * MERGE). It relies on the run lock: no other writer inserts these keys meanwhile, and a
 * concurrent insert would fail the transaction rather than be lost.
 *
 * Rows are only rewritten when a value differs, and `updated_at` only moves when content
 * changes (not when just `last_seen_on` does), so a second run on the same day with the same
 * API answers leaves every row exactly as it was. Staged keys are unique by construction (the
 * handler stages each channel and video once).
 */
function upsertSql(
    table: string,
    staging: string,
    key: string,
    columns: readonly string[],
): [update: string, insert: string] {
    const content = columns.filter((c) => c !== key);
    return [
        `UPDATE ${table} AS t SET
    ${content.map((c) => `${c} = s.${c}`).join(",\n    ")},
    last_seen_on = $1::date,
    updated_at = CASE WHEN ${differs(content)} THEN now() ELSE t.updated_at END
FROM ${staging} AS s
WHERE t.${key} = s.${key} AND ${differs(content, ["t.last_seen_on"], ["$1::date"])}`,
        `INSERT INTO ${table} (${columns.join(", ")}, last_seen_on)
SELECT ${list("s.", columns)}, $1::date
FROM ${staging} AS s
WHERE NOT EXISTS (SELECT 1 FROM ${table} AS t WHERE t.${key} = s.${key})`,
    ];
}

const STAT_COLUMNS = ["view_count", "like_count", "comment_count"];
/** A video whose owner hides every count has nothing to snapshot. */
const HAS_STATS = `num_nonnulls(${list("s.", STAT_COLUMNS)}) > 0`;

/** The day's snapshot: one row per video and date; a same-day rerun refreshes changed counts. */
const STATS_SQL: [update: string, insert: string] = [
    `UPDATE youtube_video_stats AS t SET
    ${STAT_COLUMNS.map((c) => `${c} = s.${c}`).join(", ")},
    captured_at = $2::timestamptz
FROM ${VIDEO_STAGING} AS s
WHERE t.video_id = s.video_id AND t.snapshot_date = $1::date AND ${HAS_STATS} AND ${differs(STAT_COLUMNS)}`,
    `INSERT INTO youtube_video_stats (video_id, snapshot_date, ${STAT_COLUMNS.join(", ")}, captured_at)
SELECT s.video_id, $1::date, ${list("s.", STAT_COLUMNS)}, $2::timestamptz
FROM ${VIDEO_STAGING} AS s
WHERE ${HAS_STATS} AND NOT EXISTS (
    SELECT 1 FROM youtube_video_stats AS t WHERE t.video_id = s.video_id AND t.snapshot_date = $1::date
)`,
];

/**
 * Staged videos whose channel is in neither youtube_channels nor the staged channels: the
 * set-based stand-in for a foreign key (see the migration). Run after the channels upsert.
 */
const ORPHAN_CHECK_SQL = `SELECT DISTINCT s.channel_id FROM ${VIDEO_STAGING} AS s
WHERE NOT EXISTS (SELECT 1 FROM youtube_channels AS c WHERE c.channel_id = s.channel_id)
ORDER BY 1 LIMIT 5`;

const CHANNELS_SQL = upsertSql("youtube_channels", CHANNEL_STAGING, "channel_id", CHANNEL_COLUMNS);

/**
 * Marks the channels whose uploads walk ran to the end ($2: JSON list of ChannelWalk). A complete
 * walk clears `uploads_listed_from`; a truncated one sets it to the oldest publish time among the
 * videos it staged ('infinity' when it staged none), so older uploads it could not list are not
 * taken for deleted (the youtube_videos_unavailable view of migration 2).
 */
const WALKS_SQL = `UPDATE youtube_channels AS c SET
    uploads_listed_on = $1::date,
    uploads_listed_from = CASE WHEN w.complete THEN NULL ELSE COALESCE(
        (SELECT min(s.published_at) FROM ${VIDEO_STAGING} AS s WHERE s.channel_id = w.channel_id),
        'infinity'::timestamptz) END
FROM jsonb_to_recordset($2::jsonb) AS w(channel_id text, complete boolean)
WHERE c.channel_id = w.channel_id`;
const VIDEOS_SQL = upsertSql("youtube_videos", VIDEO_STAGING, "video_id", VIDEO_COLUMNS);

/**
 * Publishes the staged rows in one transaction: channels, videos, the day's stats snapshot
 * and the run record. On any error the transaction is rolled back and the error rethrown.
 */
export async function publish(
    client: ClientBase,
    run: RunRecord & { readonly walks?: readonly ChannelWalk[] },
): Promise<PublishResult> {
    await client.query("BEGIN");
    try {
        // Hash joins of 100,000 staged rows spill to disk at the 4 MB default.
        await client.query("SET LOCAL work_mem = '64MB'");
        const counts = await client.query<{ channels: string; videos: string }>(
            `SELECT (SELECT count(*) FROM ${CHANNEL_STAGING}) AS channels,
                    (SELECT count(*) FROM ${VIDEO_STAGING}) AS videos`,
        );
        const run2 = async ([update, insert]: [string, string], params: unknown[]) =>
            ((await client.query(update, params)).rowCount ?? 0) + ((await client.query(insert, params)).rowCount ?? 0);
        // Order matters: videos reference channels, snapshots reference videos.
        const channelsChanged = await run2(CHANNELS_SQL, [run.snapshotDate]);
        const orphans = (await client.query<{ channel_id: string }>(ORPHAN_CHECK_SQL)).rows.map((r) => r.channel_id);
        if (orphans.length > 0) {
            throw new Error(
                "youtube sync: staged videos reference channels that were neither staged nor stored " +
                    `(${orphans.join(", ")}); nothing was published`,
            );
        }
        const videosChanged = await run2(VIDEOS_SQL, [run.snapshotDate]);
        const walks = (run.walks ?? []).map((w) => ({ channel_id: w.channelId, complete: w.complete }));
        if (walks.length > 0) await client.query(WALKS_SQL, [run.snapshotDate, JSON.stringify(walks)]);
        const snapshots = await run2(STATS_SQL, [run.snapshotDate, run.finishedAt.toISOString()]);
        const result = {
            channels: Number(counts.rows[0].channels),
            videos: Number(counts.rows[0].videos),
            channelsChanged,
            videosChanged,
            snapshots,
        };
        const runId = await recordRun(client, run, result);
        await client.query("COMMIT");
        return { ...result, runId };
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
}

/** Inserts a `youtube_sync_runs` row; returns its id. */
export async function recordRun(
    client: ClientBase,
    run: RunRecord,
    counts: { channels: number; videos: number; snapshots: number } = { channels: 0, videos: 0, snapshots: 0 },
): Promise<number> {
    const { rows } = await client.query<{ run_id: string }>(
        `INSERT INTO youtube_sync_runs (started_at, finished_at, trigger, status, snapshot_date,
             channels, videos, snapshots, unavailable_videos, quota_units, error,
             skipped_channels, truncated_channels)
         VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb) RETURNING run_id`,
        [
            run.startedAt.toISOString(),
            run.finishedAt.toISOString(),
            run.trigger,
            run.status,
            run.snapshotDate,
            counts.channels,
            counts.videos,
            counts.snapshots,
            run.unavailableVideos,
            run.quotaUnits,
            run.error ?? null,
            JSON.stringify(
                (run.skippedChannels ?? []).map((c) => ({ channel_id: c.channelId, reason: c.reason, error: c.error })),
            ),
            JSON.stringify(
                (run.truncatedChannels ?? []).map((c) => ({
                    channel_id: c.channelId,
                    video_count: c.videoCount,
                    listed: c.listed,
                })),
            ),
        ],
    );
    return Number(rows[0].run_id);
}
