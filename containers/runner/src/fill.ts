/**
 * Fills and submits one contact form in a Playwright page: find the form (following a contact
 * link when needed), refuse on 営業お断り or a CAPTCHA, map and fill fields, submit, pass
 * confirmation pages and read the outcome.
 */
import type { Dialog, Frame, Page } from "playwright-core";
import { NO_FITTING_OPTION, classifyTextField, planForm, type FieldKind, type FieldPlan } from "./classify";
import {
    CONTACT_LINK_PATTERN,
    chooseSubmitButton,
    buttonRole,
    correctValue,
    namedCaption,
    isContactCandidate,
    judgeOutcome,
    looksLikeConfirmationPage,
    newLines,
    rankContactLinks,
    readRefusal,
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
/** Longest wait for a page to settle after it loaded (scripts still fetching or rendering). */
const SETTLE_AFTER_LOAD_MS = 6_000;
/** Longest wait for the page to settle right before the final click (late notices). */
const SETTLE_BEFORE_SEND_MS = 2_500;
/** DOM unchanged this long, no request or short timer pending: the page has settled. */
const QUIET_MS = 300;
const DEFAULT_OUTCOME_TIMEOUT_MS = 15_000;
const MAX_CONFIRM_STEPS = 3;
/** Wizard steps (hidden fields revealed by a "next" button) followed at most. */
const MAX_WIZARD_STEPS = 4;
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

/**
 * Installed in every document before its scripts run: counts the page's fetch/XHR requests in flight and
 * its pending short timers (≤ 3 s: a widget that renders "in a moment"), and notes the time of the last
 * DOM change. A page has settled when none is pending and the DOM has been quiet for QUIET_MS: evidence
 * that scripts are done, instead of a fixed sleep. Long timers (carousels) and animation frames do not count.
 */
const SETTLE_TRACKER = `(() => {
  if (window.__opsSettle) return;
  const st = { timers: new Set(), requests: 0, last: Date.now() };
  window.__opsSettle = st;
  const setT = window.setTimeout, clearT = window.clearTimeout;
  window.setTimeout = function (fn, ms, ...rest) {
    if (typeof fn !== "function" || Number(ms) > 3000) return setT.call(window, fn, ms, ...rest);
    let id;
    id = setT.call(window, function (...a) { st.timers.delete(id); return fn.apply(this, a); }, ms, ...rest);
    st.timers.add(id);
    return id;
  };
  window.clearTimeout = function (id) { st.timers.delete(id); return clearT.call(window, id); };
  const done = () => { st.requests--; st.last = Date.now(); };
  if (window.fetch) {
    const f = window.fetch;
    window.fetch = function (...a) { st.requests++; return f.apply(this, a).finally(done); };
  }
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...a) {
    st.requests++; this.addEventListener("loadend", done); return send.apply(this, a);
  };
  new MutationObserver(() => { st.last = Date.now(); })
    .observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
})()`;

/** One frame's activity: busy (requests/short timers/loading) and ms since the last DOM change. */
const SETTLE_STATE = `(() => {
  const st = window.__opsSettle;
  if (!st) return { busy: false, quiet: 1e9 };
  const busy = st.timers.size > 0 || st.requests > 0 || document.readyState === "loading";
  return { busy, quiet: Date.now() - st.last };
})()`;

const trackedPages = new WeakSet<Page>();

async function trackSettling(page: Page): Promise<void> {
    if (!trackedPages.has(page)) {
        trackedPages.add(page);
        await page.addInitScript(SETTLE_TRACKER);
    }
}

/** Waits until every frame has settled (see SETTLE_TRACKER), at most `capMs`; true when it did. */
async function settle(page: Page, capMs: number): Promise<boolean> {
    const deadline = Date.now() + capMs;
    for (;;) {
        const states = await Promise.all(
            page
                .frames()
                .filter((f) => !f.isDetached())
                .map((f) =>
                    f
                        .evaluate<{ busy: boolean; quiet: number }>(SETTLE_STATE)
                        .catch(() => ({ busy: false, quiet: 1e9 })),
                ),
        );
        if (states.every((x) => !x.busy && x.quiet >= QUIET_MS)) {
            return true;
        }
        if (Date.now() >= deadline) {
            return false;
        }
        await page.waitForTimeout(100);
    }
}

/**
 * Presses "accept" on a cookie wall: a visible box that talks about cookies, holds no form fields, and
 * has an accept button. Sites keep their forms disabled (or covered) until then. Returns whether one was.
 */
async function dismissCookieWall(page: Page): Promise<boolean> {
    const clicked = await page
        .mainFrame()
        .evaluate(() => {
            const boxes = Array.from(
                document.querySelectorAll(
                    [
                        "[id*=cookie i]",
                        "[class*=cookie i]",
                        "[id*=consent i]",
                        "[class*=consent i]",
                        "[id*=gdpr i]",
                        "[class*=gdpr i]",
                        "[class*=cmp-]",
                        "[aria-label*=cookie i]",
                        "[aria-label*=クッキー]",
                    ].join(", "),
                ),
            );
            for (const box of boxes) {
                const text = box.innerText ?? "";
                if (!/cookie|クッキー/i.test(text) || box.querySelector("input:not([type=hidden]), select, textarea")) {
                    continue;
                }
                const buttons = Array.from(box.querySelectorAll("button, [role=button], a, input[type=button]"));
                const accept = buttons.find((b) => {
                    const t = (b.innerText || b.getAttribute("value") || b.getAttribute("aria-label") || "").trim();
                    return (
                        // "ok" as a word only: as a substring it is in "Cookie 設定" and "Cookieを拒否".
                        /同意|受け入れ|受入|accept|agree|allow|許可|了解|承諾|\bok\b|got it/i.test(t) &&
                        !/拒否|reject|decline|設定|settings|詳細|manage/i.test(t)
                    );
                });
                const r = accept?.getBoundingClientRect();
                if (accept && r && r.width > 0 && r.height > 0) {
                    accept.click();
                    return true;
                }
            }
            return false;
        })
        .catch(() => false);
    return clicked;
}

/**
 * Clicks a visible control that says "contact" but goes nowhere (a button, an in-page anchor, a
 * dialog/modal toggle): the form it shows lives in a dialog. `tried` holds the texts already pressed.
 */
async function openContactDialog(page: Page, tried: Set<string>): Promise<boolean> {
    const candidates = await page
        .mainFrame()
        .evaluate(
            ({ pattern, skip }) => {
                const re = new RegExp(pattern, "i");
                const els = Array.from(
                    document.querySelectorAll(
                        "button, [role=button], a[href^='#'], a[href^='javascript'], [aria-haspopup], " +
                            "[data-toggle=modal], [data-bs-toggle=modal], [data-micromodal-trigger], [aria-controls]",
                    ),
                );
                const out: Array<{ i: number; text: string }> = [];
                els.forEach((el, i) => {
                    const text = (el.innerText || el.getAttribute("aria-label") || el.getAttribute("title") || "")
                        .replace(/\s+/g, " ")
                        .trim();
                    const r = el.getBoundingClientRect();
                    const submitsForm = el.closest("form") && /^(submit|)$/i.test(el.getAttribute("type") ?? "");
                    if (!text || text.length > 40 || !re.test(text) || skip.includes(text) || submitsForm) return;
                    if (r.width < 2 || r.height < 2) return;
                    el.setAttribute("data-ops-opener", String(i));
                    out.push({ i, text });
                });
                return out;
            },
            { pattern: CONTACT_LINK_PATTERN, skip: [...tried] },
        )
        .catch(() => [] as Array<{ i: number; text: string }>);
    const next = candidates[0];
    if (!next) {
        return false;
    }
    tried.add(next.text);
    await page
        .locator(`[data-ops-opener="${next.i}"]`)
        .first()
        .click({ timeout: 3000, noWaitAfter: true })
        .catch(() => undefined);
    return true;
}

/** The page's refusal reading (text, shadow roots, image alt/title texts) over every frame. */
function pageRefusal(scans: readonly FrameScanned[]): ReturnType<typeof readRefusal> {
    return readRefusal(scans.map((s) => `${s.scan.text}\n${s.scan.imageText}`).join("\n"));
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
            if (!isContactCandidate(form, s.scan.title)) {
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
async function applyPlan(frame: Frame, plans: readonly FieldPlan[]): Promise<string[]> {
    // ARIA comboboxes are opened and their option clicked, after the rest (pickComboOption); an editable one is
    // typed into and its option picked (typeAndPick), also when its list showed nothing before typing but the
    // question is a prefecture or country, whose value must be one of the list's options.
    const picked = (p: FieldPlan) =>
        (p.field.ariaRole === "combobox" && p.action.kind === "select") ||
        (p.field.comboInput === true && p.action.kind === "fill" && PICK_TEXT_KINDS.has(p.kind));
    const combos = plans.filter(picked);
    const actions = plans
        .filter((p) => p.action.kind !== "skip" && p.field.ariaRole !== "combobox" && !picked(p))
        .map((p) => ({
            fid: p.field.fid,
            kind: p.action.kind,
            value: p.action.kind === "fill" || p.action.kind === "select" ? p.action.value : "",
        }));
    const apply = (list: typeof actions) =>
        frame.evaluate((items) => {
            /** The element with scanner id `fid`, in the document or any open shadow root. */
            const find = (fid: number): DomControl | null => {
                const sel = `[data-ops-fid="${fid}"]`;
                const walk = (root: {
                    querySelector(s: string): DomElement | null;
                    querySelectorAll(s: string): ArrayLike<DomElement>;
                }): DomElement | null => {
                    const hit = root.querySelector(sel);
                    if (hit) return hit;
                    for (const el of Array.from(root.querySelectorAll("*"))) {
                        const found = el.shadowRoot ? walk(el.shadowRoot) : null;
                        if (found) return found;
                    }
                    return null;
                };
                return walk(document) as DomControl | null;
            };
            const bad: number[] = [];
            for (const a of items) {
                const el = find(a.fid);
                if (!el) {
                    bad.push(a.fid);
                    continue;
                }
                if (a.kind === "check") {
                    if (el.tagName !== "INPUT") {
                        // An ARIA radio/checkbox: a click is what its script listens to.
                        if (el.getAttribute("aria-checked") !== "true") el.click();
                        if (el.getAttribute("aria-checked") !== "true") bad.push(a.fid);
                        continue;
                    }
                    if (el.disabled) {
                        // Locked until something else happens (a policy read to its end): never forced.
                        bad.push(a.fid);
                        continue;
                    }
                    // Styled checkboxes hide the real input; a DOM click toggles it and fires the
                    // click/input/change events either way.
                    if (!el.checked) el.click();
                    if (!el.checked) el.checked = true;
                    continue;
                }
                fillOne(el, a);
            }
            return bad;
            function fillOne(el: DomControl, a: { fid: number; kind: string; value: string }): void {
                el.focus({ preventScroll: true });
                const proto: unknown = Object.getPrototypeOf(el);
                const descriptor = Object.getOwnPropertyDescriptor(proto, "value");
                if (descriptor?.set) descriptor.set.call(el, a.value);
                else el.value = a.value;
                // composed: the events leave a shadow root, as a person's typing does.
                if (a.kind === "fill") {
                    el.dispatchEvent(
                        new InputEvent("input", {
                            bubbles: true,
                            composed: true,
                            inputType: "insertText",
                            data: a.value,
                        }),
                    );
                } else {
                    el.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
                }
                el.dispatchEvent(new Event("change", { bubbles: true }));
                el.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true, composed: true }));
                el.blur();
                if (el.value !== a.value) {
                    bad.push(a.fid);
                }
            }
        }, list);
    const failed = await apply(actions);
    const locked = actions.filter((a) => a.kind === "check" && failed.includes(a.fid));
    if (locked.length > 0) {
        // Consent boxes that unlock once the policy above them is scrolled to its end: scroll every
        // scrollable box of the page to its end, let its scroll handlers run, and try once more.
        await frame
            .evaluate(() => {
                for (const el of Array.from(document.querySelectorAll("div, section, article, p, textarea, iframe"))) {
                    const box = el as DomElement & { scrollHeight: number; clientHeight: number; scrollTop: number };
                    if (box.scrollHeight > box.clientHeight + 4) {
                        box.scrollTop = box.scrollHeight;
                        box.dispatchEvent(new Event("scroll"));
                    }
                }
            })
            .catch(() => undefined);
        await frame.page().waitForTimeout(150);
        await apply(locked);
    }
    /** Comboboxes whose widget did not keep the planned option: the form must not be sent. */
    const unkept: string[] = [];
    for (const p of combos) {
        const text = p.action.kind === "select" ? p.action.text : p.action.kind === "fill" ? p.action.value : null;
        if (text === null) continue;
        const value = p.action.kind === "select" ? p.action.value : text;
        const kept = p.field.comboInput
            ? await typeAndPick(frame, p.field.fid, text, value)
            : await pickComboOption(frame, p.field.fid, text);
        if (!kept && p.field.comboInput) {
            const label = (p.field.label || p.field.groupLabel || p.field.name).slice(0, 40);
            unkept.push(`「${label}」 (no option 「${text}」 kept)`);
        }
    }
    for (const fid of failed) {
        const action = actions.find((a) => a.fid === fid);
        const loc = frame.locator(`[data-ops-fid="${fid}"]`);
        if (action?.kind === "fill") {
            await loc.fill(action.value, { timeout: 3000 });
        } else if (action?.kind === "select") {
            await loc.selectOption({ value: action.value }, { timeout: 3000 });
        }
    }
    return unkept;
}

