/**
 * FormSenderAwsTasks.gs — the operator's entry points for the AWS Batch path (seed 003 §4.1 on AWS).
 * Add this folder's .gs files beside your own Code.gs; AWSBatchClient.gs (gas/) is the transport.
 *
 *   startFormSenderAws(targetingId)          start one targeting (its row must route to AWS Batch)
 *   startFormSenderAwsAll()                  start every row with active = TRUE that routes to AWS Batch
 *   dryRunFormSenderAws(targetingId)         start one targeting with test_mode (fills forms, never submits)
 *   getRunningFormSenderAwsTasks(targetingId) list executions not finished (pending, submitted, running)
 *   stopSpecificFormSenderAwsTask(targetingId) cancel every unfinished execution of one targeting
 *   stopAllRunningFormSenderAwsTasks()       cancel every unfinished execution and a start-all in progress
 *   resumeFormSenderAws()                    trigger handler: continues a start-all that hit the time budget
 *   isAwsBatchTargeting(targetingId)         routing for your Code.gs: useAwsBatch column → USE_AWS_BATCH → off
 *
 * The editor's Run button passes no argument: the functions that need a targeting then read Script
 * Property FORM_SENDER_AWS_MANUAL_TARGETING_ID. Helpers end in `_`, so the Run menu hides them.
 *
 * Apps Script limits (https://developers.google.com/apps-script/guides/services/quotas): an execution
 * stops after 6 minutes, so a start-all submits in batches (UrlFetchApp.fetchAll, FORM_SENDER_AWS_BATCH_SIZE
 * at once) only while one more batch surely fits, then saves where it stopped and schedules
 * resumeFormSenderAws() one minute later. A run killed anyway is resumed too: every start-all keeps a
 * resume trigger set for after the 6-minute limit until it finishes. LockService's script lock keeps a
 * trigger run and a manual run from submitting at the same time
 * (https://developers.google.com/apps-script/reference/lock/lock-service); Apps Script releases it when
 * an execution ends, also a killed one (https://developers.google.com/apps-script/reference/lock/lock#releaseLock()).
 *
 * Nothing is submitted twice: every submit of a start-all carries the idempotency key
 * `<run id>-<targeting>`, and the answers of a batch are saved (Script Property FORM_SENDER_AWS_RUN_WRITTEN,
 * together with the shortened queue) before they are written to the sheet, so a resume writes those rows
 * from what was saved and sends nothing for them. A run cut off while a batch was in flight resends that
 * batch with the same keys, and the API answers each with the execution it already made.
 */

/** Apps Script's limit per execution (consumer and Workspace accounts alike). */
var FORM_SENDER_AWS_EXECUTION_LIMIT_MS = 6 * 60 * 1000;
/** API Gateway ends an integration after 29 s
 *  (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
var FORM_SENDER_AWS_API_TIMEOUT_MS = 29000;
/** Left for the write-back, saving the state and creating the trigger. */
var FORM_SENDER_AWS_MARGIN_MS = 20000;
var FORM_SENDER_AWS_RESUME_AFTER_MS = 60 * 1000;
/** The resume trigger a start-all keeps while it runs: it fires only if the run was killed. */
var FORM_SENDER_AWS_WATCHDOG_AFTER_MS = FORM_SENDER_AWS_EXECUTION_LIMIT_MS + 60 * 1000;
var FORM_SENDER_AWS_LOCK_WAIT_MS = 30000;
var FORM_SENDER_AWS_RUN_PROPERTY = "FORM_SENDER_AWS_RUN";
/** Answers of the batch being written to the sheet (a separate property: each value holds at most 9 kB). */
var FORM_SENDER_AWS_WRITTEN_PROPERTY = "FORM_SENDER_AWS_RUN_WRITTEN";
/** "Properties value size 9 kB / val" (https://developers.google.com/apps-script/guides/services/quotas). */
var FORM_SENDER_AWS_PROPERTY_MAX_CHARS = 9000;
/** Submits per UrlFetchApp.fetchAll unless Script Property FORM_SENDER_AWS_BATCH_SIZE says fewer. */
var FORM_SENDER_AWS_BATCH_SIZE = 10;
/** Unfinished executions; a Batch job RUNNABLE or STARTING is `submitted` until it runs (batch-events). */
var FORM_SENDER_AWS_UNFINISHED = "pending,submitted,running";

