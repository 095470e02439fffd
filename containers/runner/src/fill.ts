/**
 * Fills and submits one contact form in a Playwright page: find the form (following a contact
 * link when needed), refuse on 営業お断り or a CAPTCHA, map and fill fields, submit, pass
 * confirmation pages and read the outcome.
 */
import type { Dialog, Frame, Page } from "playwright-core";
import { planForm, type FieldPlan } from "./classify";
import {
    CONTACT_LINK_PATTERN,
    chooseSubmitButton,
    buttonRole,
    findRefusal,
    isContactCandidate,
    judgeOutcome,
    looksLikeConfirmationPage,
    newLines,
    rankContactLinks,
    scoreForm,
} from "./detect";
import type { DomControl, DomDocument, DomElement, DomEventConstructor, DomForm } from "./dom";
import type { FormProfile } from "./profile";
import { scanExpression } from "./scan";
import type { FillResult, FilledField, FormInfo, FrameScan } from "./types";

// Globals of the page, for the evaluate callbacks below (see dom.ts for why they are local).
declare const document: DomDocument;
declare const InputEvent: DomEventConstructor;
declare const Event: DomEventConstructor;
declare const KeyboardEvent: DomEventConstructor;

export interface FillOptions {
    /** Fill every field but press no submit or confirm button (client_config `test_mode`). */
    readonly dryRun: boolean;
    /** Page loads. @default 20000 */
    readonly navigationTimeoutMs?: number;
    /** How long to wait for the site's answer after a submit click. @default 15000 */
    readonly outcomeTimeoutMs?: number;
    /** Contact links followed from the start page before giving up. @default 2 */
    readonly maxContactHops?: number;
    /**
     * Asked right before every submit/confirm click. Returning false abandons the form before
     * anything is sent (the job uses it to stop new submits during SIGTERM grace).
     */
    readonly mayClickSubmit?: () => boolean;
    /** Called once the final submit click has happened: the form can no longer be retried safely. */
    readonly onSubmitted?: () => void;
    /**
     * Awaited right before every click that may send (a confirm button may send too, when the site
     * has no confirmation page): the job records the durable send intent here. A rejection abandons
     * the form before the click, so nothing was sent.
     */
    readonly beforeSubmitClick?: () => Promise<void>;
}

const DEFAULT_NAV_TIMEOUT_MS = 20_000;
const DEFAULT_OUTCOME_TIMEOUT_MS = 15_000;
const MAX_CONFIRM_STEPS = 3;
const SCAN_EXPRESSION = scanExpression({ maxText: 30_000, contactLinkPattern: CONTACT_LINK_PATTERN });

interface FrameScanned {
    readonly frame: Frame;
    readonly scan: FrameScan;
}

interface Chosen {
    readonly frame: Frame;
    readonly scan: FrameScan;
    readonly form: FormInfo;
}

const dialogLogs = new WeakMap<Page, string[]>();

/**
 * Accepts every dialog the page opens and keeps its text: confirm("送信してよろしいですか？")
 * must be accepted for the post to happen, alert() often carries a validation error, and an
 * unanswered beforeunload prompt would block the next form on this (reused) page.
 */
function watchDialogs(page: Page): string[] {
    let log = dialogLogs.get(page);
    if (!log) {
        const messages: string[] = [];
        page.on("dialog", (d: Dialog) => {
            if (d.type() !== "beforeunload") {
                messages.push(d.message());
            }
            d.accept().catch(() => undefined);
        });
        dialogLogs.set(page, messages);
        log = messages;
    }
    return log;
}

/** Thrown when the job's shutdown gate closes before a submit: nothing was sent. */
export class SubmitAbandoned extends Error {}

function result(
    status: FillResult["status"],
    submitted: boolean,
    detail: string,
    fields: readonly FilledField[] = [],
    formUrl = "",
): FillResult {
    return { status, submitted, fields, detail, formUrl };
}

async function scanFrames(page: Page): Promise<FrameScanned[]> {
    const out: FrameScanned[] = [];
    for (const frame of page.frames()) {
        if (frame.isDetached()) {
            continue;
        }
        try {
            out.push({ frame, scan: await frame.evaluate<FrameScan>(SCAN_EXPRESSION) });
        } catch {
            // A frame that navigates or detaches mid-scan has nothing usable in it.
        }
    }
    return out;
}