/**
 * In-page source: `(fid) => Element[]`, the role=option elements combobox `fid` shows now: in the elements its
 * aria-controls/aria-owns name (the APG examples, Radix), else in any listbox shown on the page (MUI renders
 * its list in a portal at the end of <body>). Given as source, evaluated with a JSON argument.
 */
const COMBO_OPTIONS_SOURCE = `(fid) => {
  const combo = document.querySelector('[data-ops-fid="' + fid + '"]');
  if (!combo) return [];
  const ids = ((combo.getAttribute("aria-controls") || "") + " " + (combo.getAttribute("aria-owns") || ""))
    .split(/\\s+/).filter(Boolean);
  let opts = [];
  for (const id of ids) {
    const t = document.getElementById(id);
    if (t) opts.push(...(t.matches("[role=option]") ? [t] : Array.from(t.querySelectorAll("[role=option]"))));
  }
  if (opts.length === 0) {
    for (const lb of Array.from(document.querySelectorAll("[role=listbox]"))) {
      const r = lb.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) opts.push(...Array.from(lb.querySelectorAll("[role=option]")));
    }
  }
  return opts;
}`;

/** In-page: notes the options combobox `fid` shows on it (data-ops-options); true once there are any. */
const noteComboOptions = (fid: number) => `(() => {
  const opts = (${COMBO_OPTIONS_SOURCE})(${fid});
  if (opts.length === 0) return false;
  const list = opts.map((o) => {
    const text = (o.textContent || "").replace(/\\s+/g, " ").trim();
    return { value: o.getAttribute("data-value") ?? text, text, disabled: o.getAttribute("aria-disabled") === "true" };
  });
  document.querySelector('[data-ops-fid="${fid}"]').setAttribute("data-ops-options", JSON.stringify(list));
  return true;
})()`;