/** Starts one targeting; the Run button reads FORM_SENDER_AWS_MANUAL_TARGETING_ID. */
function startFormSenderAws(targetingId) {
    var id = formSenderAwsManualId_(targetingId, "startFormSenderAws");
    return formSenderAwsWithLock_(function () {
        var sheet = formSenderAwsSheet_();
        var row = sheet.row(id);
        if (!formSenderAwsRouted_(row, PropertiesService.getScriptProperties())) {
            throw new Error(
                "targeting " +
                    id +
                    " does not route to AWS Batch (its useAwsBatch column is FALSE, or blank while " +
                    "Script Property USE_AWS_BATCH is not TRUE); set useAwsBatch to TRUE on its row to pilot it",
            );
        }
        // A start-all in progress submits it with its own key; a second start now would be a second execution.
        var saved = PropertiesService.getScriptProperties().getProperty(FORM_SENDER_AWS_RUN_PROPERTY);
        if (saved && JSON.parse(saved).queue.indexOf(id) >= 0) {
            throw new Error(
                "targeting " +
                    id +
                    " is queued in the start-all in progress, which starts it; nothing was submitted. Wait for " +
                    "it, or run stopSpecificFormSenderAwsTask('" +
                    id +
                    "') first to drop it from the queue",
            );
        }
        return formSenderAwsStartRow_(sheet, row, formSenderAwsRunId_(), { testMode: false });
    });
}

/** Starts one targeting with test_mode on, whatever its routing: the check before piloting it. */
function dryRunFormSenderAws(targetingId) {
    var id = formSenderAwsManualId_(targetingId, "dryRunFormSenderAws");
    return formSenderAwsWithLock_(function () {
        var sheet = formSenderAwsSheet_();
        return formSenderAwsStartRow_(sheet, sheet.row(id), formSenderAwsRunId_(), { testMode: true });
    });
}

/** Starts every active targeting that routes to AWS Batch and has nothing unfinished; resumable. */
function startFormSenderAwsAll() {
    var startedAt = Date.now();
    return formSenderAwsWithLock_(function () {
        var props = PropertiesService.getScriptProperties();
        formSenderAwsBatchSize_(props); // a bad FORM_SENDER_AWS_BATCH_SIZE stops here, before a run is saved
        if (props.getProperty(FORM_SENDER_AWS_RUN_PROPERTY)) {
            throw new Error(
                "a start-all is still in progress (resumeFormSenderAws continues it); wait for it, or run " +
                    "stopAllRunningFormSenderAwsTasks() to abandon it",
            );
        }
        var sheet = formSenderAwsSheet_();
        var running = {};
        listExecutions(null, FORM_SENDER_AWS_UNFINISHED).executions.forEach(function (e) {
            running[e.targeting_id] = e.execution_id;
        });
        var queue = [];
        sheet.targetings().forEach(function (row) {
            var id = String(row.targeting_id).trim();
            try {
                if (formSenderAwsBoolean_(row.active, "column active of targeting " + id) !== true) return;
                if (!formSenderAwsRouted_(row, props)) return;
            } catch (e) {
                sheet.write(row, { awsStatus: FORM_SENDER_AWS_STATUS.invalidSettings, awsMessage: e.message });
                return;
            }
            if (running[id]) {
                sheet.write(row, { awsMessage: "not started: execution " + running[id] + " is still unfinished" });
                return;
            }
            queue.push(id);
        });
        var state = { run_id: formSenderAwsRunId_(), queue: queue, started: 0 };
        formSenderAwsSaveRun_(props, state, null);
        return formSenderAwsContinue_(sheet, state, startedAt);
    });
}

/** Time-trigger handler: continues the saved start-all where the previous execution stopped. */
function resumeFormSenderAws() {
    var startedAt = Date.now();
    formSenderAwsDeleteResumeTriggers_();
    var lock = LockService.getScriptLock();
    if (!lock.tryLock(FORM_SENDER_AWS_LOCK_WAIT_MS)) {
        // A manual run holds the lock: try again later rather than queue behind it.
        formSenderAwsScheduleResume_();
        return { done: false, busy: true };
    }
    try {
        var props = PropertiesService.getScriptProperties();
        var saved = props.getProperty(FORM_SENDER_AWS_RUN_PROPERTY);
        if (!saved) {
            // A stop-all abandoned the run; rows answered before it still get their write-back.
            var written = formSenderAwsFlushWritten_(formSenderAwsSheet_(), props);
            return { done: true, started: written };
        }
        return formSenderAwsContinue_(formSenderAwsSheet_(), JSON.parse(saved), startedAt);
    } finally {
        lock.releaseLock();
    }
}