function chooseForm(scans: readonly FrameScanned[]): Chosen | null {
    let best: Chosen | null = null;
    let bestScore = -Infinity;
    for (const s of scans) {
        for (const form of s.scan.forms) {
            if (!isContactCandidate(form)) {
                continue;
            }
            const score = scoreForm(form);
            if (score > bestScore) {
                best = { frame: s.frame, scan: s.scan, form };
                bestScore = score;
            }
        }
    }
    return best;
}

async function gotoPage(page: Page, url: string, timeout: number): Promise<string | null> {
    try {
        const resp = await page.goto(url, { waitUntil: "load", timeout });
        if (resp && resp.status() >= 400) {
            return `HTTP ${resp.status()} from ${new URL(url).pathname}`;
        }
        return null;
    } catch (err) {
        const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
        // A page whose 'load' never fires (a hanging tracker) is still usable once parsed.
        if (/Timeout/i.test(msg) && page.url() !== "about:blank") {
            return null;
        }
        return `navigation failed: ${msg}`;
    }
}

function describe(plans: readonly FieldPlan[]): FilledField[] {
    return plans
        .filter((p) => p.action.kind !== "skip")
        .map((p) => ({
            kind: p.part === "full" ? p.kind : `${p.kind}.${p.part}`,
            name: p.field.name || p.field.id,
            label: (p.field.label || p.field.groupLabel || p.field.placeholder).slice(0, 60),
        }));
}

/**
 * Enters every planned value in one round trip, the way a person's typing looks to page
 * scripts: focus, the native value setter (so React/Vue see it), input/change/keyup, blur.
 * Fields where that did not stick (a widget re-rendered them) get Playwright's own fill.
 */
async function applyPlan(frame: Frame, plans: readonly FieldPlan[]): Promise<void> {
    const actions = plans
        .filter((p) => p.action.kind !== "skip")
        .map((p) => ({
            fid: p.field.fid,
            kind: p.action.kind,
            value: p.action.kind === "fill" || p.action.kind === "select" ? p.action.value : "",
        }));
    const failed = await frame.evaluate((list) => {
        const bad: number[] = [];
        for (const a of list) {
            const el = document.querySelector(`[data-ops-fid="${a.fid}"]`) as DomControl | null;
            if (!el) {
                bad.push(a.fid);
                continue;
            }
            if (a.kind === "check") {
                // Styled checkboxes hide the real input; a DOM click toggles it and fires the
                // click/input/change events either way.
                const box = el;
                if (!box.checked) box.click();
                if (!box.checked) box.checked = true;
                continue;
            }
            el.focus({ preventScroll: true });
            const proto: unknown = Object.getPrototypeOf(el);
            const descriptor = Object.getOwnPropertyDescriptor(proto, "value");
            if (descriptor?.set) descriptor.set.call(el, a.value);
            else el.value = a.value;
            if (a.kind === "fill") {
                el.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertText", data: a.value }));
            } else {
                el.dispatchEvent(new Event("input", { bubbles: true }));
            }
            el.dispatchEvent(new Event("change", { bubbles: true }));
            el.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
            el.blur();
            if (el.value !== a.value) {
                bad.push(a.fid);
            }
        }
        return bad;
    }, actions);
    for (const fid of failed) {
        const action = actions.find((a) => a.fid === fid);
        const loc = frame.locator(`[data-ops-fid="${fid}"]`);
        if (action?.kind === "fill") {
            await loc.fill(action.value, { timeout: 3000 });
        } else if (action?.kind === "select") {
            await loc.selectOption({ value: action.value }, { timeout: 3000 });
        }
    }
}

/** Fields the browser's own validation rejects (required, type, pattern), by scanner id. */
async function invalidFieldIds(frame: Frame, formId: number): Promise<Array<{ fid: number; message: string }>> {
    return frame.evaluate((id) => {
        const form = document.querySelector(`[data-ops-form="${id}"]`) as DomForm | null;
        if (!form || form.tagName !== "FORM" || form.noValidate || form.checkValidity()) {
            return [];
        }
        return (Array.from(form.elements) as DomControl[])
            .filter((el) => el.willValidate && !el.checkValidity())
            .map((el) => ({ fid: Number(el.getAttribute("data-ops-fid") ?? "0"), message: el.validationMessage }));
    }, formId);
}