/** In-page: marks (data-ops-pick) the option of combobox `fid` whose text is `text`; true once one is shown. */
const markComboOption = (fid: number, text: string) => `(() => {
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim();
  const hit = (${COMBO_OPTIONS_SOURCE})(${fid}).find((o) => norm(o.textContent) === norm(${JSON.stringify(text)}));
  if (!hit) return false;
  document.querySelectorAll("[data-ops-pick]").forEach((o) => o.removeAttribute("data-ops-pick"));
  hit.setAttribute("data-ops-pick", "1");
  return true;
})()`;

/** Closes a combobox's popup as a person would (Escape), clicking it again if it stays open. */
async function closeCombo(frame: Frame, fid: number): Promise<void> {
    await frame
        .page()
        .keyboard.press("Escape")
        .catch(() => undefined);
    const combo = frame.locator(`[data-ops-fid="${fid}"]`);
    if ((await combo.getAttribute("aria-expanded", { timeout: 1000 }).catch(() => null)) === "true") {
        await combo.click({ timeout: 2000 }).catch(() => undefined);
    }
}

/**
 * Comboboxes whose listbox is rendered only while open have no options to plan with: each is opened once,
 * its options noted on it (`data-ops-options`, which the scanner reads), and closed. True when any was.
 */
async function discoverComboOptions(chosen: Chosen): Promise<boolean> {
    const { frame } = chosen;
    const closed = chosen.form.fields.filter(
        (f) =>
            f.options.length === 0 &&
            f.visible &&
            f.editable &&
            (f.ariaRole === "combobox" ||
                // An editable combobox is opened only when its question may ask for a choice: a company or e-mail
                // field with suggestions stays free text (its suggestions are never planned as options).
                (f.comboInput === true && f.tag === "input" && !FREE_TEXT_KINDS.has(classifyTextField(f).kind))),
    );
    for (const f of closed) {
        await frame
            .locator(`[data-ops-fid="${f.fid}"]`)
            .click({ timeout: 3000 })
            .catch(() => undefined);
        await frame
            .waitForFunction(noteComboOptions(f.fid), undefined, { timeout: 3000, polling: 100 })
            .catch(() => undefined);
        await closeCombo(frame, f.fid);
    }
    return closed.length > 0;
}

