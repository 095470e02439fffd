-- Form sender tables: executions, attempts, send queue, companies, submissions.
--
-- Meets an existing schema without harm (the seed moves companies / send_queue / job_executions
-- into the project with pg_restore): a table that does not exist is created whole; a table that
-- exists keeps its rows and gets each missing column the code needs added (nullable, or with a
-- default, so no row changes meaning); new check constraints are added NOT VALID and validated
-- only when no existing row breaks them. Before anything is changed, a guard lists every column
-- an existing table lacks and cannot be given (NOT NULL without a default) or has with a type
-- the RPCs cannot use, and raises one error naming all of them; the whole file then rolls back:
-- `supabase db push` sends a file's statements and its migration-history row as one batch ("ExecBatch
-- is implicitly transactional", supabase/cli pkg/migration/file.go), a multi-statement simple query
-- (the tests, `psql -1 -f`) is one transaction too.
--
-- Idempotent: safe on an empty database, on itself, and on databases that applied the former
-- 0001_form_sender.sql / 0002_job_fallback.sql (README "Supabase migrations").

create extension if not exists pgcrypto;

-- The shape the code needs: table, column, accepted types (format_type), whether the column may
-- be added to a table that already has rows (nullable or defaulted), and its definition.
drop table if exists pg_temp.form_sender_expected_columns;
create temporary table form_sender_expected_columns (
    tbl      text not null,
    col      text not null,
    types    text[] not null,
    addable  boolean not null,
    ddl      text not null
);

insert into form_sender_expected_columns (tbl, col, types, addable, ddl) values
    ('companies', 'id', '{bigint,integer}', false, 'bigserial primary key'),
    ('companies', 'name', '{text,"character varying"}', false, 'text not null'),
    ('companies', 'form_url', '{text,"character varying"}', true, 'text'),
    ('companies', 'created_at', '{"timestamp with time zone"}', true, 'timestamptz not null default now()'),
    ('companies', 'updated_at', '{"timestamp with time zone"}', true, 'timestamptz not null default now()'),

    ('job_executions', 'id', '{uuid}', false, 'uuid primary key default gen_random_uuid()'),
    ('job_executions', 'targeting_id', '{text,"character varying"}', false, 'text not null'),
    ('job_executions', 'idempotency_key', '{text,"character varying"}', true, 'text'),
    ('job_executions', 'status', '{text,"character varying"}', true, 'text not null default ''pending'''),
    ('job_executions', 'run_total', '{integer}', true, 'integer not null default 1'),
    ('job_executions', 'shards', '{integer}', true, 'integer not null default 1'),
    ('job_executions', 'test_mode', '{boolean}', true, 'boolean not null default false'),
    ('job_executions', 'job_id', '{text,"character varying"}', true, 'text'),
    ('job_executions', 'job_name', '{text,"character varying"}', true, 'text'),
    ('job_executions', 'job_queue', '{text,"character varying"}', true, 'text'),
    ('job_executions', 'array_size', '{integer}', true, 'integer'),
    ('job_executions', 'error', '{text,"character varying"}', true, 'text'),
    ('job_executions', 'metadata', '{jsonb}', true, 'jsonb not null default ''{}''::jsonb'),
    ('job_executions', 'unknown_items', '{integer}', true, 'integer not null default 0'),
    ('job_executions', 'created_at', '{"timestamp with time zone"}', true, 'timestamptz not null default now()'),
    ('job_executions', 'updated_at', '{"timestamp with time zone"}', true, 'timestamptz not null default now()'),
    ('job_executions', 'submitted_at', '{"timestamp with time zone"}', true, 'timestamptz'),
    ('job_executions', 'started_at', '{"timestamp with time zone"}', true, 'timestamptz'),
    ('job_executions', 'finished_at', '{"timestamp with time zone"}', true, 'timestamptz'),

    ('job_execution_attempts', 'id', '{bigint,integer}', false, 'bigserial primary key'),
    ('job_execution_attempts', 'execution_id', '{uuid}', false, 'uuid not null'),
    ('job_execution_attempts', 'run_index', '{integer}', false, 'integer not null'),
    ('job_execution_attempts', 'attempt', '{integer}', false, 'integer not null'),
    ('job_execution_attempts', 'job_id', '{text,"character varying"}', true, 'text'),
    ('job_execution_attempts', 'status', '{text,"character varying"}', true, 'text not null default ''running'''),
    ('job_execution_attempts', 'status_reason', '{text,"character varying"}', true, 'text'),
    ('job_execution_attempts', 'exit_code', '{integer}', true, 'integer'),
    ('job_execution_attempts', 'failed_once_marked_at', '{"timestamp with time zone"}', true, 'timestamptz'),
    ('job_execution_attempts', 'unknown_items', '{integer}', true, 'integer not null default 0'),
    ('job_execution_attempts', 'metadata', '{jsonb}', true, 'jsonb not null default ''{}''::jsonb'),
    ('job_execution_attempts', 'started_at', '{"timestamp with time zone"}', true, 'timestamptz not null default now()'),
    ('job_execution_attempts', 'finished_at', '{"timestamp with time zone"}', true, 'timestamptz'),

    ('send_queue', 'id', '{bigint,integer}', false, 'bigserial primary key'),
    ('send_queue', 'targeting_id', '{text,"character varying"}', false, 'text not null'),
    ('send_queue', 'company_id', '{bigint,integer}', false, 'bigint not null'),
    ('send_queue', 'status', '{text,"character varying"}', true, 'text not null default ''pending'''),
    ('send_queue', 'lease_owner', '{text,"character varying"}', true, 'text'),
    ('send_queue', 'lease_expires_at', '{"timestamp with time zone"}', true, 'timestamptz'),
    ('send_queue', 'attempts', '{integer}', true, 'integer not null default 0'),
    -- The durable send intent: set right before the click that sends; such an item is never
    -- claimed again automatically (it ends done/failed with a result, or unknown).
    ('send_queue', 'send_intent_at', '{"timestamp with time zone"}', true, 'timestamptz'),
    ('send_queue', 'send_intent_owner', '{text,"character varying"}', true, 'text'),
    ('send_queue', 'send_intent_execution_id', '{uuid}', true, 'uuid'),
    ('send_queue', 'send_intent_run_index', '{integer}', true, 'integer'),
    ('send_queue', 'send_intent_attempt', '{integer}', true, 'integer'),
    ('send_queue', 'outcome_reason', '{text,"character varying"}', true, 'text'),
    ('send_queue', 'requeued_at', '{"timestamp with time zone"}', true, 'timestamptz'),
    ('send_queue', 'requeued_by', '{text,"character varying"}', true, 'text'),
    ('send_queue', 'requeue_count', '{integer}', true, 'integer not null default 0'),
    ('send_queue', 'created_at', '{"timestamp with time zone"}', true, 'timestamptz not null default now()'),
    ('send_queue', 'updated_at', '{"timestamp with time zone"}', true, 'timestamptz not null default now()'),

    ('submissions', 'id', '{bigint,integer}', false, 'bigserial primary key'),
    ('submissions', 'queue_item_id', '{bigint,integer}', false, 'bigint not null'),
    ('submissions', 'execution_id', '{uuid}', true, 'uuid'),
    ('submissions', 'company_id', '{bigint,integer}', false, 'bigint not null'),
    ('submissions', 'status', '{text,"character varying"}', false, 'text not null'),
    ('submissions', 'detail', '{text,"character varying"}', true, 'text'),
    ('submissions', 'worker_id', '{text,"character varying"}', true, 'text'),
    ('submissions', 'run_index', '{integer}', true, 'integer'),
    ('submissions', 'attempt', '{integer}', true, 'integer'),
    ('submissions', 'created_at', '{"timestamp with time zone"}', true, 'timestamptz not null default now()');

