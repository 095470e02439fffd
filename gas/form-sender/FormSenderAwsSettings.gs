/**
 * FormSenderAwsSettings.gs — what a targeting row means to the AWS Batch path: routing, the
 * column → submit payload map, and the columns written back. Pure functions (no service calls)
 * except where a Script Property is read; FormSenderAwsTasks.gs uses them.
 *
 * Routing (seed 003 §7 precedence, seed 000 §6.2(3)): the row's `useAwsBatch` column → Script
 * Property `USE_AWS_BATCH` → off. A blank column follows the property; an unset property is off,
 * so a few targetings can be piloted with `useAwsBatch = TRUE` while everything else stays on the
 * existing path.
 *
 * Settings precedence for every batch setting: targeting column → stack default (Pulumi.<stack>.yaml,
 * applied by the dispatcher) → code default (functions/formSender/dispatcher.ts CODE_DEFAULTS).
 * A blank column is simply not sent, so the dispatcher applies the stack default.
 */

/** Column header → how it becomes part of the POST /form-sender/submit body. */
var FORM_SENDER_AWS_COLUMNS = {
    targeting_id: { payload: "targeting_id", type: "id", required: true },
    active: { payload: null, type: "boolean", note: "startFormSenderAwsAll() starts rows whose active is TRUE" },
    useAwsBatch: { payload: null, type: "boolean", note: "routing: column → USE_AWS_BATCH → off" },
    client_config: { payload: "client_config", type: "json", note: "or define formSenderAwsClientConfig(id, row)" },
    concurrent_workflow: { payload: "execution.run_total", type: "integer", min: 1, max: 10000 },
    batch_instance_count: { payload: "execution.run_total", type: "integer", min: 1, max: 10000 },
    shards: { payload: "execution.shards", type: "integer", min: 1, max: 10000 },
    use_extra_table: {
        payload: null,
        type: "boolean",
        onlyFalse:
            "the runner works from the one send_queue table and has no extra table (the API refuses " +
            "tables.use_extra_table true). Clear the cell or set FALSE, and put the targeting's companies in send_queue",
    },
    test_mode: { payload: "test_mode", type: "boolean" },
    batch_prefer_spot: { payload: "batch.prefer_spot", type: "boolean" },
    batch_allow_on_demand_fallback: { payload: "batch.allow_on_demand_fallback", type: "boolean" },
    batch_max_attempts: { payload: "batch.max_attempts", type: "integer", min: 1, max: 10 },
    batch_workers_per_workflow: { payload: "batch.workers_per_workflow", type: "integer", min: 1, max: 16 },
    // SubmitJob resourceRequirements of the job; the dispatcher refuses a size no instance type holds.
    batch_vcpus: { payload: "batch.vcpus", type: "integer", min: 1, max: 192 },
    batch_memory_mib: { payload: "batch.memory_mib", type: "integer", min: 512, max: 786432 },
    session_max_hours: { payload: "session_max_hours", type: "number", min: 0.01, max: 24 },
    send_end_time: { payload: "send_end_time", type: "time" },
};

/**
 * Seed 003 columns with no AWS Batch equivalent in this stack: a value there is refused (the row is
 * marked INVALID_SETTINGS), never accepted and ignored. Blank is fine.
 */
var FORM_SENDER_AWS_UNSUPPORTED_COLUMNS = {
    batch_max_parallelism:
        "AWS Batch has no per-job concurrency cap; the compute environment's maxvCpus (formSenderMaxVcpus) caps " +
        "every targeting together. Clear the cell",
    batch_machine_type:
        "Batch picks the instance from the stack's formSenderInstanceTypes; a job asks for a size. Clear the cell " +
        "and set batch_vcpus and batch_memory_mib",
    batch_vcpu_per_worker:
        'the vCPU a worker needs is measured once (README "Runner density"), not set per job. Clear the cell and ' +
        "set batch_vcpus for the whole job",
    batch_memory_per_worker_mb:
        'the memory a worker needs is measured once (README "Runner density"), not set per job. Clear the cell and ' +
        "set batch_memory_mib for the whole job",
    batch_memory_buffer_mb: "memory is set for the whole job. Clear the cell and set batch_memory_mib",
    batch_signed_url_ttl_hours: "the job reads its config from s3:// with its own role; no URL expires. Clear the cell",
    batch_signed_url_refresh_threshold_seconds:
        "the job reads its config from s3:// with its own role; no URL expires. Clear the cell",
};