/** Opens a combobox and clicks the option whose text is `text`, as a person picks from the list. */
async function pickComboOption(frame: Frame, fid: number, text: string): Promise<boolean> {
    const combo = frame.locator(`[data-ops-fid="${fid}"]`);
    await combo.click({ timeout: 3000 }).catch(() => undefined);
    const marked = await frame
        .waitForFunction(markComboOption(fid, text), undefined, { timeout: 3000, polling: 100 })
        .then(() => true)
        .catch(() => false);
    if (!marked) {
        await closeCombo(frame, fid);
        return false;
    }
    await frame
        .locator("[data-ops-pick]")
        .first()
        .click({ timeout: 3000 })
        .catch(() => undefined);
    if ((await combo.getAttribute("aria-expanded", { timeout: 1000 }).catch(() => null)) === "true") {
        await closeCombo(frame, fid);
    }
    return true;
}

/** A required combobox: marked required, or 必須/required/* in its label. */
function comboRequired(p: FieldPlan): boolean {
    return p.field.required || /必須|required|\*/i.test(`${p.field.label} ${p.field.groupLabel}`);
}

/**
 * Why the form must not be sent because of its editable comboboxes, or null: one whose widget kept no option (none
 * read the wanted text, or it dropped the pick; `unkept` from applyPlan), or a required one with no option to pick.
 * The site would otherwise get an empty or unknown choice.
 */
function unpickedCombos(unkept: readonly string[], plans: readonly FieldPlan[]): string | null {
    const skipped = plans.flatMap((p) =>
        p.field.comboInput && p.action.kind === "skip" && comboRequired(p)
            ? [`「${(p.field.label || p.field.groupLabel || p.field.name).slice(0, 40)}」 (${p.action.reason})`]
            : [],
    );
    const all = [...unkept, ...skipped];
    return all.length > 0 ? `combobox ${all.join(", ")} kept no option from its list, so the form was not sent` : null;
}

/** Questions an editable combobox answers only with one of its options, even when its list opens only on typing. */
const PICK_TEXT_KINDS: ReadonlySet<FieldKind> = new Set<FieldKind>(["prefecture", "country"]);

/**
 * What a person types as free text: an editable combobox of these kinds keeps the typed value and its suggestions
 * are never picked (a company-name search offering look-alike companies).
 */
const FREE_TEXT_KINDS: ReadonlySet<FieldKind> = new Set<FieldKind>([
    "company",
    "company_kana",
    "department",
    "position",
    "name",
    "name_kana",
    "email",
    "email_confirm",
    "phone",
    "fax",
    "postal",
    "city",
    "address",
    "building",
    "url",
    "password",
    "search",
    "honeypot",
]);

/**
 * In-page: true once editable combobox `fid` shows `text` (or `value`) as its choice after losing focus: its own
 * value (MUI Autocomplete keeps the label in the input), a hidden input of its widget holding it (react-select's
 * `<input type=hidden name>` after the control), or a visible leaf of its widget reading it (react-select's
 * single-value) outside any listbox. Looks at most 5 ancestors up, the widget's own container.
 */
const comboKept = (fid: number, text: string, value: string) => `(() => {
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim();
  const want = [norm(${JSON.stringify(text)}), norm(${JSON.stringify(value)})];
  const el = document.querySelector('[data-ops-fid="${fid}"]');
  if (!el) return false;
  if (want.includes(norm(el.value))) return true;
  let box = el.parentElement;
  for (let i = 0; i < 5 && box && box !== document.body; i++, box = box.parentElement) {
    const hidden = Array.from(box.querySelectorAll("input[type=hidden]"));
    if (hidden.some((h) => norm(h.value) && want.includes(norm(h.value)))) return true;
    const leaf = Array.from(box.querySelectorAll("*")).find((n) =>
      n.children.length === 0 && !n.closest("[role=listbox], [role=option], label") &&
      norm(n.textContent) === want[0] && n.getClientRects().length > 0);
    if (leaf) return true;
  }
  return false;
})()`;

/**
 * Picks option `text` of an editable combobox as a person does: types the text (then, if no option reads it, its
 * first two characters), waits for the option, picks it with ArrowDown/Enter when the widget tracks the active
 * option in aria-activedescendant (react-select 5.7+, Headless UI, MUI with autoHighlight) or else by a click, and
 * checks after blur that the widget kept it (comboKept). False, with the typed text cleared, when no option reads
 * `text` or the widget dropped it: the caller then fails the form before any submit click.
 */