-- The guard: every problem of every existing table, in one message, before anything changes.
do $$
declare
    problems text[] := '{}';
    r record;
begin
    for r in
        select e.tbl, e.col, e.types, e.addable, e.ddl, c.attname is not null as present,
               format_type(c.atttypid, c.atttypmod) as found
        from form_sender_expected_columns e
        join pg_class t on t.relname = e.tbl and t.relkind = 'r'
            and t.relnamespace = 'public'::regnamespace
        left join pg_attribute c on c.attrelid = t.oid and c.attname = e.col and c.attnum > 0 and not c.attisdropped
        order by e.tbl, e.col
    loop
        if not r.present and not r.addable then
            problems := problems || format('%s.%s is missing (needs %s; it cannot be added to an existing table '
                || 'without a value for every row)', r.tbl, r.col, r.ddl);
        elsif r.present and not (r.found = any (r.types)) then
            problems := problems || format('%s.%s is %s (needs %s)', r.tbl, r.col, r.found,
                array_to_string(r.types, ' or '));
        end if;
    end loop;
    -- The RPCs' ON CONFLICT targets need these to be unique; duplicates cannot be made unique.
    if to_regclass('public.job_executions') is not null and exists (
        select 1 from pg_attribute where attrelid = to_regclass('public.job_executions') and attname = 'idempotency_key'
    ) then
        execute 'select count(*) from (select idempotency_key from job_executions where idempotency_key is not null '
            || 'group by 1 having count(*) > 1) d' into r;
        if r.count > 0 then
            problems := problems || format('job_executions.idempotency_key has %s duplicated values (must be unique)',
                r.count);
        end if;
    end if;
    if array_length(problems, 1) > 0 then
        raise exception 'form-sender migration: the existing schema cannot serve the form sender (% problems): %',
            array_length(problems, 1), array_to_string(problems, '; ')
            using errcode = '42P16',
            hint = 'Rename the old table (alter table … rename to …_legacy) and apply again, or add the listed '
                || 'columns with a value for every row. Nothing was changed.';
    end if;