async function bodyText(frame: Frame): Promise<string> {
    return frame.evaluate(() => (document.body ? document.body.innerText : ""));
}

type StepOutcome =
    | { kind: "success"; text: string }
    | { kind: "error"; text: string }
    | { kind: "confirm"; chosen: Chosen }
    | { kind: "navigated-no-text"; url: string }
    | { kind: "form-again" }
    | { kind: "unrecognised-step" }
    | { kind: "timeout" };

/**
 * Clicks a button and waits for the site's answer: a navigation (then reads the new page), or
 * new text in place (AJAX forms, inline validation), or a dialog.
 */
async function clickAndObserve(
    page: Page,
    chosen: Chosen,
    bid: number,
    outcomeTimeoutMs: number,
    ownValues: readonly string[],
): Promise<StepOutcome> {
    const { frame } = chosen;
    // Confirmation pages echo what we typed; a sales message saying "ありがとうございます" must
    // not read as the site's thanks, so lines carrying our own values are ignored.
    const notOurs = (lines: string[]) =>
        lines.filter(
            (l) => !ownValues.some((v) => (v.length >= 8 && l.includes(v)) || (l.length >= 15 && v.includes(l))),
        );
    const before = await bodyText(frame).catch(() => "");
    const mainBefore = frame === page.mainFrame() ? before : await bodyText(page.mainFrame()).catch(() => "");
    let navigated = false;
    const onNav = (f: Frame) => {
        if (f === frame || f === page.mainFrame()) {
            navigated = true;
        }
    };
    const dialogLog = watchDialogs(page);
    const seenDialogs = dialogLog.length;
    const dialogs = {
        get all(): string[] {
            return dialogLog.slice(seenDialogs);
        },
    };
    page.on("framenavigated", onNav);
    try {
        const loc = frame.locator(`[data-ops-bid="${bid}"]`);
        try {
            await loc.click({ timeout: 3000, noWaitAfter: true });
        } catch {
            // Covered or animating buttons fail Playwright's checks; a DOM click still submits.
            // Skipped when the click got through after all (the page is already navigating).
            if (!navigated) {
                await loc
                    .evaluate((el) => (el as DomElement).click(), undefined, { timeout: 2000 })
                    .catch(() => undefined);
            }
        }
        const deadline = Date.now() + outcomeTimeoutMs;
        let stableSince = 0;
        let lastText = before;
        while (Date.now() < deadline) {
            if (navigated) {
                break;
            }
            let text: string;
            try {
                text = await bodyText(frame);
            } catch {
                // The document is being replaced: a navigation is under way.
                await page.waitForTimeout(50);
                continue;
            }
            const appeared = [...notOurs(newLines(before, text)), ...dialogs.all];
            const judged = judgeOutcome(appeared);
            if (judged.kind === "success" || judged.kind === "error") {
                return judged;
            }
            if (appeared.length > 0 && looksLikeConfirmationPage(appeared.join("\n"))) {
                // A single-page confirmation step: wait for the DOM to settle, then rescan.
                if (text === lastText) {
                    if (stableSince && Date.now() - stableSince > 200) {
                        const scans = await scanFrames(page);
                        const next = chooseConfirmation(scans, frame);
                        if (next) {
                            return { kind: "confirm", chosen: next };
                        }
                    }
                    stableSince ||= Date.now();
                } else {
                    stableSince = 0;
                }
            }
            lastText = text;
            await page.waitForTimeout(60);
        }
        if (!navigated) {
            return { kind: "timeout" };
        }
        await page.waitForLoadState("domcontentloaded", { timeout: outcomeTimeoutMs }).catch(() => undefined);
        await frame.waitForLoadState("load", { timeout: 5000 }).catch(() => undefined);
        const scans = await scanFrames(page);
        const afterText = scans.map((s) => s.scan.text).join("\n");
        const appeared = [...notOurs(newLines(`${mainBefore}\n${before}`, afterText)), ...dialogs.all];
        // A confirmation step comes first: its static text may thank the visitor already.
        if (looksLikeConfirmationPage(appeared.join("\n"))) {
            const next = chooseConfirmation(scans, null);
            if (next) {
                return { kind: "confirm", chosen: next };
            }
        }
        const judged = judgeOutcome(appeared);
        if (judged.kind === "success" || judged.kind === "error") {
            return judged;
        }
        if (chooseForm(scans)) {
            return { kind: "form-again" };
        }
        // A page that still offers a send button is a step we did not understand, not a result.
        if (scans.some((s) => s.scan.forms.some((f) => f.buttons.some((b) => b.visible && buttonRole(b) === "send")))) {
            return { kind: "unrecognised-step" };
        }
        return { kind: "navigated-no-text", url: page.url() };
    } finally {
        page.off("framenavigated", onNav);
    }
}