async function typeAndPick(frame: Frame, fid: number, text: string, value: string): Promise<boolean> {
    const input = frame.locator(`[data-ops-fid="${fid}"]`);
    let marked = false;
    for (const typed of [...new Set([text, text.slice(0, 2)])]) {
        await input.click({ timeout: 3000 }).catch(() => undefined);
        await input.fill(typed, { timeout: 3000 }).catch(() => undefined);
        marked = await frame
            .waitForFunction(markComboOption(fid, text), undefined, { timeout: 3000, polling: 100 })
            .then(() => true)
            .catch(() => false);
        if (marked) break;
    }
    if (!marked) {
        await input.fill("", { timeout: 3000 }).catch(() => undefined);
        await closeCombo(frame, fid);
        return false;
    }
    const option = frame.locator("[data-ops-pick]").first();
    const optionId = await option.getAttribute("id", { timeout: 1000 }).catch(() => null);
    const active = () => input.getAttribute("aria-activedescendant", { timeout: 1000 }).catch(() => null);
    let keyed = false;
    if (optionId && (await active())) {
        // At most one lap of the list: the option count bounds the presses.
        const count = await frame.evaluate(`(${COMBO_OPTIONS_SOURCE})(${fid}).length`).catch(() => 0);
        for (let i = 0; i <= Number(count) && (await active()) !== optionId; i++) {
            await input.press("ArrowDown", { timeout: 1000 }).catch(() => undefined);
        }
        if ((await active()) === optionId) {
            await input.press("Enter", { timeout: 1000 }).catch(() => undefined);
            keyed = true;
        }
    }
    if (!keyed) {
        await option.click({ timeout: 3000 }).catch(() => undefined);
    }
    await input.evaluate((el) => (el as DomElement & { blur(): void }).blur()).catch(() => undefined);
    return frame
        .waitForFunction(comboKept(fid, text, value), undefined, { timeout: 1500, polling: 100 })
        .then(() => true)
        .catch(() => false);
}

/**
 * Consent boxes the plan ticks that are still unticked (one that unlocks on something the runner cannot do):
 * the browser does not validate a disabled control, so the form would go out without the consent it asks for.
 */
async function uncheckedConsents(frame: Frame, plans: readonly FieldPlan[]): Promise<string[]> {
    const consents = plans.filter((p) => p.kind === "consent" && p.action.kind === "check");
    const fids = consents.map((p) => p.field.fid);
    const unchecked = await frame
        .evaluate((ids) => {
            return ids.filter((fid) => {
                const el = document.querySelector(`[data-ops-fid="${fid}"]`) as DomControl | null;
                if (!el) return false;
                return el.tagName === "INPUT" ? !el.checked : el.getAttribute("aria-checked") !== "true";
            });
        }, fids)
        .catch(() => [] as number[]);
    return consents
        .filter((p) => unchecked.includes(p.field.fid))
        .map((p) => (p.field.label || p.field.groupLabel || p.field.name).slice(0, 40));
}

/** Fields the browser's own validation rejects (required, type, pattern), by scanner id. */
async function invalidFieldIds(frame: Frame, formId: number): Promise<Array<{ fid: number; message: string }>> {
    return frame.evaluate((id) => {
        const form = document.querySelector(`[data-ops-form="${id}"]`) as DomForm | null;
        if (!form || form.tagName !== "FORM" || form.noValidate || form.checkValidity()) {
            return [];
        }
        // Only fields shown now: a wizard's later steps are hidden and filled when they appear.
        return (Array.from(form.elements) as DomControl[])
            .filter((el) => el.willValidate && !el.checkValidity() && el.getClientRects().length > 0)
            .map((el) => ({ fid: Number(el.getAttribute("data-ops-fid") ?? "0"), message: el.validationMessage }));
    }, formId);
}

/** What a page says is wrong with each field, and the error texts it shows that no field owns. */
interface FieldErrors {
    readonly fields: ReadonlyArray<{ readonly fid: number; readonly messages: readonly string[] }>;
    readonly summary: readonly string[];
}

/**
 * Reads the validation messages a page shows after a rejected submit, the ways sites show them: the
 * browser's own (`:invalid` with `validationMessage`, and the `title` that describes a `pattern`),
 * `aria-invalid` with `aria-errormessage`/`aria-describedby` (https://www.w3.org/TR/wai-aria-1.2/#aria-errormessage),
 * inline error text beside a field (an element named error/invalid/alert in the field's own row: Contact Form 7's
 * `.wpcf7-not-valid-tip`, MW WP Form's `.error`), and an error summary elsewhere on the page.
 */
async function readFieldErrors(frame: Frame, formId: number): Promise<FieldErrors> {
    return frame
        .evaluate((id) => {
            type El = DomElement & {
                textContent?: string | null;
                validity?: { patternMismatch?: boolean };
                name?: string;
            };
            const ERR = /error|invalid|not-valid|err[-_]|alert|warning|caution|validat/i;
            const root = document.querySelector(`[data-ops-form="${id}"]`);
            const text = (el: El) => (el.innerText || el.textContent || "").replace(/\s+/g, " ").trim();
            const shown = (el: El) => {
                const r = el.getBoundingClientRect();
                return r.width > 0 && r.height > 0 && (el.checkVisibility ? el.checkVisibility({}) : true);
            };
            const named = (el: El) =>
                ERR.test(
                    `${el.id} ${typeof el.className === "string" ? el.className : ""} ${el.getAttribute("role") ?? ""}`,
                );
            /** An error text element: named so, shown, holding no control, short. */
            const isMessage = (el: El) =>
                named(el) &&
                !el.querySelector("input, select, textarea") &&
                !/^(INPUT|SELECT|TEXTAREA|BUTTON|FORM|LABEL)$/.test(el.tagName) &&
                shown(el) &&
                text(el).length > 0 &&
                text(el).length <= 200;
            const out: Array<{ fid: number; messages: string[] }> = [];
            const owned = new Set<El>();
            const controls = root ? (Array.from(root.querySelectorAll("[data-ops-fid]")) as El[]) : [];
            for (const el of controls) {
                const c = el as unknown as DomControl & El;
                const messages: string[] = [];
                const invalid = el.getAttribute("aria-invalid") === "true";
                for (const attr of ["aria-errormessage", "aria-describedby"]) {
                    for (const ref of (el.getAttribute(attr) ?? "").split(/\s+/).filter((x) => x)) {
                        const target = document.getElementById(ref);
                        if (target && shown(target) && (attr === "aria-errormessage" || invalid || named(target))) {
                            messages.push(text(target));
                            owned.add(target);
                        }
                    }
                }
                if (c.willValidate && !c.checkValidity()) {
                    messages.push(c.validationMessage);
                    if (c.validity?.patternMismatch && el.getAttribute("title")) {
                        messages.push(el.getAttribute("title") ?? "");
                    }
                }
                // The field's own row: the ancestors that hold no other field (radio/part siblings of one name do).
                let row = el.parentElement;
                for (let depth = 0; row && depth < 4 && row !== root; depth++) {
                    const others = (
                        Array.from(row.querySelectorAll("input:not([type=hidden]), select, textarea")) as El[]
                    ).filter((o) => o !== el && o.getAttribute("name") !== el.getAttribute("name"));
                    if (others.length > 0) break;
                    for (const e of Array.from(row.querySelectorAll("*")) as El[]) {
                        if (isMessage(e)) {
                            messages.push(text(e));
                            owned.add(e);
                        }
                    }
                    row = row.parentElement;
                }
                const unique = [...new Set(messages.filter((m) => m))];
                if (unique.length > 0) {
                    out.push({ fid: Number(el.getAttribute("data-ops-fid")), messages: unique });
                }
            }
            const summary = (
                Array.from(
                    document.querySelectorAll("[class*=error i], [class*=invalid i], [role=alert], [class*=alert i]"),
                ) as El[]
            )
                .filter((e) => !owned.has(e) && isMessage(e))
                .map(text);
            return { fields: out, summary: [...new Set(summary)] };
        }, formId)
        .catch(() => ({ fields: [], summary: [] }));
}