end $$;

create table if not exists companies (
    id          bigserial primary key,
    name        text not null,
    form_url    text,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

create table if not exists job_executions (
    id                 uuid primary key default gen_random_uuid(),
    targeting_id       text not null,
    idempotency_key    text,
    status             text not null default 'pending',
    run_total          integer not null default 1,
    shards             integer not null default 1,
    test_mode          boolean not null default false,
    job_id             text,
    job_name           text,
    job_queue          text,
    array_size         integer,
    error              text,
    metadata           jsonb not null default '{}'::jsonb,
    unknown_items      integer not null default 0,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    submitted_at       timestamptz,
    started_at         timestamptz,
    finished_at        timestamptz
);

create table if not exists job_execution_attempts (
    id                     bigserial primary key,
    execution_id           uuid not null references job_executions (id) on delete cascade,
    run_index              integer not null,
    attempt                integer not null,
    job_id                 text,
    status                 text not null default 'running',
    status_reason          text,
    exit_code              integer,
    failed_once_marked_at  timestamptz,
    unknown_items          integer not null default 0,
    metadata               jsonb not null default '{}'::jsonb,
    started_at             timestamptz not null default now(),
    finished_at            timestamptz
);

create table if not exists send_queue (
    id                        bigserial primary key,
    targeting_id              text not null,
    company_id                bigint not null references companies (id),
    status                    text not null default 'pending',
    lease_owner               text,
    lease_expires_at          timestamptz,
    attempts                  integer not null default 0,
    send_intent_at            timestamptz,
    send_intent_owner         text,
    send_intent_execution_id  uuid,
    send_intent_run_index     integer,
    send_intent_attempt       integer,
    outcome_reason            text,
    requeued_at               timestamptz,
    requeued_by               text,
    requeue_count             integer not null default 0,
    created_at                timestamptz not null default now(),
    updated_at                timestamptz not null default now()
);

create table if not exists submissions (
    id             bigserial primary key,
    queue_item_id  bigint not null references send_queue (id),
    execution_id   uuid references job_executions (id),
    company_id     bigint not null references companies (id),
    status         text not null,
    detail         text,
    worker_id      text,
    run_index      integer,
    attempt        integer,
    created_at     timestamptz not null default now()
);

-- Columns an existing table lacks (the guard above has made sure each can be added).
do $$
declare
    r record;
begin
    for r in
        select e.tbl, e.col, e.ddl from form_sender_expected_columns e
        where not exists (
            select 1 from pg_attribute a
            where a.attrelid = format('public.%I', e.tbl)::regclass and a.attname = e.col
              and a.attnum > 0 and not a.attisdropped
        )
    loop
        execute format('alter table public.%I add column if not exists %I %s', r.tbl, r.col, r.ddl);
    end loop;
end $$;

-- Check constraints by name: added NOT VALID (no table scan, no lock on a large table beyond the
-- catalog change), then validated only when every existing row passes; otherwise a WARNING names
-- the constraint and the count of rows that break it, and the constraint guards new rows only.
do $$
declare
    c record;
    bad bigint;
begin
    for c in
        select * from (values
            ('companies', 'companies_name_length', 'length(name) between 1 and 300'),
            ('companies', 'companies_form_url_http', 'form_url is null or form_url ~ ''^https?://'''),
            ('job_executions', 'job_executions_targeting_id_length', 'length(targeting_id) between 1 and 64'),
            ('job_executions', 'job_executions_idempotency_key_length',
                'idempotency_key is null or length(idempotency_key) between 1 and 128'),
            ('job_executions', 'job_executions_status_values',
                'status in (''pending'', ''submitted'', ''running'', ''succeeded'', ''failed'', ''cancelled'')'),
            ('job_executions', 'job_executions_run_total_range', 'run_total between 1 and 10000'),
            ('job_executions', 'job_executions_shards_range', 'shards between 1 and 10000'),
            ('job_executions', 'job_executions_array_size_range', 'array_size is null or array_size between 1 and 10000'),
            ('job_executions', 'job_executions_unknown_items_nonnegative', 'unknown_items >= 0'),
            ('job_execution_attempts', 'job_execution_attempts_run_index_positive', 'run_index >= 1'),
            ('job_execution_attempts', 'job_execution_attempts_attempt_positive', 'attempt >= 1'),
            ('job_execution_attempts', 'job_execution_attempts_status_values',
                'status in (''running'', ''succeeded'', ''failed'', ''cancelled'')'),
            ('send_queue', 'send_queue_targeting_id_length', 'length(targeting_id) between 1 and 64'),
            -- unknown: a send intent was recorded and no result ever was (the worker vanished or
            -- could not record); only an operator puts such an item back (requeue_unknown_send_items).
            ('send_queue', 'send_queue_status_values',
                'status in (''pending'', ''leased'', ''done'', ''failed'', ''unknown'')'),
            ('send_queue', 'send_queue_lease_consistent',
                '(status = ''leased'') = (lease_owner is not null and lease_expires_at is not null)'),
            ('send_queue', 'send_queue_intent_consistent',
                '(send_intent_at is null) = (send_intent_owner is null)'),
            ('send_queue', 'send_queue_attempts_nonnegative', 'attempts >= 0'),
            ('submissions', 'submissions_status_values',
                'status in (''sent'', ''dry_run'', ''skipped_refusal'', ''skipped_captcha'', ''no_form'', ''failed'')')
        ) as t (tbl, name, expr)
    loop
        if not exists (select 1 from pg_constraint where conname = c.name
                       and conrelid = format('public.%I', c.tbl)::regclass) then
            execute format('alter table public.%I add constraint %I check (%s) not valid', c.tbl, c.name, c.expr);
        end if;
        if exists (select 1 from pg_constraint where conname = c.name and not convalidated
                   and conrelid = format('public.%I', c.tbl)::regclass) then
            execute format('select count(*) from public.%I where not (%s)', c.tbl, c.expr) into bad;
            if bad = 0 then
                execute format('alter table public.%I validate constraint %I', c.tbl, c.name);
            else
                raise warning 'form-sender migration: % rows of % break % (%); left NOT VALID, it checks new rows only',
                    bad, c.tbl, c.name, c.expr;
            end if;
        end if;
    end loop;
end $$;

-- The former 0001 file's unnamed checks on send_queue.status and the lease (PostgreSQL's default
-- names <table>_<column>_check and <table>_check) refuse the 'unknown' status: the named ones
-- above replace them, with the same meaning otherwise.
alter table send_queue drop constraint if exists send_queue_status_check;
alter table send_queue drop constraint if exists send_queue_check;