/** Executions not finished (pending, submitted, running), logged and returned; refreshes awsStatus. */
function getRunningFormSenderAwsTasks(targetingId) {
    var id = typeof targetingId === "string" || typeof targetingId === "number" ? String(targetingId) : null;
    var executions = listExecutions(id, FORM_SENDER_AWS_UNFINISHED).executions;
    var sheet = formSenderAwsSheet_();
    var byExecution = {};
    sheet.targetings().forEach(function (row) {
        if (row.executionId) byExecution[String(row.executionId)] = row;
    });
    executions.forEach(function (e) {
        console.log([e.targeting_id, e.execution_id, e.status, e.job_name || "-", e.submitted_at || "-"].join("\t"));
        var row = byExecution[e.execution_id];
        if (row) sheet.write(row, { awsStatus: String(e.status).toUpperCase() });
    });
    console.log(executions.length + " unfinished execution(s)");
    return executions;
}

/** Cancels every unfinished execution of one targeting and drops it from a start-all in progress. */
function stopSpecificFormSenderAwsTask(targetingId) {
    var startedAt = Date.now();
    var id = formSenderAwsManualId_(targetingId, "stopSpecificFormSenderAwsTask");
    return formSenderAwsWithLock_(function () {
        var props = PropertiesService.getScriptProperties();
        var saved = props.getProperty(FORM_SENDER_AWS_RUN_PROPERTY);
        if (saved) {
            var state = JSON.parse(saved);
            state.queue = state.queue.filter(function (q) {
                return q !== id;
            });
            props.setProperty(FORM_SENDER_AWS_RUN_PROPERTY, JSON.stringify(state));
        }
        return formSenderAwsStop_(id, startedAt);
    });
}

/** Abandons a start-all in progress, then cancels every unfinished execution. */
function stopAllRunningFormSenderAwsTasks() {
    var startedAt = Date.now();
    return formSenderAwsWithLock_(function () {
        var props = PropertiesService.getScriptProperties();
        props.deleteProperty(FORM_SENDER_AWS_RUN_PROPERTY);
        formSenderAwsDeleteResumeTriggers_();
        // Rows of a batch answered just before a kill get their execution first, so the cancel marks them.
        formSenderAwsFlushWritten_(formSenderAwsSheet_(), props);
        return formSenderAwsStop_(null, startedAt);
    });
}

/** For your Code.gs: `if (isAwsBatchTargeting(id)) return startFormSenderAws(id);` before the old path. */
function isAwsBatchTargeting(targetingId) {
    // Run button (no argument) or trigger (an event): the manual targeting; from code, exactly the id given.
    var id =
        targetingId === undefined || (typeof targetingId === "object" && targetingId !== null)
            ? formSenderAwsManualId_(targetingId, "isAwsBatchTargeting")
            : String(targetingId);
    return formSenderAwsRouted_(formSenderAwsSheet_().row(id), PropertiesService.getScriptProperties());
}

// ---- helpers -------------------------------------------------------------------------------------

function formSenderAwsManualId_(arg, fn) {
    // A time trigger passes an event object; the Run button passes nothing.
    if ((typeof arg === "string" && arg.trim() !== "") || typeof arg === "number") return String(arg).trim();
    var fromProperty = PropertiesService.getScriptProperties().getProperty("FORM_SENDER_AWS_MANUAL_TARGETING_ID");
    if (fromProperty) return fromProperty.trim();
    throw new Error(
        fn +
            " needs a targeting id: call " +
            fn +
            "('<targeting id>') from your code, or set Script Property " +
            "FORM_SENDER_AWS_MANUAL_TARGETING_ID to it and press Run",
    );
}

function formSenderAwsWithLock_(work) {
    var lock = LockService.getScriptLock();
    if (!lock.tryLock(FORM_SENDER_AWS_LOCK_WAIT_MS)) {
        throw new Error(
            "another form-sender AWS run holds the script lock (a trigger or another manual run); nothing was " +
                "submitted or cancelled. Try again when it has finished",
        );
    }
    try {
        return work();
    } finally {
        lock.releaseLock();
    }
}

