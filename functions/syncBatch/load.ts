/**
 * Loading: rows are streamed as RFC 4180 CSV (csv-stringify) into `COPY … FROM STDIN` on
 * session-local staging tables while the API is still being read, then one transaction
 * upserts channels, videos and the day's stats snapshot. Until that transaction commits the
 * published tables are untouched, so a failed run leaves the previous data intact.
 */
import { once } from "events";
import { Transform, TransformCallback } from "stream";
import { pipeline } from "stream/promises";
import { stringify } from "csv-stringify";
import type { ClientBase } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Cell, CHANNEL_COLUMNS, VIDEO_COLUMNS } from "./rows";

export const CHANNEL_STAGING = "youtube_channels_staging";
export const VIDEO_STAGING = "youtube_videos_staging";

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
 * sessions, gone when the connection closes. `seq` records arrival order so the newest copy
 * of a row staged twice wins.
 */
export async function createStaging(client: ClientBase): Promise<void> {
    const cols = (types: Record<string, string>) => Object.entries(types).map(([c, t]) => `${c} ${t}`).join(", ");
    await client.query(`
DROP TABLE IF EXISTS pg_temp.${CHANNEL_STAGING};
DROP TABLE IF EXISTS pg_temp.${VIDEO_STAGING};
CREATE TEMP TABLE ${CHANNEL_STAGING} (seq bigserial, ${cols(CHANNEL_TYPES)});
CREATE TEMP TABLE ${VIDEO_STAGING} (seq bigserial, ${cols(VIDEO_TYPES)});
`);
}

/** A COPY in progress. */
export interface CopyWriter {
    /** Queues one row; resolves once the stream can take more (backpressure). */
    write(row: Cell[]): Promise<void>;
    /** Finishes the COPY; resolves with the number of rows PostgreSQL stored. */
    end(): Promise<number>;
    /** Cancels the COPY (CopyFail): nothing written through this writer is kept. */
    abort(reason: Error): Promise<void>;
}

/** Chunks handed to the socket; one CopyData message per chunk instead of one per row. */
const COPY_CHUNK_BYTES = 64 * 1024;

/**
 * Joins the CSV records csv-stringify emits (one chunk each) into ~64 KiB chunks, so a 100,000
 * row COPY sends a few hundred protocol messages rather than 100,000.
 */
function coalesce(): Transform {
    let parts: Buffer[] = [];
    let size = 0;
    return new Transform({
        transform(chunk: Buffer | string, _enc: BufferEncoding, cb: TransformCallback) {
            const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
            parts.push(buf);
            size += buf.length;
            if (size >= COPY_CHUNK_BYTES) {
                this.push(Buffer.concat(parts, size));
                parts = [];
                size = 0;
            }
            cb();
        },
        flush(cb: TransformCallback) {
            if (size > 0) this.push(Buffer.concat(parts, size));
            cb();
        },
    });
}