/** Columns the package writes back to the targeting row (seed 000 §6.2(2): jobId, arraySize, submittedAt). */
var FORM_SENDER_AWS_WRITE_BACK = ["executionId", "jobId", "arraySize", "submittedAt", "awsStatus", "awsMessage"];

/** Statuses written to `awsStatus` besides the API's own (upper-cased: SUBMITTED, RUNNING, CANCELLED …). */
var FORM_SENDER_AWS_STATUS = {
    failedApiGateway: "FAILED_API_GATEWAY",
    invalidRequest: "INVALID_REQUEST",
    invalidSettings: "INVALID_SETTINGS",
    dryRunSubmitted: "DRY_RUN_SUBMITTED",
};

/**
 * Inline client configs up to this size; larger ones go through the upload route. Inline is preferred:
 * the config travels in the POST body (UrlFetchApp payloads may be far larger), while the upload route
 * fetches a presigned S3 URL that carries the Lambda's session token (1.3-2.0 KB) against UrlFetchApp's
 * 2,082-character URL limit (AWSBatchClient.gs refuses a longer one before sending). The client_config
 * schema caps message.body at 10,000 characters and every other field at a few hundred, so a valid config
 * stays below 64 KiB and always goes inline; the upload route only serves a config above this size.
 */
var FORM_SENDER_AWS_INLINE_CONFIG_MAX_BYTES = 256 * 1024;

/** Seed 003 §7: TRUE/true/1/yes are true, FALSE/false/0/no are false, blank is unset (case-insensitive). */
function formSenderAwsBoolean_(value, where) {
    if (value === true || value === false) return value;
    if (value === null || value === undefined) return null;
    var text = String(value).trim().toLowerCase();
    if (text === "") return null;
    if (["true", "1", "yes"].indexOf(text) >= 0) return true;
    if (["false", "0", "no"].indexOf(text) >= 0) return false;
    throw new Error(where + " is " + JSON.stringify(value) + "; use TRUE or FALSE (or leave it blank)");
}

/** True when the targeting goes to AWS Batch: its useAwsBatch column → USE_AWS_BATCH → off. */
function formSenderAwsRouted_(row, props) {
    var column = formSenderAwsBoolean_(row.useAwsBatch, "column useAwsBatch of targeting " + row.targeting_id);
    if (column !== null) return column;
    var global = formSenderAwsBoolean_(props.getProperty("USE_AWS_BATCH"), "Script Property USE_AWS_BATCH");
    return global === true;
}

function formSenderAwsNumber_(value, spec, where) {
    if (value === null || value === undefined || String(value).trim() === "") return null;
    var n = typeof value === "number" ? value : Number(String(value).trim());
    var integer = spec.type === "integer";
    if (!isFinite(n) || (integer && Math.floor(n) !== n) || n < spec.min || n > spec.max) {
        throw new Error(
            where +
                " is " +
                JSON.stringify(value) +
                "; use " +
                (integer ? "a whole number" : "a number") +
                " from " +
                spec.min +
                " to " +
                spec.max +
                " (or leave it blank)",
        );
    }
    return n;
}

/** HH:MM from a text cell or a time cell (Sheets hands time cells over as Date objects). */
function formSenderAwsTime_(value, where) {
    if (value === null || value === undefined || value === "") return null;
    var text =
        value instanceof Date || Object.prototype.toString.call(value) === "[object Date]"
            ? Utilities.formatDate(value, "Asia/Tokyo", "HH:mm")
            : String(value).trim();
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(text)) {
        throw new Error(where + " is " + JSON.stringify(String(value)) + "; use HH:MM in JST, e.g. 18:00");
    }
    return text;
}

