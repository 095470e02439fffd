-- The runner's `skipped_undecided` outcome (it could not tell whether the site declines sales
-- contact, or a required question had no fitting answer, so it did not send and says why): a
-- submission status of its own, so operators can count and review these items. The queue item ends
-- `done` like the other skips (record_send_result); it is never retried automatically.
-- Re-running this file is harmless: the constraint is replaced with the same expression.
alter table public.submissions drop constraint if exists submissions_status_values;
alter table public.submissions add constraint submissions_status_values check (status in (
    'sent', 'dry_run', 'skipped_refusal', 'skipped_captcha', 'skipped_undecided', 'no_form', 'failed'
)) not valid;
alter table public.submissions validate constraint submissions_status_values;