/** `gas-<yyyyMMddHHmmss JST>`: one per manual run or start-all, part of every idempotency key it sends. */
function formSenderAwsRunId_() {
    return "gas-" + Utilities.formatDate(new Date(), "Asia/Tokyo", "yyyyMMddHHmmss");
}

/** The longest one submit can take: every try at API Gateway's 29 s plus the client's retry pauses. */
function formSenderAwsWorstCallMs_() {
    var delays = typeof AWS_BATCH_RETRY_DELAYS_MS !== "undefined" ? AWS_BATCH_RETRY_DELAYS_MS : [1000, 4000, 9000];
    var pauses = delays.reduce(function (a, b) {
        return a + b;
    }, 0);
    return (delays.length + 1) * FORM_SENDER_AWS_API_TIMEOUT_MS + pauses;
}

function formSenderAwsContinue_(sheet, state, startedAt) {
    var props = PropertiesService.getScriptProperties();
    var budget = FORM_SENDER_AWS_EXECUTION_LIMIT_MS - formSenderAwsWorstCallMs_() - FORM_SENDER_AWS_MARGIN_MS;
    var size = formSenderAwsBatchSize_(props);
    // Set before anything is sent: if this execution is killed, the trigger resumes the run.
    formSenderAwsDeleteResumeTriggers_();
    formSenderAwsScheduleResume_(FORM_SENDER_AWS_WATCHDOG_AFTER_MS);
    var results = formSenderAwsFlushWritten_(sheet, props);
    while (state.queue.length) {
        if (Date.now() - startedAt > budget) {
            formSenderAwsSaveRun_(props, state, null);
            formSenderAwsDeleteResumeTriggers_();
            formSenderAwsScheduleResume_(FORM_SENDER_AWS_RESUME_AFTER_MS);
            console.log(
                "time budget used after " +
                    results.length +
                    " targeting(s); " +
                    state.queue.length +
                    " left, resumeFormSenderAws runs in " +
                    FORM_SENDER_AWS_RESUME_AFTER_MS / 1000 +
                    " s",
            );
            return { done: false, started: results, remaining: state.queue.slice() };
        }
        var batch = state.queue.slice(0, size);
        var written = formSenderAwsSubmitBatch_(sheet, batch, state.run_id, { testMode: false });
        state.queue = state.queue.slice(batch.length);
        state.started += batch.length;
        // Progress and answers in one write, before the sheet: a resume after a kill from here on
        // writes these rows from the saved answers and submits none of them again.
        formSenderAwsSaveRun_(props, state, written);
        results = results.concat(formSenderAwsFlushWritten_(sheet, props));
    }
    props.deleteProperty(FORM_SENDER_AWS_RUN_PROPERTY);
    formSenderAwsDeleteResumeTriggers_();
    return { done: true, started: results, remaining: [] };
}

/**
 * Submits the rows of `ids` with one UrlFetchApp.fetchAll (transport: submitFormSenderJobs) and returns
 * what to write to each row, by targeting id. Rows whose cells are invalid are not sent.
 */
function formSenderAwsSubmitBatch_(sheet, ids, runId, options) {
    var written = {};
    var submits = [];
    ids.forEach(function (id) {
        var row = null;
        try {
            row = sheet.row(id);
        } catch (e) {
            console.log("skipped " + id + ": " + e.message);
            return;
        }
        var prepared = formSenderAwsPrepare_(row, runId, options);
        if (prepared.fields) written[id] = prepared.fields;
        else submits.push({ targetingId: id, payload: prepared.payload });
    });
    submitFormSenderJobs(submits).forEach(function (r, i) {
        var id = submits[i].targetingId;
        written[id] = formSenderAwsOutcome_(r.answer, r.error, runId, options);
    });
    return written;
}

