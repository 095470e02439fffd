-- Operator views of the form sender (GET /form-sender/executions?status=a,b and
-- GET /form-sender/executions/{id}): executions filtered by a list of statuses, and one execution
-- with its attempts per array index and its work items by state. Read-only; additive.

-- list_job_executions_in(p_targeting_id text, p_statuses text[], p_limit int) → set of rows,
--   newest first; a null or empty status list means every status.
create or replace function list_job_executions_in(
    p_targeting_id text default null, p_statuses text[] default null, p_limit integer default 100
) returns setof job_executions language sql stable as $$
    select * from job_executions
    where (p_targeting_id is null or targeting_id = p_targeting_id)
      and (p_statuses is null or cardinality(p_statuses) = 0 or status = any (p_statuses))
    order by created_at desc
    limit least(greatest(coalesce(p_limit, 100), 1), 1000)
$$;

-- get_job_execution_detail(p_execution_id uuid) → jsonb or null:
--   { "execution": row, "attempts": [attempt rows by run index, attempt],
--     "queue_items": { <send_queue.status>: count } of the execution's targeting,
--     "submissions": { <submissions.status>: count } recorded by this execution }.
create or replace function get_job_execution_detail(p_execution_id uuid) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'execution', to_jsonb(e),
        'attempts', coalesce((
            select jsonb_agg(to_jsonb(a) order by a.run_index, a.attempt)
            from job_execution_attempts a where a.execution_id = e.id), '[]'::jsonb),
        'queue_items', coalesce((
            select jsonb_object_agg(s.status, s.n)
            from (select status, count(*) as n from send_queue q where q.targeting_id = e.targeting_id
                  group by status) s), '{}'::jsonb),
        'submissions', coalesce((
            select jsonb_object_agg(s.status, s.n)
            from (select status, count(*) as n from submissions u where u.execution_id = e.id
                  group by status) s), '{}'::jsonb))
    from job_executions e where e.id = p_execution_id
$$;

do $$
declare
    fn text;
begin
    foreach fn in array array['list_job_executions_in(text,text[],integer)', 'get_job_execution_detail(uuid)'] loop
        execute format('revoke all on function %s from public, anon, authenticated', fn);
        execute format('grant execute on function %s to service_role', fn);
    end loop;
end $$;
