-- Form sender RPC functions: the only way code touches the tables of
-- 20261120000000_form_sender_tables.sql (called with the service-role key through PostgREST).
-- `create or replace` throughout, so the file applies again on top of itself and over the
-- functions of the former 0001_form_sender.sql / 0002_job_fallback.sql.
--
-- Send intents: the runner calls record_send_intent right before the click that may send. From
-- then on the item is never claimed or released automatically: record_send_result ends it (done
-- or failed); when the worker vanished or could not record, mark_send_intents_unknown (batch-events,
-- after the attempt ended) or the lease-expiry sweep in claim_send_queue_items ends it 'unknown',
-- counted on the execution and the attempt; only requeue_unknown_send_items (an operator, after
-- checking with the company) puts it back to pending.

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
--   expired leases are claimable again, except an item with a send intent: the sweep first ends
--   those of this targeting as 'unknown' (their worker neither recorded a result nor renewed).
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
    perform expire_send_intents(p_targeting_id);
    return query
    with picked as (
        select q.id from send_queue q
        where q.targeting_id = p_targeting_id
          and (q.status = 'pending' or (q.status = 'leased' and q.lease_expires_at < now() and q.send_intent_at is null))
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
    select l.id::bigint, l.company_id::bigint, c.name::text, c.form_url::text, l.attempts::integer, l.lease_expires_at
    from leased l join companies c on c.id = l.company_id
    order by l.id;
end $$;

-- release_send_queue_leases(p_worker_id text, p_item_ids bigint[]) → number of items returned
--   to pending (all of the worker's leases when p_item_ids is null). Never an item whose send
--   intent was recorded: it may have reached the site.
create or replace function release_send_queue_leases(p_worker_id text, p_item_ids bigint[] default null)
returns integer language plpgsql as $$
declare
    released integer;
begin
    update send_queue set status = 'pending', lease_owner = null, lease_expires_at = null, updated_at = now()
    where status = 'leased' and lease_owner = p_worker_id and send_intent_at is null
      and (p_item_ids is null or id = any (p_item_ids));
    get diagnostics released = row_count;
    return released;
end $$;

-- record_send_intent(p_item_id bigint, p_worker_id text, p_execution_id uuid, p_run_index int,
--   p_attempt int) → jsonb { recorded, send_intent_at }: durably notes, right before the click
--   that may send, that this worker is sending this item. Only the lease holder may; a repeat by
--   the same worker answers recorded=false. Raises P0001 when the item is not leased by p_worker_id
--   (another attempt took it over): the caller must not click.
create or replace function record_send_intent(
    p_item_id bigint, p_worker_id text, p_execution_id uuid default null,
    p_run_index integer default null, p_attempt integer default null
) returns jsonb language plpgsql as $$
declare
    item send_queue;
begin
    select * into item from send_queue where id = p_item_id for update;
    if item.id is null then
        raise exception 'send_queue item % not found', p_item_id using errcode = 'P0002';
    end if;
    if item.status <> 'leased' or item.lease_owner is distinct from p_worker_id then
        raise exception 'send_queue item % is not leased by % (status %); do not send it', p_item_id, p_worker_id,
            item.status using errcode = 'P0001';
    end if;
    if item.send_intent_at is not null then
        return jsonb_build_object('recorded', false, 'send_intent_at', item.send_intent_at);
    end if;
    update send_queue set send_intent_at = now(), send_intent_owner = p_worker_id,
        send_intent_execution_id = p_execution_id, send_intent_run_index = p_run_index,
        send_intent_attempt = p_attempt, updated_at = now()
    where id = p_item_id
    returning * into item;
    return jsonb_build_object('recorded', true, 'send_intent_at', item.send_intent_at);
end $$;

-- count_unknown_(...): the per-execution and per-attempt counters of 'unknown' items move with
--   every change into or out of that state (delta +1 / -1).
create or replace function count_unknown_send_item(p_item send_queue, p_delta integer)
returns void language plpgsql as $$
begin
    if p_item.send_intent_execution_id is null then
        return;
    end if;
    update job_executions set unknown_items = greatest(unknown_items + p_delta, 0), updated_at = now()
    where id = p_item.send_intent_execution_id;
    update job_execution_attempts set unknown_items = greatest(unknown_items + p_delta, 0)
    where execution_id = p_item.send_intent_execution_id and run_index = p_item.send_intent_run_index
      and attempt = p_item.send_intent_attempt;
end $$;

-- record_send_result(p_item_id bigint, p_worker_id text, p_status text, p_detail text,
--   p_execution_id uuid, p_run_index int, p_attempt int) → jsonb { recorded, status }.
--   Exactly once per queue item: only the lease holder records, a repeat is ignored. The worker
--   that recorded the send intent may still record after its item was ended 'unknown' (it was
--   slow, not gone): its result replaces the unknown.
create or replace function record_send_result(
    p_item_id bigint, p_worker_id text, p_status text, p_detail text default null,
    p_execution_id uuid default null, p_run_index integer default null, p_attempt integer default null
) returns jsonb language plpgsql as $$
declare
    item send_queue;
    v_final text := case when p_status = 'failed' then 'failed' else 'done' end;
begin
    select * into item from send_queue where id = p_item_id for update;
    if item.id is null then
        raise exception 'send_queue item % not found', p_item_id using errcode = 'P0002';
    end if;
    if item.status in ('done', 'failed') then
        return jsonb_build_object('recorded', false, 'status', item.status);
    end if;
    if item.status = 'unknown' and item.send_intent_owner = p_worker_id then
        perform count_unknown_send_item(item, -1);
    elsif item.status <> 'leased' or item.lease_owner is distinct from p_worker_id then
        raise exception 'send_queue item % is not leased by %', p_item_id, p_worker_id using errcode = 'P0001';
    end if;
    insert into submissions (queue_item_id, execution_id, company_id, status, detail, worker_id, run_index, attempt)
    values (p_item_id, p_execution_id, item.company_id, p_status, p_detail, p_worker_id, p_run_index, p_attempt);
    update send_queue set status = v_final, lease_owner = null, lease_expires_at = null, outcome_reason = null,
        updated_at = now()
    where id = p_item_id;
    return jsonb_build_object('recorded', true, 'status', v_final);
end $$;

-- mark_send_intents_unknown(p_worker_id text, p_reason text) → number of items ended 'unknown':
--   every item this worker recorded a send intent for and no result. Called once the worker is
--   known to be gone (batch-events, after Batch reported its attempt ended); a repeat finds none.
create or replace function mark_send_intents_unknown(p_worker_id text, p_reason text default null)
returns integer language plpgsql as $$
declare
    item send_queue;
    n integer := 0;
begin
    for item in
        update send_queue set status = 'unknown', lease_owner = null, lease_expires_at = null,
            outcome_reason = coalesce(p_reason, 'the worker ended without recording a result after its send intent'),
            updated_at = now()
        where status = 'leased' and send_intent_owner = p_worker_id and send_intent_at is not null
        returning *
    loop
        perform count_unknown_send_item(item, 1);
        n := n + 1;
    end loop;
    return n;
end $$;

-- expire_send_intents(p_targeting_id text) → number of items ended 'unknown': items with a send
--   intent whose lease expired without a result (the backstop when no Batch event arrives).
create or replace function expire_send_intents(p_targeting_id text default null)
returns integer language plpgsql as $$
declare
    item send_queue;
    n integer := 0;
begin
    for item in
        update send_queue set status = 'unknown', lease_owner = null, lease_expires_at = null,
            outcome_reason = format('lease of %s expired after its send intent of %s without a result',
                send_intent_owner, send_intent_at),
            updated_at = now()
        where status = 'leased' and send_intent_at is not null and lease_expires_at < now()
          and (p_targeting_id is null or targeting_id = p_targeting_id)
        returning *
    loop
        perform count_unknown_send_item(item, 1);
        n := n + 1;
    end loop;
    return n;
end $$;

-- list_unknown_send_items(p_targeting_id text, p_execution_id uuid) → the 'unknown' items, with
--   who recorded the intent and when, so an operator can check with each company first.
create or replace function list_unknown_send_items(p_targeting_id text default null, p_execution_id uuid default null)
returns table (id bigint, targeting_id text, company_id bigint, company_name text, form_url text,
               send_intent_at timestamptz, send_intent_owner text, execution_id uuid, run_index integer,
               attempt integer, outcome_reason text)
language sql stable as $$
    select q.id::bigint, q.targeting_id::text, q.company_id::bigint, c.name::text, c.form_url::text, q.send_intent_at,
           q.send_intent_owner::text, q.send_intent_execution_id, q.send_intent_run_index, q.send_intent_attempt,
           q.outcome_reason::text
    from send_queue q join companies c on c.id = q.company_id
    where q.status = 'unknown'
      and (p_targeting_id is null or q.targeting_id = p_targeting_id)
      and (p_execution_id is null or q.send_intent_execution_id = p_execution_id)
    order by q.id
$$;

-- requeue_unknown_send_items(p_targeting_id text, p_item_ids bigint[], p_checked_by text, p_note text)
--   → jsonb { requeued, item_ids }: the operator's decision, after checking that a company did not
--   receive the message, to send these 'unknown' items again (all of the targeting's when
--   p_item_ids is null). Each goes back to pending with its intent cleared; who and when are kept.
create or replace function requeue_unknown_send_items(
    p_targeting_id text, p_item_ids bigint[], p_checked_by text, p_note text default null
) returns jsonb language plpgsql as $$
declare
    item send_queue;
    ids bigint[] := '{}';
begin
    if p_targeting_id is null or length(p_targeting_id) = 0 then
        raise exception 'p_targeting_id is required (the targeting whose unknown items to requeue)' using errcode = '22023';
    end if;
    if p_checked_by is null or length(trim(p_checked_by)) = 0 then
        raise exception 'p_checked_by is required: name who checked that these companies did not receive the message'
            using errcode = '22023';
    end if;
    for item in
        select * from send_queue
        where targeting_id = p_targeting_id and status = 'unknown' and (p_item_ids is null or id = any (p_item_ids))
        order by id for update
    loop
        perform count_unknown_send_item(item, -1);
        update send_queue set status = 'pending', send_intent_at = null, send_intent_owner = null,
            send_intent_execution_id = null, send_intent_run_index = null, send_intent_attempt = null,
            outcome_reason = format('requeued by %s%s (was unknown: %s)', p_checked_by,
                coalesce(': ' || p_note, ''), item.outcome_reason),
            requeued_at = now(), requeued_by = p_checked_by, requeue_count = requeue_count + 1, updated_at = now()
        where id = item.id;
        ids := ids || item.id::bigint;
    end loop;
    return jsonb_build_object('requeued', coalesce(array_length(ids, 1), 0), 'item_ids', to_jsonb(ids));
end $$;


-- record_job_fallback(p_execution_id uuid, p_job_id text, p_job_name text, p_job_queue text,
--   p_fallback jsonb) → boolean: records the one on-demand resubmission of an execution whose
--   Spot job was cancelled for capacity. True only for the first call; the job columns then
--   point at the new job and metadata.batch.fallback says from/to queue, time and reason.
create or replace function record_job_fallback(
    p_execution_id uuid, p_job_id text, p_job_name text, p_job_queue text, p_fallback jsonb
) returns boolean language plpgsql as $$
declare
    changed integer;
begin
    update job_executions set
        job_id = p_job_id, job_name = p_job_name, job_queue = p_job_queue,
        status = case when status = 'pending' then 'submitted' else status end,
        metadata = jsonb_set(metadata, '{batch}', coalesce(metadata -> 'batch', '{}'::jsonb) || jsonb_build_object('fallback', p_fallback)),
        updated_at = now()
    where id = p_execution_id
      and status not in ('succeeded', 'failed', 'cancelled')
      and (metadata -> 'batch' -> 'fallback') is null;
    get diagnostics changed = row_count;
    return changed = 1;
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
        'record_send_result(bigint,text,text,text,uuid,integer,integer)',
        'record_send_intent(bigint,text,uuid,integer,integer)', 'count_unknown_send_item(send_queue,integer)',
        'mark_send_intents_unknown(text,text)', 'expire_send_intents(text)', 'list_unknown_send_items(text,uuid)',
        'requeue_unknown_send_items(text,bigint[],text,text)', 'record_job_fallback(uuid,text,text,text,jsonb)'
    ] loop
        execute format('revoke all on function %s from public, anon, authenticated', fn);
        execute format('grant execute on function %s to service_role', fn);
    end loop;
end $$;
