-- What a job actually ran with. batch-events reports each attempt's queue, vCPU, memory and workers from the Batch
-- job state change (the container's effective resourceRequirements); the runner reports at start the instance type
-- and its cgroup's memory limit, and at the end its peak memory and whether it came close to the limit
-- (memory_warning). record_job_run keeps each report on the attempt (metadata.ran) and a summary on the execution
-- (metadata.batch.ran): the last queue, vCPU, memory and workers seen, every instance type seen, the highest peak, and
-- memory_warning once any attempt warned. Additive: one new function, no table change; re-running it is harmless.

-- record_job_run(p_execution_id uuid, p_run_index int, p_attempt int, p_ran jsonb) → jsonb: the execution's
--   metadata.batch.ran after the merge, or null when the execution does not exist.
create or replace function record_job_run(
    p_execution_id uuid, p_run_index integer, p_attempt integer, p_ran jsonb
) returns jsonb language plpgsql as $$
declare
    ran jsonb := coalesce(p_ran, '{}'::jsonb);
    merged jsonb;
begin
    if jsonb_typeof(ran) <> 'object' then
        raise exception 'record_job_run: p_ran must be a JSON object, got %', jsonb_typeof(ran) using errcode = '22023';
    end if;
    -- Lock the execution row first: concurrent reports of one execution merge one after the other.
    select coalesce(metadata -> 'batch' -> 'ran', '{}'::jsonb) into merged
    from job_executions where id = p_execution_id for update;
    if not found then
        return null;
    end if;

    insert into job_execution_attempts (execution_id, run_index, attempt, metadata)
    values (p_execution_id, p_run_index, p_attempt, jsonb_build_object('ran', ran))
    on conflict (execution_id, run_index, attempt) do update set
        metadata = job_execution_attempts.metadata
            || jsonb_build_object('ran', coalesce(job_execution_attempts.metadata -> 'ran', '{}'::jsonb) || ran);

    merged := merged
        || jsonb_strip_nulls(ran - 'instance_type' - 'peak_memory_mib' - 'memory_warning')
        || jsonb_strip_nulls(jsonb_build_object(
            'instance_types', (
                select jsonb_agg(t order by t) from (
                    select jsonb_array_elements_text(coalesce(merged -> 'instance_types', '[]'::jsonb)) as t
                    union
                    select ran ->> 'instance_type' where ran ->> 'instance_type' is not null
                ) types),
            'peak_memory_mib', (
                select max(v) from (values ((merged ->> 'peak_memory_mib')::numeric),
                                           ((ran ->> 'peak_memory_mib')::numeric)) p(v)),
            'memory_warning', case
                when (merged ->> 'memory_warning') is null and (ran ->> 'memory_warning') is null then null
                else coalesce((merged ->> 'memory_warning')::boolean, false)
                     or coalesce((ran ->> 'memory_warning')::boolean, false)
            end));

    update job_executions set
        metadata = jsonb_set(metadata, '{batch}', coalesce(metadata -> 'batch', '{}'::jsonb)
            || jsonb_build_object('ran', merged)),
        updated_at = now()
    where id = p_execution_id;
    return merged;
end $$;

revoke all on function record_job_run(uuid, integer, integer, jsonb) from public, anon, authenticated;
grant execute on function record_job_run(uuid, integer, integer, jsonb) to service_role;
