-- Form sender: executions, attempts, send queue, companies, submissions, and the RPC functions
-- that are the only way code touches them (called with the service-role key through PostgREST).
-- Idempotent: safe to apply to an empty database and again on top of itself.

create extension if not exists pgcrypto;

create table if not exists companies (
    id          bigserial primary key,
    name        text not null check (length(name) between 1 and 300),
    form_url    text check (form_url ~ '^https?://'),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

create table if not exists job_executions (
    id                 uuid primary key default gen_random_uuid(),
    targeting_id       text not null check (length(targeting_id) between 1 and 64),
    idempotency_key    text unique check (idempotency_key is null or length(idempotency_key) between 1 and 128),
    status             text not null default 'pending'
                       check (status in ('pending', 'submitted', 'running', 'succeeded', 'failed', 'cancelled')),
    run_total          integer not null check (run_total between 1 and 10000),
    shards             integer not null default 1 check (shards between 1 and 10000),
    test_mode          boolean not null default false,
    job_id             text,
    job_name           text,
    job_queue          text,
    array_size         integer check (array_size is null or array_size between 1 and 10000),
    error              text,
    metadata           jsonb not null default '{}'::jsonb,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    submitted_at       timestamptz,
    started_at         timestamptz,
    finished_at        timestamptz
);
create index if not exists job_executions_targeting_status on job_executions (targeting_id, status, created_at desc);
create index if not exists job_executions_job_id on job_executions (job_id) where job_id is not null;

create table if not exists job_execution_attempts (
    id                     bigserial primary key,
    execution_id           uuid not null references job_executions (id) on delete cascade,
    run_index              integer not null check (run_index >= 1),
    attempt                integer not null check (attempt >= 1),
    job_id                 text,
    status                 text not null default 'running'
                           check (status in ('running', 'succeeded', 'failed', 'cancelled')),
    status_reason          text,
    exit_code              integer,
    failed_once_marked_at  timestamptz,
    metadata               jsonb not null default '{}'::jsonb,
    started_at             timestamptz not null default now(),
    finished_at            timestamptz,
    unique (execution_id, run_index, attempt)
);

create table if not exists send_queue (
    id                bigserial primary key,
    targeting_id      text not null check (length(targeting_id) between 1 and 64),
    company_id        bigint not null references companies (id),
    status            text not null default 'pending' check (status in ('pending', 'leased', 'done', 'failed')),
    lease_owner       text,
    lease_expires_at  timestamptz,
    attempts          integer not null default 0 check (attempts >= 0),
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    unique (targeting_id, company_id),
    check ((status = 'leased') = (lease_owner is not null and lease_expires_at is not null))
);
create index if not exists send_queue_claimable on send_queue (targeting_id, status, id);

create table if not exists submissions (
    id             bigserial primary key,
    queue_item_id  bigint not null unique references send_queue (id),
    execution_id   uuid references job_executions (id),
    company_id     bigint not null references companies (id),
    status         text not null check (status in ('sent', 'dry_run', 'skipped_refusal', 'skipped_captcha', 'no_form', 'failed')),
    detail         text,
    worker_id      text not null,
    run_index      integer,
    attempt        integer,
    created_at     timestamptz not null default now()
);
create index if not exists submissions_execution on submissions (execution_id);

-- Row-level security on, and no table privileges for the public API roles: anon and
-- authenticated can reach nothing; service_role (BYPASSRLS in Supabase) goes through the RPCs.
alter table companies enable row level security;
alter table job_executions enable row level security;
alter table job_execution_attempts enable row level security;
alter table send_queue enable row level security;
alter table submissions enable row level security;
revoke all on companies, job_executions, job_execution_attempts, send_queue, submissions from public, anon, authenticated;
grant select, insert, update, delete on companies, job_executions, job_execution_attempts, send_queue, submissions to service_role;
grant usage on all sequences in schema public to service_role;

-- create_job_execution(p_targeting_id text, p_run_total int, p_shards int, p_test_mode bool,
--   p_idempotency_key text, p_metadata jsonb) → jsonb row + "duplicate": a repeated idempotency
--   key returns the existing execution instead of a new one.
create or replace function create_job_execution(
    p_targeting_id text, p_run_total integer, p_shards integer default 1, p_test_mode boolean default false,
    p_idempotency_key text default null, p_metadata jsonb default '{}'::jsonb
) returns jsonb language plpgsql as $$
declare
    row job_executions;
begin
    insert into job_executions (targeting_id, run_total, shards, test_mode, idempotency_key, metadata)
    values (p_targeting_id, p_run_total, p_shards, p_test_mode, p_idempotency_key, coalesce(p_metadata, '{}'::jsonb))
    on conflict (idempotency_key) do nothing
    returning * into row;
    if row.id is not null then
        return to_jsonb(row) || jsonb_build_object('duplicate', false);
    end if;
    select * into row from job_executions where idempotency_key = p_idempotency_key;
    return to_jsonb(row) || jsonb_build_object('duplicate', true);
end $$;

-- Legal status transitions; anything else raises SQLSTATE P0001 naming both states.
create or replace function job_status_transition_allowed(p_from text, p_to text) returns boolean
language sql immutable as $$
    select (p_from, p_to) in (
        ('pending', 'submitted'), ('pending', 'failed'), ('pending', 'cancelled'),
        ('submitted', 'running'), ('submitted', 'succeeded'), ('submitted', 'failed'), ('submitted', 'cancelled'),
        ('running', 'succeeded'), ('running', 'failed'), ('running', 'cancelled')
    )
$$;

-- update_job_execution_status(p_execution_id uuid, p_status text, p_error text, p_metadata jsonb)
--   → jsonb row. Same status again is a no-op (events repeat); metadata is merged.
create or replace function update_job_execution_status(
    p_execution_id uuid, p_status text, p_error text default null, p_metadata jsonb default null
) returns jsonb language plpgsql as $$
declare
    row job_executions;
begin
    select * into row from job_executions where id = p_execution_id for update;
    if row.id is null then
        raise exception 'job execution % not found', p_execution_id using errcode = 'P0002';
    end if;
    if row.status <> p_status and not job_status_transition_allowed(row.status, p_status) then
        raise exception 'illegal status transition % -> % for job execution %', row.status, p_status, p_execution_id
            using errcode = 'P0001', hint = 'legal: pending -> submitted -> running -> succeeded|failed|cancelled';
    end if;
    update job_executions set
        status = p_status,
        error = coalesce(p_error, error),
        metadata = metadata || coalesce(p_metadata, '{}'::jsonb),
        started_at = case when p_status = 'running' then coalesce(started_at, now()) else started_at end,
        finished_at = case when p_status in ('succeeded', 'failed', 'cancelled') then coalesce(finished_at, now()) else finished_at end,
        updated_at = now()
    where id = p_execution_id
    returning * into row;
    return to_jsonb(row);
end $$;

-- mark_job_submitted(p_execution_id uuid, p_job_id text, p_job_name text, p_job_queue text,
--   p_array_size int) → jsonb row. Idempotent for the same job id.
create or replace function mark_job_submitted(
    p_execution_id uuid, p_job_id text, p_job_name text, p_job_queue text, p_array_size integer default null
) returns jsonb language plpgsql as $$
declare
    row job_executions;
begin
    select * into row from job_executions where id = p_execution_id for update;
    if row.id is null then
        raise exception 'job execution % not found', p_execution_id using errcode = 'P0002';
    end if;
    if row.job_id = p_job_id then
        return to_jsonb(row);
    end if;
    if row.status <> 'pending' then
        raise exception 'illegal status transition % -> submitted for job execution %', row.status, p_execution_id using errcode = 'P0001';
    end if;
    update job_executions set status = 'submitted', job_id = p_job_id, job_name = p_job_name, job_queue = p_job_queue,
        array_size = p_array_size, submitted_at = now(), updated_at = now()
    where id = p_execution_id returning * into row;
    return to_jsonb(row);
end $$;

-- get_job_execution(p_execution_id uuid) → jsonb row or null.
create or replace function get_job_execution(p_execution_id uuid) returns jsonb
language sql stable as $$ select to_jsonb(e) from job_executions e where id = p_execution_id $$;

-- list_job_executions(p_targeting_id text, p_status text, p_limit int) → set of rows, newest first.
create or replace function list_job_executions(p_targeting_id text default null, p_status text default null, p_limit integer default 100)
returns setof job_executions language sql stable as $$
    select * from job_executions
    where (p_targeting_id is null or targeting_id = p_targeting_id)
      and (p_status is null or status = p_status)
    order by created_at desc
    limit least(greatest(coalesce(p_limit, 100), 1), 1000)
$$;

-- start_job_attempt(p_execution_id uuid, p_run_index int, p_attempt int, p_job_id text,
--   p_metadata jsonb) → jsonb attempt row. Idempotent; moves a submitted execution to running.
create or replace function start_job_attempt(
    p_execution_id uuid, p_run_index integer, p_attempt integer, p_job_id text default null, p_metadata jsonb default '{}'::jsonb
) returns jsonb language plpgsql as $$
declare
    a job_execution_attempts;
begin
    insert into job_execution_attempts (execution_id, run_index, attempt, job_id, metadata)
    values (p_execution_id, p_run_index, p_attempt, p_job_id, coalesce(p_metadata, '{}'::jsonb))
    on conflict (execution_id, run_index, attempt) do update set
        job_id = coalesce(excluded.job_id, job_execution_attempts.job_id),
        metadata = job_execution_attempts.metadata || excluded.metadata
    returning * into a;
    update job_executions set status = 'running', started_at = coalesce(started_at, now()), updated_at = now()
    where id = p_execution_id and status in ('pending', 'submitted');
    return to_jsonb(a);
end $$;

-- finish_job_attempt(p_execution_id uuid, p_run_index int, p_attempt int, p_status text,
--   p_status_reason text, p_exit_code int) → jsonb attempt row (created if the start was missed).
create or replace function finish_job_attempt(
    p_execution_id uuid, p_run_index integer, p_attempt integer, p_status text,
    p_status_reason text default null, p_exit_code integer default null
) returns jsonb language plpgsql as $$
declare
    a job_execution_attempts;
begin
    insert into job_execution_attempts (execution_id, run_index, attempt, status, status_reason, exit_code, finished_at)
    values (p_execution_id, p_run_index, p_attempt, p_status, p_status_reason, p_exit_code, now())
    on conflict (execution_id, run_index, attempt) do update set
        status = excluded.status,
        status_reason = coalesce(excluded.status_reason, job_execution_attempts.status_reason),
        exit_code = coalesce(excluded.exit_code, job_execution_attempts.exit_code),
        finished_at = coalesce(job_execution_attempts.finished_at, now())
    returning * into a;
    return to_jsonb(a);
end $$;

-- mark_job_failed_once(p_execution_id uuid, p_run_index int, p_attempt int, p_reason text)
--   → boolean: true only for the call that marked this (execution, run index, attempt) failed.
create or replace function mark_job_failed_once(
    p_execution_id uuid, p_run_index integer, p_attempt integer, p_reason text default null
) returns boolean language plpgsql as $$
declare
    marked integer;
begin
    insert into job_execution_attempts (execution_id, run_index, attempt)
    values (p_execution_id, p_run_index, p_attempt)
    on conflict (execution_id, run_index, attempt) do nothing;
    update job_execution_attempts set
        failed_once_marked_at = now(), status = 'failed', status_reason = coalesce(p_reason, status_reason),
        finished_at = coalesce(finished_at, now())
    where execution_id = p_execution_id and run_index = p_run_index and attempt = p_attempt
      and failed_once_marked_at is null;
    get diagnostics marked = row_count;
    return marked = 1;
end $$;

-- claim_send_queue_items(p_targeting_id text, p_shard_id int (1-based), p_total_shards int,
--   p_worker_id text, p_limit int, p_lease_seconds int) → set of claimed items with company
--   name and form URL. Concurrent claimers never get the same item (FOR UPDATE SKIP LOCKED);
--   expired leases are claimable again.
create or replace function claim_send_queue_items(
    p_targeting_id text, p_shard_id integer, p_total_shards integer, p_worker_id text,
    p_limit integer default 1, p_lease_seconds integer default 300
) returns table (id bigint, company_id bigint, company_name text, form_url text, attempts integer, lease_expires_at timestamptz)
language plpgsql as $$
#variable_conflict use_column
begin
    if p_total_shards < 1 or p_shard_id < 1 or p_shard_id > p_total_shards then
        raise exception 'shard % of % is out of range (shards are 1..total)', p_shard_id, p_total_shards using errcode = 'P0001';
    end if;
    return query
    with picked as (
        select q.id from send_queue q
        where q.targeting_id = p_targeting_id
          and (q.status = 'pending' or (q.status = 'leased' and q.lease_expires_at < now()))
          and mod(q.id, p_total_shards) = p_shard_id - 1
        order by q.id
        limit greatest(p_limit, 1)
        for update skip locked
    ), leased as (
        update send_queue q set status = 'leased', lease_owner = p_worker_id,
            lease_expires_at = now() + make_interval(secs => p_lease_seconds), attempts = q.attempts + 1, updated_at = now()
        from picked where q.id = picked.id
        returning q.id, q.company_id, q.attempts, q.lease_expires_at
    )
    select l.id, l.company_id, c.name, c.form_url, l.attempts, l.lease_expires_at
    from leased l join companies c on c.id = l.company_id
    order by l.id;
end $$;

-- release_send_queue_leases(p_worker_id text, p_item_ids bigint[]) → number of items returned
--   to pending (all of the worker's leases when p_item_ids is null).
create or replace function release_send_queue_leases(p_worker_id text, p_item_ids bigint[] default null)
returns integer language plpgsql as $$
declare
    released integer;
begin
    update send_queue set status = 'pending', lease_owner = null, lease_expires_at = null, updated_at = now()
    where status = 'leased' and lease_owner = p_worker_id and (p_item_ids is null or id = any (p_item_ids));
    get diagnostics released = row_count;
    return released;
end $$;

-- record_send_result(p_item_id bigint, p_worker_id text, p_status text, p_detail text,
--   p_execution_id uuid, p_run_index int, p_attempt int) → jsonb { recorded, status }.
--   Exactly once per queue item: only the lease holder records, a repeat is ignored.
create or replace function record_send_result(
    p_item_id bigint, p_worker_id text, p_status text, p_detail text default null,
    p_execution_id uuid default null, p_run_index integer default null, p_attempt integer default null
) returns jsonb language plpgsql as $$
declare
    item send_queue;
begin
    select * into item from send_queue where id = p_item_id for update;
    if item.id is null then
        raise exception 'send_queue item % not found', p_item_id using errcode = 'P0002';
    end if;
    if item.status in ('done', 'failed') then
        return jsonb_build_object('recorded', false, 'status', item.status);
    end if;
    if item.status <> 'leased' or item.lease_owner <> p_worker_id then
        raise exception 'send_queue item % is not leased by %', p_item_id, p_worker_id using errcode = 'P0001';
    end if;
    insert into submissions (queue_item_id, execution_id, company_id, status, detail, worker_id, run_index, attempt)
    values (p_item_id, p_execution_id, item.company_id, p_status, p_detail, p_worker_id, p_run_index, p_attempt);
    update send_queue set status = case when p_status = 'failed' then 'failed' else 'done' end,
        lease_owner = null, lease_expires_at = null, updated_at = now()
    where id = p_item_id;
    return jsonb_build_object('recorded', true, 'status', case when p_status = 'failed' then 'failed' else 'done' end);
end $$;

-- Only service_role may call the RPCs.
do $$
declare
    fn text;
begin
    foreach fn in array array[
        'create_job_execution(text,integer,integer,boolean,text,jsonb)', 'job_status_transition_allowed(text,text)',
        'update_job_execution_status(uuid,text,text,jsonb)', 'mark_job_submitted(uuid,text,text,text,integer)',
        'get_job_execution(uuid)', 'list_job_executions(text,text,integer)', 'start_job_attempt(uuid,integer,integer,text,jsonb)',
        'finish_job_attempt(uuid,integer,integer,text,text,integer)', 'mark_job_failed_once(uuid,integer,integer,text)',
        'claim_send_queue_items(text,integer,integer,text,integer,integer)', 'release_send_queue_leases(text,bigint[])',
        'record_send_result(bigint,text,text,text,uuid,integer,integer)'
    ] loop
        execute format('revoke all on function %s from public, anon, authenticated', fn);
        execute format('grant execute on function %s to service_role', fn);
    end loop;
end $$;
