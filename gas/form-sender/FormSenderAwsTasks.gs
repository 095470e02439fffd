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
 * stops after 6 minutes, so a start-all submits only while one more call surely fits, then saves where it
 * stopped and schedules resumeFormSenderAws() one minute later. LockService's script lock keeps a
 * trigger run and a manual run from submitting at the same time
 * (https://developers.google.com/apps-script/reference/lock/lock-service).
 */

/** Apps Script's limit per execution (consumer and Workspace accounts alike). */
var FORM_SENDER_AWS_EXECUTION_LIMIT_MS = 6 * 60 * 1000;
/** API Gateway ends an integration after 29 s (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
var FORM_SENDER_AWS_API_TIMEOUT_MS = 29000;
/** Left for the write-back, saving the state and creating the trigger. */
var FORM_SENDER_AWS_MARGIN_MS = 20000;
var FORM_SENDER_AWS_RESUME_AFTER_MS = 60 * 1000;
var FORM_SENDER_AWS_LOCK_WAIT_MS = 30000;
var FORM_SENDER_AWS_RUN_PROPERTY = "FORM_SENDER_AWS_RUN";
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
        props.setProperty(FORM_SENDER_AWS_RUN_PROPERTY, JSON.stringify(state));
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
        var saved = PropertiesService.getScriptProperties().getProperty(FORM_SENDER_AWS_RUN_PROPERTY);
        if (!saved) return { done: true, started: [] };
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
        return formSenderAwsCancel_(listExecutions(id, FORM_SENDER_AWS_UNFINISHED).executions);
    });
}

/** Abandons a start-all in progress, then cancels every unfinished execution. */
function stopAllRunningFormSenderAwsTasks() {
    return formSenderAwsWithLock_(function () {
        PropertiesService.getScriptProperties().deleteProperty(FORM_SENDER_AWS_RUN_PROPERTY);
        formSenderAwsDeleteResumeTriggers_();
        return formSenderAwsCancel_(listExecutions(null, FORM_SENDER_AWS_UNFINISHED).executions);
    });
}

/** For your Code.gs: `if (isAwsBatchTargeting(id)) return startFormSenderAws(id);` before the old path. */
function isAwsBatchTargeting(targetingId) {
    return formSenderAwsRouted_(
        formSenderAwsSheet_().row(String(targetingId)),
        PropertiesService.getScriptProperties(),
    );
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
    var results = [];
    while (state.queue.length) {
        if (Date.now() - startedAt > budget) {
            props.setProperty(FORM_SENDER_AWS_RUN_PROPERTY, JSON.stringify(state));
            formSenderAwsScheduleResume_();
            console.log(
                "time budget used after " +
                    results.length +
                    " submit(s); " +
                    state.queue.length +
                    " targeting(s) left, resumeFormSenderAws runs in " +
                    FORM_SENDER_AWS_RESUME_AFTER_MS / 1000 +
                    " s",
            );
            return { done: false, started: results, remaining: state.queue.slice() };
        }
        var id = state.queue[0];
        var row = null;
        try {
            row = sheet.row(id);
        } catch (e) {
            console.log("skipped " + id + ": " + e.message);
        }
        if (row) results.push(formSenderAwsStartRow_(sheet, row, state.run_id, { testMode: false }));
        state.queue.shift();
        state.started++;
        props.setProperty(FORM_SENDER_AWS_RUN_PROPERTY, JSON.stringify(state));
    }
    props.deleteProperty(FORM_SENDER_AWS_RUN_PROPERTY);
    return { done: true, started: results, remaining: [] };
}

/**
 * Submits one row and writes the outcome back. The idempotency key is the run id and the targeting,
 * so a run that is cut off between a submit and saving its progress gets the same execution back
 * when it resumes, never a second one.
 */
function formSenderAwsStartRow_(sheet, row, runId, options) {
    var id = String(row.targeting_id).trim();
    var payload;
    try {
        payload = formSenderAwsPayload_(row, options);
    } catch (e) {
        sheet.write(row, { awsStatus: FORM_SENDER_AWS_STATUS.invalidSettings, awsMessage: e.message });
        return { targeting_id: id, status: FORM_SENDER_AWS_STATUS.invalidSettings, message: e.message };
    }
    payload.idempotency_key = runId + "-" + id + (options.testMode ? "-dry" : "");
    var answer;
    try {
        answer = submitFormSenderJob(id, payload);
    } catch (e) {
        // 400 is the request's own fault and retrying cannot help; anything else failed on the way
        // (SigV4 403, throttling, 5xx after the client's last retry, network) and may be run again.
        var status = e.status === 400 ? FORM_SENDER_AWS_STATUS.invalidRequest : FORM_SENDER_AWS_STATUS.failedApiGateway;
        sheet.write(row, { awsStatus: status, awsMessage: e.message });
        return { targeting_id: id, status: status, message: e.message };
    }
    if (answer.status === "failed") {
        var failed = "execution " + answer.execution_id + " failed before it ran; start the targeting again";
        sheet.write(row, {
            executionId: answer.execution_id,
            awsStatus: FORM_SENDER_AWS_STATUS.failedApiGateway,
            awsMessage: failed,
        });
        return { targeting_id: id, status: FORM_SENDER_AWS_STATUS.failedApiGateway, message: failed };
    }
    var written = options.testMode
        ? FORM_SENDER_AWS_STATUS.dryRunSubmitted
        : String(answer.status || "submitted").toUpperCase();
    sheet.write(row, {
        executionId: answer.execution_id,
        jobId: answer.job_id || "",
        arraySize: answer.array_size === null || answer.array_size === undefined ? "" : answer.array_size,
        submittedAt: answer.submitted_at || "",
        awsStatus: written,
        awsMessage: answer.duplicate ? "already submitted by run " + runId + "; same execution" : "",
    });
    return { targeting_id: id, status: written, execution_id: answer.execution_id, job_id: answer.job_id };
}

function formSenderAwsCancel_(executions) {
    var sheet = formSenderAwsSheet_();
    var rows = {};
    sheet.targetings().forEach(function (row) {
        if (row.executionId) rows[String(row.executionId)] = row;
    });
    return executions.map(function (e) {
        var outcome;
        try {
            outcome = cancelExecution(e.execution_id).status;
        } catch (err) {
            // 409: it finished while we were listing; its final status is in the answer.
            if (err.status !== 409) throw err;
            outcome = err.body && err.body.error && err.body.error.details ? err.body.error.details.status : "finished";
        }
        var row = rows[e.execution_id];
        if (row) sheet.write(row, { awsStatus: String(outcome).toUpperCase(), awsMessage: "stopped from GAS" });
        console.log("cancel " + e.targeting_id + " " + e.execution_id + ": " + outcome);
        return { targeting_id: e.targeting_id, execution_id: e.execution_id, status: outcome };
    });
}

function formSenderAwsScheduleResume_() {
    ScriptApp.newTrigger("resumeFormSenderAws").timeBased().after(FORM_SENDER_AWS_RESUME_AFTER_MS).create();
}

function formSenderAwsDeleteResumeTriggers_() {
    ScriptApp.getProjectTriggers().forEach(function (t) {
        if (t.getHandlerFunction() === "resumeFormSenderAws") ScriptApp.deleteTrigger(t);
    });
}
