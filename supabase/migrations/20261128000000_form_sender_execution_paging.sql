-- Paging for GET /form-sender/executions: list_job_executions_in answers at most one page (the newest rows) and has
-- no way to reach older ones, so a caller that needs every unfinished execution (GAS start-all's "already
-- unfinished" check, the stop loops) could miss the 101st. list_job_executions_page continues after the last row a
-- caller saw: keyset paging on (created_at, id), newest first. An insert between two page fetches lands before the
-- cursor (a newer created_at) or, with an equal created_at, on the side of the cursor its id falls on; either way no
-- row of the next page is skipped or repeated, unlike OFFSET, which shifts by every row inserted in front.
-- Additive: one new function and two indexes; list_job_executions_in stays for code deployed before this file.

-- list_job_executions_page(p_targeting_id text, p_statuses text[], p_limit int, p_before_created_at timestamptz,
--   p_before_id uuid) → set of rows ordered created_at desc, id desc (the id breaks ties of equal timestamps).
--   Null p_before_created_at: the first page. Otherwise only rows after the cursor row (p_before_created_at,
--   p_before_id) in that order; a null p_before_id then means rows strictly older than p_before_created_at.
--   A p_before_id without p_before_created_at is refused (SQLSTATE 22023). A null or empty status list means every
--   status; p_limit is clamped to 1..1000 (default 100).
create or replace function list_job_executions_page(
    p_targeting_id text default null,
    p_statuses text[] default null,
    p_limit integer default 100,
    p_before_created_at timestamptz default null,
    p_before_id uuid default null
) returns setof job_executions language plpgsql stable as $$
begin
    if p_before_created_at is null and p_before_id is not null then
        raise exception 'list_job_executions_page: p_before_id % needs p_before_created_at (the same row''s '
            'created_at); pass both from the last row of the previous page, or neither for the first page',
            p_before_id using errcode = '22023';
    end if;
    return query
        select * from job_executions e
        where (p_targeting_id is null or e.targeting_id = p_targeting_id)
          and (p_statuses is null or cardinality(p_statuses) = 0 or e.status = any (p_statuses))
          -- A row comparison, so that the index below serves it as one range condition (PostgreSQL docs,
          -- "Row Constructor Comparison"; btree uses it as an index qual). With a null p_before_id the
          -- comparison is null, not true, for rows at exactly p_before_created_at: strictly older rows only.
          and (p_before_created_at is null or (e.created_at, e.id) < (p_before_created_at, p_before_id))
        order by e.created_at desc, e.id desc
        limit least(greatest(coalesce(p_limit, 100), 1), 1000);
end $$;

-- The order every page reads. job_executions_targeting_status (targeting_id, status, created_at desc) cannot give
-- it: a status list (`status = any (…)`) reads several ranges of that index, each sorted on its own, and it has no
-- id, so every page would sort all matching rows. These two read a page in order and stop after p_limit rows: the
-- first for one targeting, the second across all targetings (the stop-all listing of unfinished executions).
-- Not CONCURRENTLY: the Supabase CLI runs each migration file in its own transaction (supabase/cli issue 2898,
-- maintainer's comment of 2025-02-10), where CREATE INDEX CONCURRENTLY is not allowed (PostgreSQL docs, CREATE
-- INDEX); job_executions has one row per job, so the short write lock of a plain CREATE INDEX is acceptable.
create index if not exists job_executions_targeting_created_id
    on job_executions (targeting_id, created_at desc, id desc);
create index if not exists job_executions_created_id on job_executions (created_at desc, id desc);

-- The dispatcher (service_role) only; not the runner's fs_runner role (20261127000300_form_sender_runner_role.sql),
-- which executes its own functions and nothing else.
do $$
declare
    fn text;
begin
    foreach fn in array array['list_job_executions_page(text,text[],integer,timestamp with time zone,uuid)'] loop
        execute format('revoke all on function %s from public, anon, authenticated', fn);
        execute format('grant execute on function %s to service_role', fn);
    end loop;
end $$;