/**
 * After a rejected submit (or the browser's own validation refusing it): the form as the page shows it now,
 * planned again, with the values its validation messages name corrected. Null when no message names a value
 * this can change; the caller then gives up with the site's message.
 */
async function correctRejected(
    page: Page,
    profile: FormProfile,
    siteText: string,
    /** The values entered before, by field name. */
    sent: ReadonlyMap<string, string>,
): Promise<{ chosen: Chosen; plans: FieldPlan[]; changes: string[] } | null> {
    await settle(page, SETTLE_BEFORE_SEND_MS);
    const scans = await scanFrames(page);
    const refusal = pageRefusal(scans);
    const chosen = chooseForm(scans);
    if (!chosen || refusal) {
        return null;
    }
    const errors = await readFieldErrors(chosen.frame, chosen.form.formId);
    const captions = chosen.form.fields.map((f) => f.label || f.groupLabel || f.placeholder || f.ariaLabel);
    const byField = new Map<number, string[]>(errors.fields.map((e) => [e.fid, [...e.messages]]));
    // Lines of a summary ("ふりがなは全角カタカナで入力してください") go to the field they name.
    for (const line of [...errors.summary, ...siteText.split(" / ")]) {
        const i = namedCaption(line, captions);
        // Every part of a split field shares the caption: each gets the line.
        chosen.form.fields.forEach((g, j) => {
            if (i >= 0 && captions[j] === captions[i]) {
                byField.set(g.fid, [...(byField.get(g.fid) ?? []), line]);
            }
        });
    }
    const changes: string[] = [];
    const plans = planForm(chosen.form, profile, chosen.scan.lang).map((p): FieldPlan => {
        const messages = byField.get(p.field.fid);
        if (!messages || p.action.kind !== "fill") {
            return p;
        }
        // Planned again, the value may already be right: the message now beside the field is read as its hint.
        const fixed = correctValue(p.action.value, messages.join(" "), p.field.pattern) ?? p.action.value;
        // What the site refused: the value the field holds, or (a re-rendered, emptied form) what we sent.
        const refused = p.field.value !== "" ? p.field.value : (sent.get(p.field.name) ?? "");
        if (fixed === refused || refused === "") {
            return p;
        }
        const caption = (p.field.label || p.field.groupLabel || p.field.name).slice(0, 30);
        changes.push(`${caption}: ${refused} → ${fixed}`);
        return { ...p, action: { kind: "fill", value: fixed } };
    });
    return changes.length > 0 ? { chosen, plans, changes } : null;
}

/** The values the plans entered, by field name (for telling what a site refused). */
function sentValues(plans: readonly FieldPlan[]): Map<string, string> {
    return new Map(
        plans.flatMap((p) =>
            p.action.kind === "fill" && p.field.name ? [[p.field.name, p.action.value] as const] : [],
        ),
    );
}

/** The frame's visible text, open shadow roots included (innerText stops at them). */
async function bodyText(frame: Frame): Promise<string> {
    return frame.evaluate(() => {
        const parts = [document.body ? document.body.innerText : ""];
        const visit = (root: { querySelectorAll(s: string): ArrayLike<DomElement> }): void => {
            for (const el of Array.from(root.querySelectorAll("*"))) {
                const sr = el.shadowRoot;
                if (sr) {
                    for (const child of Array.from(sr.children)) {
                        if (child.tagName !== "STYLE" && child.tagName !== "SCRIPT") parts.push(child.innerText ?? "");
                    }
                    visit(sr);
                }
            }
        };
        visit(document);
        return parts.join("\n");
    });
}

