/**
 * Schema of the YouTube sync, shipped as SQL strings so the serialized Lambda carries them
 * (a .sql file next to the handler would not be part of the bundle). Migrations are applied in
 * order, each in its own transaction, under an advisory lock, and recorded in
 * `youtube_sync_schema_migrations`; a migration that was applied is never run again. Never edit
 * a shipped migration: append a new one.
 */
import type { ClientBase } from "pg";

export interface Migration {
    readonly version: number;
    readonly name: string;
    readonly sql: string;
}

export const MIGRATIONS_TABLE = "youtube_sync_schema_migrations";

/** Arbitrary constant: the advisory-lock key that serializes schema changes across runs. */
const MIGRATION_LOCK_KEY = 0x59_54_4d_47; // "YTMG"

export const MIGRATIONS: readonly Migration[] = [
    {
        version: 1,
        name: "youtube tables",
        sql: `
CREATE TABLE IF NOT EXISTS youtube_channels (
    channel_id              text PRIMARY KEY,
    -- Operators add a channel by inserting just its id; a channel set to false is skipped
    -- unless the stack config lists it.
    sync_enabled            boolean NOT NULL DEFAULT true,
    title                   text,
    description             text,
    custom_url              text,
    country                 text,
    published_at            timestamptz,
    thumbnail_url           text,
    uploads_playlist_id     text,
    -- NULL when the channel hides its subscriber count or the API omits it.
    subscriber_count        bigint,
    hidden_subscriber_count boolean,
    view_count              bigint,
    video_count             bigint,
    last_seen_on            date,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS youtube_videos (
    video_id               text PRIMARY KEY,
    -- No foreign key: a per-row RI trigger costs ~0.65 s per 100,000 inserted rows, half the
    -- insert itself. The loader checks the staged rows' channels in one query instead
    -- (load.ts, ORPHAN_CHECK_SQL) in the publishing transaction, and nothing deletes channels.
    channel_id             text NOT NULL,
    title                  text,
    description            text,
    published_at           timestamptz,
    -- ISO 8601 as the API returns it (P0D for upcoming live streams) and in seconds.
    duration               text,
    duration_seconds       integer,
    category_id            text,
    tags                   jsonb,
    default_language       text,
    live_broadcast_content text,
    definition             text,
    caption                boolean,
    thumbnail_url          text,
    -- Latest counts; NULL when the owner hides them or the API omits them.
    view_count             bigint,
    like_count             bigint,
    comment_count          bigint,
    -- Date (JST) of the last run that still found the video: older dates mark deleted or
    -- private videos, which are kept rather than dropped.
    last_seen_on           date NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS youtube_videos_channel_id_idx ON youtube_videos (channel_id);

-- One row per video per day: a second run on the same day refreshes the day's row.
-- No foreign key to youtube_videos: rows come only from the loader, in the same transaction
-- as their video rows, and the program never deletes videos; a per-row RI trigger would cost
-- as much as the insert itself (~0.8 s per 100,000 rows).
CREATE TABLE IF NOT EXISTS youtube_video_stats (
    video_id      text NOT NULL,
    snapshot_date date NOT NULL,
    view_count    bigint,
    like_count    bigint,
    comment_count bigint,
    captured_at   timestamptz NOT NULL,
    PRIMARY KEY (video_id, snapshot_date)
);
CREATE INDEX IF NOT EXISTS youtube_video_stats_snapshot_date_idx ON youtube_video_stats (snapshot_date);

CREATE TABLE IF NOT EXISTS youtube_sync_runs (
    run_id             bigserial PRIMARY KEY,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz NOT NULL,
    trigger            text NOT NULL,
    -- completed | quota_exhausted | quota_budget | deadline | no_channels | failed
    status             text NOT NULL,
    snapshot_date      date NOT NULL,
    channels           integer NOT NULL DEFAULT 0,
    videos             integer NOT NULL DEFAULT 0,
    snapshots          integer NOT NULL DEFAULT 0,
    unavailable_videos integer NOT NULL DEFAULT 0,
    quota_units        integer NOT NULL DEFAULT 0,
    error              text
);
`,
    },
    {
        version: 2,
        name: "partial runs and uploads walks",
        sql: `
-- Channels a run skipped (an error that concerned only that channel) and channels whose uploads
-- playlist listed fewer entries than their videoCount:
-- [{"channel_id", "reason", "error"}] and [{"channel_id", "video_count", "listed"}].
ALTER TABLE youtube_sync_runs
    ADD COLUMN IF NOT EXISTS skipped_channels   jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN IF NOT EXISTS truncated_channels jsonb NOT NULL DEFAULT '[]'::jsonb;
COMMENT ON COLUMN youtube_sync_runs.status IS
    'completed | partial (channels skipped, see skipped_channels) | quota_exhausted | quota_budget | deadline | '
    'no_channels | failed';

-- The last date a run walked the channel's uploads playlist to its last page, and, when that walk
-- stopped short of the channel's videoCount (YouTube stops paging an uploads playlist at about
-- 20,000 items), the oldest publish time it reached: older uploads were not listed, so their stale
-- last_seen_on says nothing. A skipped channel keeps its previous values.
ALTER TABLE youtube_channels
    ADD COLUMN IF NOT EXISTS uploads_listed_on   date,
    ADD COLUMN IF NOT EXISTS uploads_listed_from timestamptz;

COMMENT ON COLUMN youtube_videos.last_seen_on IS
    'Date (JST) of the last run that listed the video. Deleted or private videos are those of '
    'youtube_videos_unavailable: last_seen_on older than a later complete walk of their channel''s '
    'uploads, not any stale date (a skipped channel or one past the paging cap is not re-listed).';

-- Videos the latest walk of their channel's uploads should have listed and did not: deleted,
-- private or unlisted since. Videos of channels never walked since this migration, of channels
-- skipped since, and uploads older than a truncated walk reached are never shown.
CREATE OR REPLACE VIEW youtube_videos_unavailable AS
SELECT v.video_id, v.channel_id, v.published_at, v.last_seen_on, c.uploads_listed_on
FROM youtube_videos AS v
JOIN youtube_channels AS c ON c.channel_id = v.channel_id
WHERE v.last_seen_on < c.uploads_listed_on
  AND (c.uploads_listed_from IS NULL OR v.published_at >= c.uploads_listed_from);
`,
    },
];

/**
 * Applies every migration not yet recorded. Safe to call on every run and from concurrent
 * runs: the advisory lock makes the second caller wait, then find nothing to do.
 * Returns the versions applied by this call.
 */
export async function migrate(client: ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
    const applied: number[] = [];
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
        await client.query(
            `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()
            )`,
        );
        const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`);
        const done = new Set(rows.map((r) => r.version));
        for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
            if (done.has(m.version)) continue;
            await client.query("BEGIN");
            try {
                await client.query(m.sql);
                await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)`, [
                    m.version,
                    m.name,
                ]);
                await client.query("COMMIT");
            } catch (err) {
                await client.query("ROLLBACK");
                throw new Error(`youtube sync: migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, {
                    cause: err,
                });
            }
            applied.push(m.version);
        }
    } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    }
    return applied;
}