/** Writes the saved answers of the last batch to their rows, then forgets them; returns one result per row. */
function formSenderAwsFlushWritten_(sheet, props) {
    var saved = props.getProperty(FORM_SENDER_AWS_WRITTEN_PROPERTY);
    if (!saved) return [];
    var written = JSON.parse(saved);
    var results = Object.keys(written).map(function (id) {
        var fields = written[id];
        try {
            sheet.write(sheet.row(id), fields);
        } catch (e) {
            console.log("not written back for " + id + ": " + e.message);
        }
        return {
            targeting_id: id,
            status: fields.awsStatus,
            execution_id: fields.executionId || null,
            job_id: fields.jobId || null,
            message: fields.awsMessage || "",
        };
    });
    props.deleteProperty(FORM_SENDER_AWS_WRITTEN_PROPERTY);
    return results;
}

/** Saves the run (and the answers to write, when given) in one call, within the 9 kB a value may hold. */
function formSenderAwsSaveRun_(props, state, written) {
    var values = {};
    values[FORM_SENDER_AWS_RUN_PROPERTY] = JSON.stringify(state);
    if (written) values[FORM_SENDER_AWS_WRITTEN_PROPERTY] = JSON.stringify(written);
    Object.keys(values).forEach(function (k) {
        if (values[k].length > FORM_SENDER_AWS_PROPERTY_MAX_CHARS) {
            throw new Error(
                "Script Property " +
                    k +
                    " would hold " +
                    values[k].length +
                    " characters; Apps Script keeps at most 9 kB per value. Start fewer targetings at once " +
                    "(clear active on some rows) or shorten their targeting_id",
            );
        }
    });
    props.setProperties(values);
}

/** Submits per fetchAll: Script Property FORM_SENDER_AWS_BATCH_SIZE (1-10), default 10. */
function formSenderAwsBatchSize_(props) {
    var text = props.getProperty("FORM_SENDER_AWS_BATCH_SIZE");
    if (text === null || text === undefined || String(text).trim() === "") return FORM_SENDER_AWS_BATCH_SIZE;
    var n = Number(String(text).trim());
    var max = typeof AWS_BATCH_FETCH_ALL_MAX !== "undefined" ? AWS_BATCH_FETCH_ALL_MAX : FORM_SENDER_AWS_BATCH_SIZE;
    if (!isFinite(n) || Math.floor(n) !== n || n < 1 || n > max) {
        throw new Error(
            "Script Property FORM_SENDER_AWS_BATCH_SIZE is " +
                JSON.stringify(text) +
                "; use a whole number from 1 to " +
                max +
                " (or delete it for " +
                FORM_SENDER_AWS_BATCH_SIZE +
                ")",
        );
    }
    return n;
}

/**
 * Submits one row and writes the outcome back. The idempotency key is the run id and the targeting,
 * so a run that is cut off between a submit and saving its progress gets the same execution back
 * when it resumes, never a second one.
 */
function formSenderAwsStartRow_(sheet, row, runId, options) {
    var id = String(row.targeting_id).trim();
    var prepared = formSenderAwsPrepare_(row, runId, options);
    var fields = prepared.fields;
    if (!fields) {
        try {
            fields = formSenderAwsOutcome_(submitFormSenderJob(id, prepared.payload), null, runId, options);
        } catch (e) {
            fields = formSenderAwsOutcome_(null, e, runId, options);
        }
    }
    sheet.write(row, fields);
    var result = { targeting_id: id, status: fields.awsStatus };
    if (fields.executionId) result.execution_id = fields.executionId;
    if (fields.jobId) result.job_id = fields.jobId;
    if (fields.awsMessage) result.message = fields.awsMessage;
    return result;
}

/** The submit body of a row (`payload`), or the write-back of a row whose cells are invalid (`fields`). */
function formSenderAwsPrepare_(row, runId, options) {
    var id = String(row.targeting_id).trim();
    var payload;
    try {
        payload = formSenderAwsPayload_(row, options);
    } catch (e) {
        return { fields: { awsStatus: FORM_SENDER_AWS_STATUS.invalidSettings, awsMessage: e.message } };
    }
    payload.idempotency_key = runId + "-" + id + (options.testMode ? "-dry" : "");
    return { payload: payload };
}