type StepOutcome =
    | { kind: "success"; text: string }
    | { kind: "error"; text: string; thanked: boolean }
    | { kind: "confirm"; chosen: Chosen }
    /** A wizard's next step: the same form now shows fields that were hidden. */
    | { kind: "step"; chosen: Chosen }
    | { kind: "navigated-no-text"; url: string }
    | { kind: "form-again"; text: string }
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
    /** Fields already seen visible: a "next" click that reveals others is a wizard step. Null: none expected. */
    knownFields: ReadonlySet<number> | null,
): Promise<StepOutcome> {
    const { frame } = chosen;
    let checkedText = "";
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
        // The button notes the first click that reaches it, so a click Playwright reports as failed
        // (a timeout on a loaded machine, after the event was already dispatched) is never repeated:
        // a second click on an AJAX form would send the message twice.
        await loc
            .evaluate(
                (el) => {
                    const b = el as DomElement & { addEventListener(t: string, f: () => void, o: object): void };
                    b.removeAttribute("data-ops-clicked");
                    b.addEventListener("click", () => b.setAttribute("data-ops-clicked", "1"), {
                        capture: true,
                        once: true,
                    });
                },
                undefined,
                { timeout: 2000 },
            )
            .catch(() => undefined);
        try {
            await loc.click({ timeout: 3000, noWaitAfter: true });
        } catch {
            // Covered or animating buttons fail Playwright's checks; a DOM click still submits.
            // Skipped when the click got through after all (it reached the button, or the page is
            // already navigating and the button is gone).
            const reached = await loc
                // Patient: on a loaded machine an out-of-process iframe answers slowly, and no answer
                // counts as "reached" (never a second click), which costs the send.
                .evaluate((el) => (el as DomElement).getAttribute("data-ops-clicked") === "1", undefined, {
                    timeout: 8000,
                })
                .catch(() => true);
            if (!navigated && !reached) {
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
            const confirmWording = appeared.length > 0 && looksLikeConfirmationPage(appeared.join("\n"));
            if ((confirmWording || knownFields) && text !== before && text === lastText && text !== checkedText) {
                // The page changed in place: once it holds still, rescan. A confirmation step shows a
                // send button and no empty field; a wizard's next step shows fields of the same form
                // that were hidden before ("next" clicks only).
                if (stableSince && Date.now() - stableSince > 200) {
                    checkedText = text;
                    const scans = await scanFrames(page);
                    const next = confirmWording ? chooseConfirmation(scans, frame) : null;
                    if (next) {
                        return { kind: "confirm", chosen: next };
                    }
                    const scan = scans.find((x) => x.frame === frame)?.scan;
                    const form = scan?.forms.find((f) => f.formId === chosen.form.formId);
                    const revealed = form?.fields.filter(
                        (f) => f.visible && f.editable && f.honeypotHints.length === 0 && !knownFields?.has(f.fid),
                    );
                    if (scan && form && revealed && revealed.length > 0) {
                        return { kind: "step", chosen: { frame, scan, form } };
                    }
                    stableSince = 0;
                } else {
                    stableSince ||= Date.now();
                }
            } else if (text !== lastText) {
                stableSince = 0;
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
            // Errors the page shows, new or not (a second refusal repeats the first one's words): only reported.
            const shown = judgeOutcome(notOurs(afterText.split(/\n+/).map((l) => l.trim())));
            return { kind: "form-again", text: shown.kind === "error" ? shown.text : "" };
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

/** The detail of a skip for wording that may decline sales contact. */
function unclearDetail(sentence: string): string {
    return `page may decline sales contact, an operator should decide: 「${sentence}」`;
}

/** Fills and submits the contact form reachable from `url`. Never throws for site problems. */
export async function fillContactForm(
    page: Page,
    url: string,
    profile: FormProfile,
    opts: FillOptions,
): Promise<FillResult> {
    watchDialogs(page);
    await trackSettling(page);
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
        // Scripts may still be fetching the form, or a notice, after 'load': read the page once it settled.
        await settle(page, SETTLE_AFTER_LOAD_MS);
        if (await dismissCookieWall(page)) {
            await settle(page, SETTLE_BEFORE_SEND_MS);
        }
        scans = await scanFrames(page);
        const refusal = pageRefusal(scans);
        if (refusal?.kind === "refusal") {
            return result(
                "skipped_refusal",
                false,
                `page declines sales contact: 「${refusal.sentence}」`,
                [],
                page.url(),
            );
        }
        if (refusal?.kind === "unclear") {
            return result("skipped_undecided", false, unclearDetail(refusal.sentence), [], page.url());
        }
        chosen = chooseForm(scans);
        // A form shown only in a dialog: press the control that opens it (at most twice per page).
        const tried = new Set<string>();
        while (!chosen && tried.size < 2 && (await openContactDialog(page, tried))) {
            await settle(page, SETTLE_BEFORE_SEND_MS);
            scans = await scanFrames(page);
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

    if (await discoverComboOptions(chosen)) {
        // Options of comboboxes that render their list only while open are now noted: scan again.
        scans = await scanFrames(page);
        chosen = chooseForm(scans) ?? chosen;
    }
    const plans = planForm(chosen.form, profile, chosen.scan.lang);
    const unanswerable = plans.filter((p) => p.action.kind === "skip" && p.action.reason === NO_FITTING_OPTION);
    if (unanswerable.length > 0) {
        const question = unanswerable[0].field.groupLabel || unanswerable[0].field.label || unanswerable[0].field.name;
        return result(
            "skipped_undecided",
            false,
            `required question 「${question.slice(0, 40)}」 has no option for a sales message; an operator should decide`,
            [],
            formUrl,
        );
    }
    const unkept = await applyPlan(chosen.frame, plans);
    const allPlans: FieldPlan[] = [...plans];
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
    const unpicked = unpickedCombos(unkept, plans);
    if (unpicked) {
        return result("failed", false, unpicked, fields, formUrl);
    }
    const locked = await uncheckedConsents(chosen.frame, plans);
    if (locked.length > 0) {
        return result(
            "failed",
            false,
            `consent box 「${locked.join("」「")}」 stays locked, so the form was not sent`,
            fields,
            formUrl,
        );
    }
    const describeInvalid = async (c: Chosen) =>
        (await invalidFieldIds(c.frame, c.form.formId)).map(({ fid, message }) => {
            const f = c.form.fields.find((x) => x.fid === fid);
            const label = f ? f.label || f.groupLabel || f.placeholder || f.name : `field ${fid}`;
            return `${label.slice(0, 40)} (${message})`;
        });
    /** Values changed once after the page's validation messages; at most one correction per form. */
    let corrections: string[] | null = null;
    let invalid = await describeInvalid(chosen);
    if (invalid.length > 0) {
        // The browser's own validation refuses the form (nothing was sent): correct what it names, once.
        const fix = await correctRejected(page, profile, invalid.join(" / "), sentValues(allPlans));
        corrections = fix?.changes ?? [];
        if (fix) {
            const refused = unpickedCombos(await applyPlan(fix.chosen.frame, fix.plans), []);
            if (refused) {
                return result("failed", false, refused, fields, formUrl);
            }
            chosen = fix.chosen;
            invalid = await describeInvalid(chosen);
        }
    }
    if (invalid.length > 0) {
        return result("failed", false, `validation: ${invalid.join("; ")}`.slice(0, 500), fields, formUrl);
    }
    const correctedNote = () =>
        corrections && corrections.length > 0 ? ` (after correcting ${corrections.join("; ")})` : "";

    const ownValuesOf = (list: readonly FieldPlan[]) =>
        list.flatMap((p) =>
            p.action.kind === "fill" && (p.kind === "message" || p.kind === "subject")
                ? p.action.value
                      .split(/\r?\n/)
                      .map((l) => l.trim())
                      .filter((l) => l.length >= 8)
                : [],
        );
    const ownValues = ownValuesOf(plans);
    // Fields seen visible so far: a "next" click that shows others is a wizard step.
    const known = new Set(chosen.form.fields.filter((f) => f.visible).map((f) => f.fid));
    let submitted = false;
    let current: Chosen = chosen;
    for (let step = 0; step < MAX_CONFIRM_STEPS + MAX_WIZARD_STEPS; step++) {
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
        const final = button.role !== "confirm";
        if (final && !submitted) {
            // Last look before anything reaches the site: a notice rendered late, or on this step.
            await settle(page, SETTLE_BEFORE_SEND_MS);
            const last = pageRefusal(await scanFrames(page));
            if (last?.kind === "refusal") {
                return result(
                    "skipped_refusal",
                    false,
                    `page declines sales contact: 「${last.sentence}」`,
                    fields,
                    formUrl,
                );
            }
            if (last?.kind === "unclear") {
                return result("skipped_undecided", false, unclearDetail(last.sentence), fields, formUrl);
            }
            if (opts.mayClickSubmit && !opts.mayClickSubmit()) {
                throw new SubmitAbandoned("shutting down before submit");
            }
        }
        // The durable send intent, right before the click (the job's hook; a rejection abandons the form).
        await opts.beforeSubmitClick?.();
        if (final) {
            submitted = true;
            opts.onSubmitted?.();
        }
        const outcome = await clickAndObserve(
            page,
            current,
            button.button.bid,
            outcomeTimeout,
            ownValues,
            final ? null : known,
        );
        switch (outcome.kind) {
            case "success":
                if (!submitted) {
                    opts.onSubmitted?.();
                }
                return result("sent", true, `confirmed: 「${outcome.text}」${correctedNote()}`, fields, formUrl);
            case "error": {
                // The site refused the values (it said so and did not thank): correct the fields its messages
                // name, once, and send again. Never after thanks: that message may have gone through.
                if (corrections === null && !outcome.thanked) {
                    const fix = await correctRejected(page, profile, outcome.text, sentValues(allPlans));
                    corrections = fix?.changes ?? [];
                    // A correction whose combobox kept no option is not sent again.
                    if (fix && !unpickedCombos(await applyPlan(fix.chosen.frame, fix.plans), [])) {
                        if ((await describeInvalid(fix.chosen)).length === 0) {
                            current = fix.chosen;
                            fix.chosen.form.fields.filter((f) => f.visible).forEach((f) => known.add(f.fid));
                            continue;
                        }
                    }
                }
                return result(
                    "failed",
                    submitted,
                    `site reported: ${outcome.text}${correctedNote()}`.slice(0, 500),
                    fields,
                    formUrl,
                );
            }
            case "confirm":
                current = outcome.chosen;
                continue;
            case "step": {
                // The wizard's next step: plan the form again and fill only what was hidden before.
                const next = planForm(outcome.chosen.form, profile, outcome.chosen.scan.lang).filter(
                    (p) => !known.has(p.field.fid) && p.field.visible,
                );
                if (next.some((p) => p.action.kind === "skip" && p.action.reason === NO_FITTING_OPTION)) {
                    return result(
                        "skipped_undecided",
                        false,
                        "a later step asks a question with no option for a sales message",
                        fields,
                        formUrl,
                    );
                }
                const unpicked = unpickedCombos(await applyPlan(outcome.chosen.frame, next), next);
                if (unpicked) {
                    return result("failed", submitted, unpicked, fields, formUrl);
                }
                outcome.chosen.form.fields.filter((f) => f.visible).forEach((f) => known.add(f.fid));
                allPlans.push(...next);
                fields.push(...describe(next));
                ownValues.push(...ownValuesOf(next));
                current = outcome.chosen;
                continue;
            }
            case "form-again":
                return result(
                    "failed",
                    submitted,
                    `the form was shown again without a confirmation${outcome.text ? `: ${outcome.text}` : ""}${correctedNote()}`.slice(
                        0,
                        500,
                    ),
                    fields,
                    formUrl,
                );
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
