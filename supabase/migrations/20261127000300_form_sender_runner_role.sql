-- A database role for the form-sender runner that can call its own RPCs and nothing else (issue 19), instead of the
-- service-role key, which bypasses row-level security for the whole project.
--
-- How a request gets this role: PostgREST switches to the role named in the JWT's `role` claim
-- (https://docs.postgrest.org/en/v13/references/auth.html, "User Impersonation"), which must be an existing Postgres
-- role that the authenticator may switch to (`grant <role> to authenticator`). Supabase's Data API accepts a JWT the
-- project trusts in `Authorization: Bearer`, with a publishable or anon key in `apikey`
-- (https://supabase.com/docs/guides/auth/signing-keys, "How to create (mint) JWTs": "`role` must be set to an existing
-- Postgres role in your database"). `npm run mint-runner-key` makes that JWT (scripts/mintRunnerKey.ts).
--
-- The role has no table, sequence or view privileges. The runner's eight functions run as their owner
-- (SECURITY DEFINER) so they can still read and write the tables they manage, with a fixed search_path so a caller
-- cannot put its own objects in front of them (PostgreSQL docs, CREATE FUNCTION, "Writing SECURITY DEFINER Functions
-- Safely"). The functions already check their arguments (lease owner, execution, attempt); the owner is the role that
-- applies migrations (postgres on Supabase), which owns the tables, so row-level security does not get in their way,
-- as it did not for service_role before. Callers with service_role see no difference.
--
-- Re-running this file is harmless: the role is created once, grants and ALTERs are idempotent.
do $$
begin
    if not exists (select from pg_roles where rolname = 'fs_runner') then
        create role fs_runner nologin noinherit;
    end if;
    -- Supabase's API server connects as authenticator; a database without it (a bare test database) skips this.
    if exists (select from pg_roles where rolname = 'authenticator') then
        grant fs_runner to authenticator;
    end if;
end $$;

comment on role fs_runner is
    'form-sender runner: EXECUTE on its RPCs only (supabase/migrations/20261127000300_form_sender_runner_role.sql)';
-- Supabase's other API roles have a statement timeout (anon 3s, authenticated 8s); the runner's calls are short too.
alter role fs_runner set statement_timeout = '8s';

grant usage on schema public to fs_runner;

do $$
declare
    fn text;
begin
    -- containers/runner/src/queue.ts: every `this.rpc("…")` of QueueApi, with the argument types of
    -- 20261120000100_form_sender_functions.sql.
    foreach fn in array array[
        'get_job_execution(uuid)',
        'start_job_attempt(uuid,integer,integer,text,jsonb)',
        'finish_job_attempt(uuid,integer,integer,text,text,integer)',
        'mark_job_failed_once(uuid,integer,integer,text)',
        'claim_send_queue_items(text,integer,integer,text,integer,integer)',
        'release_send_queue_leases(text,bigint[])',
        'record_send_intent(bigint,text,uuid,integer,integer)',
        'record_send_result(bigint,text,text,text,uuid,integer,integer)',
        -- 20261127000200_form_sender_job_run.sql: what the job ran with (instance type, memory, peak).
        'record_job_run(uuid,integer,integer,jsonb)'
    ] loop
        execute format('alter function public.%s security definer set search_path = public, pg_temp', fn);
        execute format('revoke all on function public.%s from public', fn);
        execute format('grant execute on function public.%s to fs_runner, service_role', fn);
    end loop;
end $$;