/** Starts `COPY table (columns) FROM STDIN` in CSV format and returns a writer for its rows. */
export function openCopy(client: ClientBase, table: string, columns: readonly string[]): CopyWriter {
    // CRLF record ends, as RFC 4180 writes them. Two forced quotings on top of csv-stringify's own:
    // - empty strings: an unquoted empty field is NULL in PostgreSQL's CSV format, and an empty
    //   title must stay an empty string;
    // - any CR or LF: csv-stringify only quotes fields containing the whole record delimiter, so a
    //   lone "\n" in a title would otherwise end the row ("unquoted newline found in data").
    const csv = stringify({ quoted_match: [/^$/, /[\r\n]/], record_delimiter: "\r\n" });
    const copy = client.query(copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN WITH (FORMAT csv)`));
    const done = pipeline(csv, coalesce(), copy);
    let failure: Error | undefined;
    done.catch((err: Error) => {
        failure ??= err;
    });
    return {
        async write(row) {
            if (failure) throw failure;
            if (!csv.write(row)) {
                const drained = once(csv, "drain");
                drained.catch(() => undefined); // the pipeline's own rejection reports the error
                await Promise.race([drained, done]);
            }
        },
        async end() {
            csv.end();
            await done;
            return copy.rowCount;
        },
        async abort(reason) {
            csv.destroy(reason);
            await done.catch(() => undefined);
        },
    };
}

/** Writes `rows` through one COPY; used for the few channel rows. */
export async function copyAll(client: ClientBase, table: string, columns: readonly string[], rows: Cell[][]): Promise<number> {
    const w = openCopy(client, table, columns);
    try {
        for (const row of rows) await w.write(row);
    } catch (err) {
        await w.abort(err as Error);
        throw err;
    }
    return w.end();
}

export interface RunRecord {
    readonly startedAt: Date;
    readonly finishedAt: Date;
    readonly trigger: string;
    readonly status: string;
    readonly snapshotDate: string;
    readonly unavailableVideos: number;
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

/** `(t.a, t.b) IS DISTINCT FROM (EXCLUDED.a, EXCLUDED.b)` over `columns`. */
function changed(columns: readonly string[], extra: string[] = []): string {
    const all = [...columns, ...extra];
    return `(${all.map((c) => `t.${c}`).join(", ")}) IS DISTINCT FROM (${all.map((c) => `EXCLUDED.${c}`).join(", ")})`;
}

/**
 * The upsert statements. Rows are only rewritten when a value differs, and `updated_at` only
 * moves when content changes (not when just `last_seen_on` does), so a second run on the same
 * day with the same API answers leaves every row exactly as it was.
 */
function upsertChannelsSql(): string {
    const cols = [...CHANNEL_COLUMNS];
    const content = cols.filter((c) => c !== "channel_id");
    return `
INSERT INTO youtube_channels AS t (${cols.join(", ")}, last_seen_on)
SELECT DISTINCT ON (channel_id) ${cols.join(", ")}, $1::date
FROM ${CHANNEL_STAGING}
ORDER BY channel_id, seq DESC
ON CONFLICT (channel_id) DO UPDATE SET
    ${content.map((c) => `${c} = EXCLUDED.${c}`).join(",\n    ")},
    last_seen_on = EXCLUDED.last_seen_on,
    updated_at = CASE WHEN ${changed(content)} THEN now() ELSE t.updated_at END
WHERE ${changed(content, ["last_seen_on"])}`;
}

function upsertVideosSql(): string {
    const cols = [...VIDEO_COLUMNS];
    const content = cols.filter((c) => c !== "video_id");
    return `
INSERT INTO youtube_videos AS t (${cols.join(", ")}, last_seen_on)
SELECT DISTINCT ON (video_id) ${cols.join(", ")}, $1::date
FROM ${VIDEO_STAGING}
ORDER BY video_id, seq DESC
ON CONFLICT (video_id) DO UPDATE SET
    ${content.map((c) => `${c} = EXCLUDED.${c}`).join(",\n    ")},
    last_seen_on = EXCLUDED.last_seen_on,
    updated_at = CASE WHEN ${changed(content)} THEN now() ELSE t.updated_at END
WHERE ${changed(content, ["last_seen_on"])}`;
}

const STAT_COLUMNS = ["view_count", "like_count", "comment_count"];

function upsertStatsSql(): string {
    return `
INSERT INTO youtube_video_stats AS t (video_id, snapshot_date, ${STAT_COLUMNS.join(", ")}, captured_at)
SELECT DISTINCT ON (video_id) video_id, $1::date, ${STAT_COLUMNS.join(", ")}, $2::timestamptz
FROM ${VIDEO_STAGING}
-- A video whose owner hides every count has nothing to snapshot.
WHERE num_nonnulls(${STAT_COLUMNS.join(", ")}) > 0
ORDER BY video_id, seq DESC
ON CONFLICT (video_id, snapshot_date) DO UPDATE SET
    ${STAT_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(", ")},
    captured_at = EXCLUDED.captured_at
WHERE ${changed(STAT_COLUMNS)}`;
}

/**
 * Publishes the staged rows in one transaction: channels, videos, the day's stats snapshot
 * and the run record. On any error the transaction is rolled back and the error rethrown.
 */
export async function publish(client: ClientBase, run: RunRecord): Promise<PublishResult> {
    await client.query("BEGIN");
    try {
        const counts = await client.query<{ channels: string; videos: string }>(
            `SELECT (SELECT count(DISTINCT channel_id) FROM ${CHANNEL_STAGING}) AS channels, (SELECT count(DISTINCT video_id) FROM ${VIDEO_STAGING}) AS videos`,
        );
        const channels = await client.query(upsertChannelsSql(), [run.snapshotDate]);
        const videos = await client.query(upsertVideosSql(), [run.snapshotDate]);
        const stats = await client.query(upsertStatsSql(), [run.snapshotDate, run.finishedAt.toISOString()]);
        const result = {
            channels: Number(counts.rows[0].channels),
            videos: Number(counts.rows[0].videos),
            channelsChanged: channels.rowCount ?? 0,
            videosChanged: videos.rowCount ?? 0,
            snapshots: stats.rowCount ?? 0,
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
        `INSERT INTO youtube_sync_runs (started_at, finished_at, trigger, status, snapshot_date, channels, videos, snapshots, unavailable_videos, quota_units, error)
         VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8, $9, $10, $11) RETURNING run_id`,
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
        ],
    );
    return Number(rows[0].run_id);
}