-- Unique keys the RPCs rely on (ON CONFLICT targets, exactly one submission per item), unless a
-- unique index on exactly those columns exists already (the former 0001 file's constraints).
do $$
declare
    k record;
begin
    for k in
        select * from (values
            ('job_executions', 'job_executions_idempotency_key_unique', array['idempotency_key']),
            ('job_execution_attempts', 'job_execution_attempts_run_attempt_unique',
                array['execution_id', 'run_index', 'attempt']),
            ('submissions', 'submissions_queue_item_unique', array['queue_item_id'])
        ) as t (tbl, name, cols)
    loop
        if not exists (
            select 1 from pg_index i
            where i.indrelid = format('public.%I', k.tbl)::regclass and i.indisunique and i.indpred is null
              and (select array_agg(a.attname::text order by x.n) from unnest(i.indkey) with ordinality x (attnum, n)
                   join pg_attribute a on a.attrelid = i.indrelid and a.attnum = x.attnum) = k.cols
        ) then
            execute format('create unique index %I on public.%I (%s)', k.name, k.tbl,
                (select string_agg(quote_ident(c), ', ') from unnest(k.cols) c));
        end if;
    end loop;
end $$;
create index if not exists job_executions_targeting_status on job_executions (targeting_id, status, created_at desc);
create index if not exists job_executions_job_id on job_executions (job_id) where job_id is not null;
create index if not exists send_queue_claimable on send_queue (targeting_id, status, id);
create index if not exists send_queue_intent_owner on send_queue (send_intent_owner) where send_intent_at is not null;
create index if not exists send_queue_unknown on send_queue (targeting_id) where status = 'unknown';
create index if not exists submissions_execution on submissions (execution_id);

-- Row-level security on, and no table privileges for the public API roles: anon and
-- authenticated can reach nothing; service_role (BYPASSRLS in Supabase) goes through the RPCs.
alter table companies enable row level security;
alter table job_executions enable row level security;
alter table job_execution_attempts enable row level security;
alter table send_queue enable row level security;
alter table submissions enable row level security;
revoke all on companies, job_executions, job_execution_attempts, send_queue, submissions from public, anon, authenticated;
grant select, insert, update, delete on companies, job_executions, job_execution_attempts, send_queue, submissions
    to service_role;
grant usage on all sequences in schema public to service_role;

drop table form_sender_expected_columns;