/** On a confirmation step, the form whose send button finishes the submission. */
function chooseConfirmation(scans: readonly FrameScanned[], onlyFrame: Frame | null): Chosen | null {
    for (const s of scans) {
        if (onlyFrame && s.frame !== onlyFrame) {
            continue;
        }
        for (const form of s.scan.forms) {
            const send = form.buttons.filter((b) => b.visible && buttonRole(b) === "send");
            const editableEmpty = form.fields.filter(
                (f) =>
                    f.visible &&
                    f.editable &&
                    f.tag !== "select" &&
                    f.type !== "checkbox" &&
                    f.type !== "radio" &&
                    f.value === "",
            );
            if (send.length > 0 && editableEmpty.length === 0) {
                return { frame: s.frame, scan: s.scan, form: { ...form, buttons: send } };
            }
        }
    }
    return null;
}

/** Fills and submits the contact form reachable from `url`. Never throws for site problems. */
export async function fillContactForm(
    page: Page,
    url: string,
    profile: FormProfile,
    opts: FillOptions,
): Promise<FillResult> {
    watchDialogs(page);
    const navTimeout = opts.navigationTimeoutMs ?? DEFAULT_NAV_TIMEOUT_MS;
    const outcomeTimeout = opts.outcomeTimeoutMs ?? DEFAULT_OUTCOME_TIMEOUT_MS;
    const maxHops = opts.maxContactHops ?? 2;
    const navError = await gotoPage(page, url, navTimeout);
    if (navError) {
        return result("failed", false, navError);
    }
    const visited = new Set<string>();
    let chosen: Chosen | null = null;
    let scans: FrameScanned[] = [];
    for (let hop = 0; hop <= maxHops; hop++) {
        scans = await scanFrames(page);
        let refusal = findRefusal(scans.map((s) => s.scan.text).join("\n"));
        if (refusal) {
            return result("skipped_refusal", false, `page declines sales contact: 「${refusal}」`, [], page.url());
        }
        chosen = chooseForm(scans);
        const hasLinks =
            rankContactLinks(
                scans.flatMap((s) => s.scan.links),
                page.url(),
                new Set([...visited, page.url().replace(/#.*$/, "")]),
            ).length > 0;
        if (!chosen && !(hasLinks && hop < maxHops)) {
            // Forms injected by scripts after 'load' (embedded form services) need the network to
            // settle; a page with a contact link to follow is not worth that wait.
            await page.waitForLoadState("networkidle", { timeout: 3000 }).catch(() => undefined);
            scans = await scanFrames(page);
            refusal = findRefusal(scans.map((s) => s.scan.text).join("\n"));
            if (refusal) {
                return result("skipped_refusal", false, `page declines sales contact: 「${refusal}」`, [], page.url());
            }
            chosen = chooseForm(scans);
        }
        if (chosen) {
            break;
        }
        visited.add(page.url().replace(/#.*$/, ""));
        const links = rankContactLinks(
            scans.flatMap((s) => s.scan.links),
            page.url(),
            visited,
        );
        if (links.length === 0 || hop === maxHops) {
            break;
        }
        const err = await gotoPage(page, links[0].href, navTimeout);
        if (err) {
            return result("failed", false, err);
        }
    }
    if (!chosen) {
        return result("no_form", false, "no contact form on the page or behind its contact links", [], page.url());
    }
    const formUrl = chosen.scan.url;
    const captcha = [...new Set(scans.flatMap((s) => s.scan.captcha))];
    if (captcha.length > 0) {
        return result("skipped_captcha", false, `form is protected by ${captcha.join(", ")}`, [], formUrl);
    }

    const plans = planForm(chosen.form, profile, chosen.scan.lang);
    await applyPlan(chosen.frame, plans);
    const fields = describe(plans);
    const missingRequired = plans
        .filter(
            (p) =>
                p.action.kind === "skip" &&
                p.field.required &&
                p.kind !== "honeypot" &&
                p.field.type !== "radio" &&
                p.field.type !== "checkbox",
        )
        .map((p) => p.field.label || p.field.groupLabel || p.field.name);
    if (opts.dryRun) {
        const note = missingRequired.length > 0 ? `; required fields left empty: ${missingRequired.join(", ")}` : "";
        return result(
            "dry_run",
            false,
            `filled ${fields.length} fields, not submitted (test mode)${note}`,
            fields,
            formUrl,
        );
    }
    const invalid = (await invalidFieldIds(chosen.frame, chosen.form.formId)).map(({ fid, message }) => {
        const f = chosen?.form.fields.find((x) => x.fid === fid);
        const label = f ? f.label || f.groupLabel || f.placeholder || f.name : `field ${fid}`;
        return `${label.slice(0, 40)} (${message})`;
    });
    if (invalid.length > 0) {
        return result("failed", false, `validation: ${invalid.join("; ")}`.slice(0, 500), fields, formUrl);
    }

    const ownValues = plans.flatMap((p) =>
        p.action.kind === "fill" && (p.kind === "message" || p.kind === "subject")
            ? p.action.value
                  .split(/\r?\n/)
                  .map((l) => l.trim())
                  .filter((l) => l.length >= 8)
            : [],
    );
    let submitted = false;
    let current: Chosen = chosen;
    for (let step = 0; step < MAX_CONFIRM_STEPS; step++) {
        // A script-driven form may keep its send button outside the <form>: fall back to the
        // page's loose buttons, but only ones that say they confirm or send.
        const loose = current.scan.forms
            .filter((f) => f.pseudo && f.formId !== current.form.formId)
            .flatMap((f) => f.buttons);
        const button =
            chooseSubmitButton(current.form.buttons) ??
            (step === 0 ? chooseSubmitButton(loose.filter((b) => ["confirm", "send"].includes(buttonRole(b)))) : null);
        if (!button) {
            return result("failed", submitted, "no submit button in the form", fields, formUrl);
        }
        if (opts.mayClickSubmit && !opts.mayClickSubmit()) {
            throw new SubmitAbandoned("shutting down before submit");
        }
        await opts.beforeSubmitClick?.();
        const final = button.role !== "confirm";
        if (final) {
            submitted = true;
            opts.onSubmitted?.();
        }
        const outcome = await clickAndObserve(page, current, button.button.bid, outcomeTimeout, ownValues);
        switch (outcome.kind) {
            case "success":
                if (!submitted) {
                    opts.onSubmitted?.();
                }
                return result("sent", true, `confirmed: 「${outcome.text}」`, fields, formUrl);
            case "error":
                return result("failed", submitted, `site reported: ${outcome.text}`, fields, formUrl);
            case "confirm":
                current = outcome.chosen;
                continue;
            case "form-again":
                return result("failed", submitted, "the form was shown again without a confirmation", fields, formUrl);
            case "unrecognised-step":
                return result(
                    "failed",
                    submitted,
                    "after submitting, the site showed another step with a send button but no confirmation wording",
                    fields,
                    formUrl,
                );
            case "navigated-no-text":
                if (!submitted) {
                    opts.onSubmitted?.();
                }
                return result(
                    "sent",
                    true,
                    `navigated to ${new URL(outcome.url).pathname} after submit`,
                    fields,
                    formUrl,
                );
            case "timeout":
                return result(
                    "failed",
                    submitted,
                    `no answer from the site within ${outcomeTimeout} ms of submitting`,
                    fields,
                    formUrl,
                );
        }
    }
    return result("failed", submitted, `more than ${MAX_CONFIRM_STEPS} confirmation steps`, fields, formUrl);
}
