/** Shapes exchanged between the in-page scanner (scan.ts) and the Node-side decisions. */

export interface OptionInfo {
    readonly value: string;
    readonly text: string;
    readonly disabled: boolean;
}

/** One input/select/textarea as the scanner saw it. */
export interface FieldInfo {
    /** Stable id written to the element as `data-ops-fid`, used to find it again. */
    readonly fid: number;
    readonly tag: "input" | "select" | "textarea";
    /** Lower-cased input type ("text", "email", "checkbox", …); "select"/"textarea" for those tags. */
    readonly type: string;
    readonly name: string;
    readonly id: string;
    readonly className: string;
    readonly placeholder: string;
    readonly autocomplete: string;
    readonly ariaLabel: string;
    readonly title: string;
    /** Text of the field's own label (label[for], wrapping label, aria-labelledby). */
    readonly label: string;
    /** Text of the row/group it sits in (table <th>, <dt>, fieldset legend, preceding caption). */
    readonly groupLabel: string;
    /** Opaque key shared by fields of the same row/group: split name/phone/postal parts share one. */
    readonly groupKey: string;
    /** Text right after the field inside its group ("-", "（名）", "円"), which tells a split part. */
    readonly trailingText: string;
    readonly required: boolean;
    readonly maxLength: number | null;
    readonly pattern: string;
    readonly inputMode: string;
    readonly visible: boolean;
    readonly editable: boolean;
    readonly value: string;
    readonly checked: boolean;
    readonly options: readonly OptionInfo[];
    /** Reasons the scanner thinks this is a bot trap; non-empty means never fill it. */
    readonly honeypotHints: readonly string[];
    /** "radio"/"checkbox"/"switch" for an ARIA control built from a div (clicked, never typed into). */
    readonly ariaRole?: string;
    /**
     * An editable combobox: an <input role=combobox> whose value a script keeps only when it was picked from its
     * listbox (react-select, MUI Autocomplete) or that takes free text with suggestions. Described as a select
     * (ariaRole "combobox") once fill.ts has noted the options its list offered.
     */
    readonly comboInput?: boolean;
}

export interface ButtonInfo {
    /** Stable id written as `data-ops-bid`. */
    readonly bid: number;
    readonly text: string;
    readonly type: string;
    readonly tag: string;
    readonly visible: boolean;
    /**
     * The button sits in a cookie/consent notice (a box named cookie/consent/gdpr/cmp that holds no
     * field to type into): it answers the notice and never sends or confirms a form.
     */
    readonly consent?: boolean;
}

export interface FormInfo {
    /** Stable id written as `data-ops-form` (on the <form>, or on <body> for a form-less group). */
    readonly formId: number;
    readonly pseudo: boolean;
    readonly action: string;
    readonly method: string;
    readonly attrs: string;
    readonly role: string;
    /** Visible text inside the form, truncated. */
    readonly text: string;
    /** Nearest heading before the form ("お問い合わせフォーム", "Newsletter"). */
    readonly heading: string;
    readonly noValidate: boolean;
    readonly fields: readonly FieldInfo[];
    readonly buttons: readonly ButtonInfo[];
}

export interface LinkInfo {
    readonly text: string;
    readonly href: string;
}

export interface FrameScan {
    readonly url: string;
    readonly title: string;
    readonly lang: string;
    /** Visible text of the document and its open shadow roots, truncated; refusal and outcome detection read it. */
    readonly text: string;
    /**
     * Text a person reads that is no node text: image alt texts and title tooltips (a refusal set as a
     * banner image). Refusal detection reads it beside `text`.
     */
    readonly imageText: string;
    /** CAPTCHA widgets found in the DOM ("recaptcha", "hcaptcha", "turnstile", "image-captcha"). */
    readonly captcha: readonly string[];
    readonly forms: readonly FormInfo[];
    readonly links: readonly LinkInfo[];
}

/**
 * The result contract of one form (DESIGN.md "Runner" CLI line); the database's
 * `submissions_status_values` check accepts exactly these (test/formSender/supabase.test.ts).
 * `skipped_undecided`: the runner could not decide whether sending is right (wording that may refuse
 * sales, a required question with no option for a sales message): nothing was sent, an operator
 * should look.
 */
export const FILL_STATUSES = [
    "sent",
    "dry_run",
    "skipped_refusal",
    "skipped_captcha",
    "skipped_undecided",
    "no_form",
    "failed",
] as const;

export type FillStatus = (typeof FILL_STATUSES)[number];

export interface FilledField {
    readonly kind: string;
    readonly name: string;
    readonly label: string;
}

export interface FillResult {
    readonly status: FillStatus;
    /** True once the final submit was performed, whatever the site answered afterwards. */
    readonly submitted: boolean;
    readonly fields: readonly FilledField[];
    readonly detail: string;
    /** URL of the page the form was found on ("" when none). */
    readonly formUrl: string;
}
