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

revoke all on function record_job_fallback(uuid, text, text, text, jsonb) from public, anon, authenticated;
grant execute on function record_job_fallback(uuid, text, text, text, jsonb) to service_role;