/** The write-back columns for an API answer or a transport error. */
function formSenderAwsOutcome_(answer, error, runId, options) {
    if (error) {
        // 400 is the request's own fault and retrying cannot help; anything else failed on the way
        // (SigV4 403, throttling, 5xx after the transport's last retry, network) and may be run again.
        var status =
            error.status === 400 ? FORM_SENDER_AWS_STATUS.invalidRequest : FORM_SENDER_AWS_STATUS.failedApiGateway;
        return { awsStatus: status, awsMessage: String(error.message).slice(0, 1000) };
    }
    if (answer.status === "failed") {
        return {
            executionId: answer.execution_id,
            awsStatus: FORM_SENDER_AWS_STATUS.failedApiGateway,
            awsMessage: "execution " + answer.execution_id + " failed before it ran; start the targeting again",
        };
    }
    return {
        executionId: answer.execution_id,
        jobId: answer.job_id || "",
        arraySize: answer.array_size === null || answer.array_size === undefined ? "" : answer.array_size,
        submittedAt: answer.submitted_at || "",
        awsStatus: options.testMode
            ? FORM_SENDER_AWS_STATUS.dryRunSubmitted
            : String(answer.status || "submitted").toUpperCase(),
        awsMessage: answer.duplicate ? "already submitted by run " + runId + "; same execution" : "",
    };
}

/**
 * Cancels the unfinished executions of one targeting (or all), FORM_SENDER_AWS_BATCH_SIZE at a time with
 * UrlFetchApp.fetchAll, listing again until none is left that was not tried (one submitted while stopping is
 * found by the next listing; one whose cancel failed is not tried again, so the loop ends). listExecutions reads
 * every page. Stops within the time budget (run it again for the rest); throws after writing the rows if a cancel
 * failed.
 */
function formSenderAwsStop_(targetingId, startedAt) {
    var props = PropertiesService.getScriptProperties();
    var budget = FORM_SENDER_AWS_EXECUTION_LIMIT_MS - formSenderAwsWorstCallMs_() - FORM_SENDER_AWS_MARGIN_MS;
    var size = formSenderAwsBatchSize_(props);
    var sheet = formSenderAwsSheet_();
    var rows = {};
    sheet.targetings().forEach(function (row) {
        if (row.executionId) rows[String(row.executionId)] = row;
    });
    var results = [];
    var failed = [];
    var tried = {};
    for (;;) {
        if (Date.now() - startedAt > budget) {
            console.log(
                "time budget used after " + results.length + " cancel(s); run the stop again for the executions left",
            );
            break;
        }
        var left = listExecutions(targetingId, FORM_SENDER_AWS_UNFINISHED).executions.filter(function (e) {
            return !tried[e.execution_id];
        });
        if (!left.length) break;
        for (var i = 0; i < left.length && Date.now() - startedAt <= budget; i += size) {
            var chunk = left.slice(i, i + size);
            var answers = cancelExecutions(
                chunk.map(function (e) {
                    tried[e.execution_id] = true;
                    return e.execution_id;
                }),
            );
            chunk.forEach(function (e, k) {
                var r = answers[k];
                var details = r.error && r.error.body && r.error.body.error && r.error.body.error.details;
                var outcome;
                if (r.answer) outcome = r.answer.status;
                // 409: it finished while we were listing; its final status is in the answer.
                else if (r.error.status === 409) outcome = details && details.status ? details.status : "finished";
                else {
                    failed.push(e.execution_id + ": " + r.error.message);
                    console.log("cancel " + e.targeting_id + " " + e.execution_id + " failed: " + r.error.message);
                    return;
                }
                var row = rows[e.execution_id];
                if (row) sheet.write(row, { awsStatus: String(outcome).toUpperCase(), awsMessage: "stopped from GAS" });
                console.log("cancel " + e.targeting_id + " " + e.execution_id + ": " + outcome);
                results.push({ targeting_id: e.targeting_id, execution_id: e.execution_id, status: outcome });
            });
        }
    }
    if (failed.length) {
        throw new Error(
            failed.length + " cancel(s) failed (the others are done; run the stop again): " + failed.join("; "),
        );
    }
    return results;
}

function formSenderAwsScheduleResume_(afterMs) {
    ScriptApp.newTrigger("resumeFormSenderAws")
        .timeBased()
        .after(afterMs || FORM_SENDER_AWS_RESUME_AFTER_MS)
        .create();
}

function formSenderAwsDeleteResumeTriggers_() {
    ScriptApp.getProjectTriggers().forEach(function (t) {
        if (t.getHandlerFunction() === "resumeFormSenderAws") ScriptApp.deleteTrigger(t);
    });
}