function formSenderAwsSet_(target, dotted, value) {
    var parts = dotted.split(".");
    var at = target;
    for (var i = 0; i < parts.length - 1; i++) {
        at[parts[i]] = at[parts[i]] || {};
        at = at[parts[i]];
    }
    at[parts[parts.length - 1]] = value;
}

/**
 * The submit body for one targeting row (without idempotency key). Throws one Error listing every
 * bad cell, each naming the column, the value and the fix. `options.testMode` forces test_mode.
 * run_total = max(concurrent_workflow, batch_instance_count) as seed 003 §8 computes task_count.
 */
function formSenderAwsPayload_(row, options) {
    var id = String(row.targeting_id === undefined || row.targeting_id === null ? "" : row.targeting_id).trim();
    var problems = [];
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
        problems.push("column targeting_id is " + JSON.stringify(id) + "; use 1-64 characters of A-Z a-z 0-9 _ -");
    }
    var where = function (column) {
        return "column " + column + " of targeting " + id;
    };
    Object.keys(FORM_SENDER_AWS_UNSUPPORTED_COLUMNS).forEach(function (column) {
        var v = row[column];
        if (v !== undefined && v !== null && String(v).trim() !== "") {
            problems.push(
                where(column) + " is " + JSON.stringify(v) + ": " + FORM_SENDER_AWS_UNSUPPORTED_COLUMNS[column],
            );
        }
    });
    var body = { targeting_id: id, execution: { run_total: 1 } };
    var runTotal = 1;
    Object.keys(FORM_SENDER_AWS_COLUMNS).forEach(function (column) {
        var spec = FORM_SENDER_AWS_COLUMNS[column];
        if ((!spec.payload && !spec.onlyFalse) || column === "targeting_id" || column === "client_config") return;
        try {
            var value = null;
            if (spec.type === "boolean") value = formSenderAwsBoolean_(row[column], where(column));
            if (spec.onlyFalse && value === true) {
                problems.push(where(column) + " is " + JSON.stringify(row[column]) + ": " + spec.onlyFalse);
                return;
            } else if (spec.type === "integer" || spec.type === "number")
                value = formSenderAwsNumber_(row[column], spec, where(column));
            else if (spec.type === "time") value = formSenderAwsTime_(row[column], where(column));
            if (value === null || !spec.payload) return;
            if (spec.payload === "execution.run_total") runTotal = Math.max(runTotal, value);
            else formSenderAwsSet_(body, spec.payload, value);
        } catch (e) {
            problems.push(e.message);
        }
    });
    body.execution.run_total = runTotal;
    if (options && options.testMode) body.test_mode = true;
    var config = null;
    try {
        config = formSenderAwsClientConfig_(id, row);
    } catch (e) {
        problems.push(e.message);
    }
    if (problems.length) {
        var error = new Error(problems.join("; "));
        error.problems = problems;
        throw error;
    }
    var size = Utilities.newBlob(JSON.stringify(config)).getBytes().length;
    if (size <= FORM_SENDER_AWS_INLINE_CONFIG_MAX_BYTES) body.client_config = config;
    else body.client_config_object = uploadClientConfig(config, id);
    return body;
}

/** The client_config: the operator's formSenderAwsClientConfig(id, row) when defined, else the column. */
function formSenderAwsClientConfig_(id, row) {
    if (typeof formSenderAwsClientConfig === "function") return formSenderAwsClientConfig(id, row);
    var text = row.client_config;
    if (text === undefined || text === null || String(text).trim() === "") {
        throw new Error(
            "column client_config of targeting " +
                id +
                " is empty; put the client_config JSON there or define " +
                "formSenderAwsClientConfig(targetingId, row) in your own script",
        );
    }
    try {
        return JSON.parse(String(text));
    } catch (e) {
        throw new Error("column client_config of targeting " + id + " is not JSON (" + e.message + ")");
    }
}
