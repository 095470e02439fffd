-- No sequence privileges for the public API roles on the form-sender tables' id sequences.
--
-- 20261120000000_form_sender_tables.sql revokes the tables from anon and authenticated, but not the sequences behind
-- their bigserial ids. A Supabase database grants ALL on every new sequence in schema public to anon, authenticated
-- and service_role by default privileges (supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql
-- @09a4e4e: "alter default privileges in schema public grant all on sequences to postgres, anon, authenticated,
-- service_role", and the same for objects supabase_admin creates), so with only the anon key anyone could call
-- nextval() (burning ids), setval() (moving an id sequence back onto existing rows, so that every later insert fails
-- with a duplicate key) or read the counts of companies and queue items. Nothing but service_role and the SECURITY
-- DEFINER functions (which run as the tables' owner) inserts rows, so no API role needs a sequence.
--
-- Each table's own sequences are found through pg_get_serial_sequence, which names the sequence behind a serial or
-- an identity column (PostgreSQL docs, "System Information Functions"): a table restored from the seed's dump with
-- another sequence name, or with an identity column, is covered too. service_role keeps its usage (the tables
-- migration grants it), and fs_runner gets nothing, as its migration says.
--
-- Idempotent: REVOKE of a privilege that is not held is a no-op.
do $$
declare
    seq text;
begin
    for seq in
        select distinct pg_get_serial_sequence(format('%I.%I', c.table_schema, c.table_name), c.column_name)
        from information_schema.columns c
        where c.table_schema = 'public'
          and c.table_name in ('companies', 'job_executions', 'job_execution_attempts', 'send_queue', 'submissions')
          and pg_get_serial_sequence(format('%I.%I', c.table_schema, c.table_name), c.column_name) is not null
    loop
        execute format('revoke all on sequence %s from public, anon, authenticated, fs_runner', seq);
    end loop;
end $$;
