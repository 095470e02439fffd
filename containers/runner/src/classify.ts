/**
 * Field mapping: decides, for every field of the chosen form, what it asks for and what to put
 * in it. Pure: works on the scanner's `FieldInfo`s and a `FormProfile`, so it is table-tested
 * without a browser.
 */
import type { FormProfile } from "./profile";
import { findPrefecture } from "./prefectures";
import { anyOf, group, sequence } from "./regex";
import type { FieldInfo, FormInfo, OptionInfo } from "./types";

export type FieldKind =
    | "company"
    | "company_kana"
    | "department"
    | "position"
    | "name"
    | "name_kana"
    | "email"
    | "email_confirm"
    | "phone"
    | "fax"
    | "postal"
    | "prefecture"
    | "city"
    | "address"
    | "building"
    | "url"
    | "subject"
    | "message"
    | "inquiry_type"
    | "country"
    | "consent"
    | "newsletter"
    | "password"
    | "search"
    | "honeypot"
    | "unknown";

/** Which piece of a split field: name "last"/"first", phone "1".."3", postal "1"/"2". */
export type FieldPart = "full" | "last" | "first" | "1" | "2" | "3";

export type FillAction =
    | { readonly kind: "fill"; readonly value: string }
    | { readonly kind: "select"; readonly value: string; readonly text: string }
    | { readonly kind: "check" }
    | { readonly kind: "skip"; readonly reason: string };

export interface FieldPlan {
    readonly field: FieldInfo;
    readonly kind: FieldKind;
    readonly part: FieldPart;
    readonly action: FillAction;
}

type TextKind = Exclude<
    FieldKind,
    "inquiry_type" | "country" | "consent" | "newsletter" | "honeypot" | "unknown" | "password" | "search"
>;

/** Label/placeholder patterns in priority order: the first match is what one text says. */
const TEXT_PATTERNS: ReadonlyArray<[TextKind, RegExp]> = [
    [
        "email_confirm",
        anyOf([
            sequence([
                /(メール|mail|アドレス)/,
                /.*/,
                /(確認|再入力|再度|もう一度|confirm|again|re-?type|re-?enter|verify)/,
            ]),
            /(確認|confirm).*(メール|mail)/,
        ]),
    ],
    ["email", /メール|e-?mail|mail ?address|^mail$|メアド/],
    ["fax", /fax|ファックス|ファクス/],
    ["company_kana", /(会社|企業|法人|団体|貴社|御社|社名|組織).*(カナ|かな|フリガナ|ふりがな|ヨミ|よみ|読み)/],
    ["name_kana", /フリガナ|ふりがな|カナ|かな|ヨミ|よみ|読み|furigana|kana|phonetic|reading/],
    ["postal", /郵便番号|〒|postal|zip|post ?code/],
    ["prefecture", /都道府県|prefecture|^state|province/],
    ["city", /市区町村|市町村|^市区|city|town|municipality/],
    [
        "building",
        sequence([
            // not the street part of the address …
            /^(?!.*(番地|住所|street|address ?line ?1))/,
            // … but the building
            /.*(建物|ビル名|マンション名|building|apartment|suite|address ?line ?2)/,
        ]),
    ],
    ["address", /住所|所在地|番地|address|street/],
    ["url", /url|ホームページ|^hp$|hp\b|ウェブサイト|webサイト|web ?site|website|サイト/],
    ["phone", /電話|tel|phone|携帯|mobile/],
    [
        "company",
        anyOf([
            /会社|企業名|法人名|団体名|貴社名|御社名|組織名|社名/,
            /company|organi[sz]ation|corporate|business name/,
            /屋号|勤務先|事業者名|店舗名|法人/,
        ]),
    ],
    ["department", /部署|部門|所属|department|division|dept/],
    ["position", /役職|肩書|職位|position|job ?title/],
    ["subject", /件名|題名|タイトル|subject|表題|用件/],
    ["name", /氏名|お名前|名前|姓名|担当者|^姓$|^名$|name|お名/],
    [
        "message",
        anyOf([
            /内容|本文|メッセージ|ご?質問|ご?要望|ご?相談|備考|詳細/,
            /message|inquiry|enquiry|comment|details|body|question/,
            /ご意見|問い?合わ?せ|問合/,
        ]),
    ],
];

/** The same for `name`/`id` attributes, matched against their space-separated tokens. */
const IDENT_PATTERNS: ReadonlyArray<[TextKind, RegExp]> = [
    [
        "email_confirm",
        anyOf([
            // an e-mail word, then a confirmation word: "email_confirm", "mail2", "email check"
            sequence([
                /\b(e ?mail|mail|mailaddress|email address)\b/,
                /.*/,
                /\b(conf|confirm|confirmation|check|chk|again|re|kakunin|verify|2)\b/,
            ]),
            // or the other way round: "confirm_email", "re_mail"
            /\b(conf|confirm|re|kakunin|verify|check)\b.*\b(e ?mail|mail)\b/,
        ]),
    ],
    ["email", /\b(e ?mail|mail|mailaddress|mail address|email address|emailaddress)\b/],
    ["fax", /\bfax\b/],
    ["company_kana", /\b(company|kaisha|corp|kigyo|org|organization)\b.*\b(kana|furi|furigana|yomi|ruby)\b/],
    ["name_kana", /\b(kana|furi|furigana|yomi|ruby|phonetic|reading|hurigana)\b/],
    ["postal", /\b(zip|zipcode|postal|post code|postcode|yubin|yuubin|zip code)\b/],
    ["prefecture", /\b(pref|prefecture|todofuken|state|province|address level1)\b/],
    ["city", /\b(city|shiku|town|address level2)\b/],
    ["building", /\b(building|bldg|tatemono|address2|addr2|address line2)\b/],
    ["address", /\b(addr|address|street|jusho|juusho|banchi|address line1)\b/],
    ["url", /\b(url|website|homepage|hp|site|web)\b/],
    ["phone", /\b(tel|phone|telephone|denwa|mobile|keitai)\b/],
    ["company", /\b(company|corp|corporation|kaisha|kigyo|kigyou|organi[sz]ation|org|business|houjin)\b/],
    ["department", /\b(dept|department|division|busho|busyo|bumon|shozoku)\b/],
    ["position", /\b(position|job title|jobtitle|yakushoku)\b/],
    ["subject", /\b(subject|title|kenmei|topic)\b/],
    ["name", /\b(name|fullname|shimei|simei|onamae|namae|sei|mei|lname|fname|surname|lastname|firstname)\b/],
    [
        "message",
        sequence([
            /\b/,
            group([
                /message|msg|body|content|contents|inquiry|enquiry|comment|comments|detail|details/,
                /naiyo|naiyou|question|toiawase|remarks|bikou|note/,
            ]),
            /\b/,
        ]),
    ],
];

const AUTOCOMPLETE: Readonly<Record<string, [TextKind, FieldPart]>> = {
    organization: ["company", "full"],
    "organization-title": ["position", "full"],
    name: ["name", "full"],
    "family-name": ["name", "last"],
    "given-name": ["name", "first"],
    email: ["email", "full"],
    tel: ["phone", "full"],
    "tel-national": ["phone", "full"],
    "tel-area-code": ["phone", "1"],
    "tel-local-prefix": ["phone", "2"],
    "tel-local-suffix": ["phone", "3"],
    "postal-code": ["postal", "full"],
    "address-level1": ["prefecture", "full"],
    "address-level2": ["city", "full"],
    "street-address": ["address", "full"],
    "address-line1": ["address", "full"],
    "address-line2": ["building", "full"],
    url: ["url", "full"],
};

const INQUIRY_LABEL = anyOf([
    /種別|種類|区分|カテゴリ|項目|用件|目的|内容/,
    /type|category|topic|reason|regarding|subject|inquiry|enquiry/,
    /問い?合わ?せ|問合/,
]);
const CONSENT = /同意|承諾|個人情報|プライバシー|privacy|agree|consent|terms|規約|accept|承認/;
const NEWSLETTER = anyOf([
    /メルマガ|メールマガジン|ニュースレター|newsletter|subscribe/,
    /配信を希望|案内を受け取|情報を受け取|お知らせを受け取|opt-?in/,
    // Marketing opt-ins beside a form (HubSpot's subscription checkbox): never a consent to tick.
    /(情報|メール|ご案内)の?(受信|受け取り|配信)を希望|marketing (emails?|communications|information)/,
    /receive (marketing|news|updates|offers)/,
]);
const PLACEHOLDER_OPTION = /選択|選んで|select|choose|^-+$|^ー+$|^[-ー―]{2,}|^\s*$|指定なし/;
/** Option texts a sales/proposal message belongs under, best first. */
const OPTION_PROPOSAL = anyOf([
    /営業|ご?提案|協業|提携|パートナー|商談|広告|売り込み/,
    /business|proposal|partner|sales|collaborat|vendor|advertis/,
]);
const OPTION_OTHER = /その他|そのほか|other|general|一般/;
/**
 * Options a sales message must not be filed under: it would reach recruiting, support, the quote desk,
 * reception (visits, bookings), existing-customer trade or investor relations instead of the right reader.
 */
const OPTION_AVOID = anyOf([
    /採用|求人|応募|サポート|不具合|障害|故障|見積|来訪|来社|見学|取引|ir|株主|投資家|予約|購入|注文|解約|請求/,
    /support|recruit|career|job|quote|quotation|visit|investor|booking|reservation|order|billing|trade/,
]);
/** A reply channel that commits to nothing: e-mail, then "other"; never a call or a visit. */
const OPTION_EMAIL = /メール|e-?mail|mail/;
const OPTION_COMMITTING = /電話|訪問|来社|来店|面談|phone|call|visit|meeting/;
/** Country names a Japanese sender's own country goes by in option lists. */
const JAPAN_OPTION = /^(japan|日本|日本国|jp|jpn|japan \(日本\)|日本 \(japan\))$/;
const COUNTRY_OPTIONS =
    /^(japan|日本|china|中国|united states|アメリカ|usa|korea|韓国|australia|germany|france|taiwan|台湾)/;

/** Full-width form of ASCII text: what a field that demands 全角 takes ("03-1234" → "０３－１２３４"). */
export function toFullWidth(s: string): string {
    return s.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).replace(/ /g, "\u3000");
}

/** Half-width form of full-width ASCII ("０３" → "03"), for a field that demands 半角. */
export function toHalfWidth(s: string): string {
    return s.replace(/[！-～]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, " ");
}
const DIGITS_ONLY_HINT = anyOf([
    /ハイフン(なし|不要|無し|を除|抜き|は不要|を入れず|を含めず|なしで)/,
    /半角数字のみ|数字のみ/,
    /without hyphens?|no hyphens?|digits only|numbers only/,
]);

/** NFKC, lower-case, collapsed spaces: full-width "ＴＥＬ" and "tel" compare equal. */
export function normalizeText(s: string): string {
    return s.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
}

/** "lastName[0]" → "last name 0": tokens for the ident patterns. */
export function identTokens(s: string): string {
    return s
        .replace(/([a-z])([A-Z])/g, "$1 $2")
        .replace(/([a-zA-Z])(\d)/g, "$1 $2")
        .replace(/(\d)([a-zA-Z])/g, "$1 $2")
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, " ")
        .trim();
}

function firstTextKind(text: string, table: ReadonlyArray<[TextKind, RegExp]>): TextKind | null {
    if (!text) {
        return null;
    }
    for (const [kind, re] of table) {
        if (re.test(text)) {
            return kind;
        }
    }
    return null;
}

/** Labels that only say which half of a split name this is ("姓", "メイ", "First"). */
const PART_LAST = /^[(（【［]?(姓|苗字|名字|せい|セイ|last|last name|family name|surname)[)）】］]?$/;
const PART_FIRST = /^[(（【［]?(名|めい|メイ|first|first name|given name|forename)[)）】］]?$/;
const PART_LAST_LOOSE = /(^|[\s(（【［:])(姓|苗字|名字|せい|セイ)([\s)）】］:：]|$)|last|family|surname/;
const PART_FIRST_LOOSE = /(^|[\s(（【［:])(名|めい|メイ)([\s)）】］:：]|$)|first name|given|forename|^first/;
const IDENT_LAST = /\b(last|family|sei|lname|surname|myoji|lastname|familyname)\b/;
const IDENT_FIRST = /\b(first|given|mei|fname|firstname|givenname)\b/;
/** Required-field marks around a label ("姓*", "お名前 ※", "【必須】氏名"): not part of what it asks. */
const REQUIRED_MARK =
    /^\s*([*＊※]|[(（【［]?(必須|required)[)）】］]?)\s*|\s*([*＊※]|[(（【［]?(必須|required)[)）】］]?)\s*$/gi;

function stripRequiredMark(s: string): string {
    return s.replace(REQUIRED_MARK, "").trim();
}

function placeholderContentKind(ph: string): { kind: TextKind; script?: "kata" | "hira" } | null {
    const p = ph
        .normalize("NFKC")
        .replace(/^(例|ex|e\.g\.|例えば)[:：.)）\s]*/i, "")
        .trim();
    if (!p) {
        return null;
    }
    if (/@/.test(p)) {
        return { kind: /確認|confirm/i.test(p) ? "email_confirm" : "email" };
    }
    if (/^https?:\/\//i.test(p)) {
        return { kind: "url" };
    }
    if (/^〒?\s*\d{3}-?\d{4}$/.test(p)) {
        return { kind: "postal" };
    }
    if (/^\+?0\d{1,4}-?\d{1,4}-?\d{3,4}$/.test(p)) {
        return { kind: "phone" };
    }
    if (/^[\u30a1-\u30fc\s]+$/.test(p)) {
        return { kind: "name_kana", script: "kata" };
    }
    if (/^[\u3041-\u309f\u30fc\s]+$/.test(p) && p.length <= 12) {
        return { kind: "name_kana", script: "hira" };
    }
    return null;
}

interface Vote {
    kind: FieldKind;
    score: number;
}

/** Classifies one text-like field (input/textarea) from all of its evidence. */
export function classifyTextField(f: FieldInfo): { kind: FieldKind; part: FieldPart } {
    if (f.honeypotHints.length > 0) {
        return { kind: "honeypot", part: "full" };
    }
    if (f.type === "password") {
        return { kind: "password", part: "full" };
    }
    const scores = new Map<FieldKind, number>();
    const add = (kind: FieldKind | null, w: number) => {
        if (kind) {
            scores.set(kind, (scores.get(kind) ?? 0) + w);
        }
    };
    let part: FieldPart = "full";
    const ac = AUTOCOMPLETE[f.autocomplete.replace(/^(section-\S+|shipping|billing)\s+/, "").split(/\s+/)[0]];
    if (ac) {
        add(ac[0], 5);
        part = ac[1];
    }
    if (f.type === "email") add("email", 3);
    if (f.type === "tel") add("phone", 3);
    if (f.type === "url") add("url", 3);
    if (f.type === "search") add("search", 6);

    const label = stripRequiredMark(normalizeText(f.label));
    const group = stripRequiredMark(normalizeText(f.groupLabel));
    // A label that only says "姓"/"名" names the half, not the kind: the row caption decides.
    if (PART_LAST.test(label) || PART_FIRST.test(label)) {
        add(
            /^[(（【［]?(せい|セイ|めい|メイ)/.test(label) ? "name_kana" : "name",
            /^[(（【［]?(せい|セイ|めい|メイ)/.test(label) ? 3 : 1,
        );
    } else {
        add(firstTextKind(label, TEXT_PATTERNS), 4);
    }
    add(firstTextKind(group, TEXT_PATTERNS), 3);
    add(firstTextKind(normalizeText(f.ariaLabel), TEXT_PATTERNS), 4);
    add(firstTextKind(normalizeText(f.title), TEXT_PATTERNS), 2);
    const ph = normalizeText(f.placeholder);
    if (!PART_LAST.test(ph) && !PART_FIRST.test(ph)) {
        add(firstTextKind(ph, TEXT_PATTERNS), 2);
    }
    const content = placeholderContentKind(f.placeholder);
    if (content) {
        add(content.kind, 2);
    }
    const nameTokens = identTokens(f.name);
    const idTokens = identTokens(f.id);
    if (/^(q|s|search|keyword|keywords|query|kw)$/.test(nameTokens)) {
        add("search", 4);
    }
    add(firstTextKind(nameTokens, IDENT_PATTERNS), 2);
    if (idTokens !== nameTokens) {
        add(firstTextKind(idTokens, IDENT_PATTERNS), 1);
    }

    let best: Vote = { kind: "unknown", score: 0 };
    // Ties go to the earlier kind in TEXT_PATTERNS order (the more specific one).
    const order: FieldKind[] = ["search", ...TEXT_PATTERNS.map(([k]) => k)];
    for (const kind of order) {
        const s = scores.get(kind) ?? 0;
        if (s > best.score) {
            best = { kind, score: s };
        }
    }
    let kind = best.kind;
    if (f.tag === "textarea") {
        kind = kind === "address" ? "address" : "message";
    }
    if (part === "full") {
        part = partHint(f, kind);
    }
    return { kind, part };
}

/** Explicit "which half" hints: inline labels, placeholders, ident tokens. */
export function partHint(f: FieldInfo, kind: FieldKind): FieldPart {
    const short = (list: string[]) =>
        list.map((t) => stripRequiredMark(normalizeText(t))).filter((t) => t.length > 0 && t.length <= 12);
    // The field's own label speaks first; the text after it may be the next field's label ("Last Name").
    const own = short([f.label, f.placeholder, f.ariaLabel]);
    const trailing = short([f.trailingText]);
    const idents = `${identTokens(f.name)} ${identTokens(f.id)}`;
    if (kind === "name" || kind === "name_kana") {
        const isLast = (t: string) => PART_LAST.test(t) || PART_LAST_LOOSE.test(t);
        const isFirst = (t: string) => PART_FIRST.test(t) || PART_FIRST_LOOSE.test(t);
        if (own.some(isLast)) return "last";
        if (own.some(isFirst)) return "first";
        if (IDENT_LAST.test(idents)) return "last";
        if (IDENT_FIRST.test(idents)) return "first";
        if (trailing.some(isLast)) return "last";
        if (trailing.some(isFirst)) return "first";
    }
    if (kind === "phone" || kind === "postal") {
        const m = /\b([123])\s*$/.exec(identTokens(f.name));
        if (m && kind === "phone") {
            return m[1] as FieldPart;
        }
        if (m && kind === "postal" && m[1] !== "3") {
            return m[1] as FieldPart;
        }
    }
    return "full";
}

function isPlaceholderOption(o: OptionInfo): boolean {
    return o.disabled || o.value === "" || PLACEHOLDER_OPTION.test(normalizeText(o.text));
}

/**
 * Ranks option texts for an inquiry-type question: proposal/sales first (3), then "other" (2); an
 * option for recruiting, support, quotes, visits, trade or IR is below any neutral one (-1).
 */
export function optionScore(text: string): number {
    const t = normalizeText(text);
    const avoid = OPTION_AVOID.test(t);
    if (OPTION_PROPOSAL.test(t) && !avoid) {
        return 3;
    }
    if (OPTION_OTHER.test(t)) {
        return 2;
    }
    return avoid ? -1 : 0;
}

/**
 * The least committal answer to a required question the profile has no data for: reply by e-mail,
 * then "other", then the first option that commits to no call, visit, recruiting or support.
 */
export function leastCommittal<T extends { text: string }>(options: readonly T[]): T | null {
    const score = (text: string) => {
        const t = normalizeText(text);
        if (OPTION_EMAIL.test(t) && !OPTION_COMMITTING.test(t)) return 3;
        if (OPTION_OTHER.test(t)) return 2;
        if (OPTION_COMMITTING.test(t) || OPTION_AVOID.test(t)) return -1;
        return 0;
    };
    let best: T | null = null;
    let bestScore = -Infinity;
    for (const o of options) {
        const sc = score(o.text);
        if (sc > bestScore) {
            best = o;
            bestScore = sc;
        }
    }
    return best;
}

/** Picks the option to select for an inquiry-type question (or a required unknown one). */
export function chooseOption<T extends { text: string }>(options: readonly T[], required: boolean): T | null {
    if (options.length === 0) {
        return null;
    }
    let best: T | null = null;
    let bestScore = 0;
    for (const o of options) {
        const s = optionScore(o.text);
        if (s > bestScore) {
            best = o;
            bestScore = s;
        }
    }
    // Nothing fits a sales message (only recruiting, support, quotes …): filing it under one of those
    // would send it to the wrong reader, so the caller reports the form as undecided instead.
    void required;
    return best;
}

/** Skip reason of a required inquiry-type question none of whose options fits a sales message. */
export const NO_FITTING_OPTION = "no option fits a sales message";

function isEnglishForm(form: FormInfo, lang: string): boolean {
    if (lang.startsWith("en")) {
        return true;
    }
    if (lang.startsWith("ja")) {
        return false;
    }
    const text = form.fields.map((f) => `${f.label} ${f.groupLabel} ${f.placeholder}`).join(" ");
    return !/[\u3040-\u30ff\u4e00-\u9fff]/.test(text) && /[a-z]/i.test(text);
}

/** Whether a phone/postal field wants bare digits rather than the hyphenated form. */
export function wantsDigitsOnly(f: FieldInfo, hyphenated: string): boolean {
    if (f.type === "number" || f.inputMode === "numeric") {
        return true;
    }
    if (f.maxLength !== null && f.maxLength < hyphenated.length) {
        return true;
    }
    if (f.pattern) {
        const re = compilePattern(f.pattern);
        if (re && !re.test(hyphenated) && re.test(hyphenated.replace(/\D/g, ""))) {
            return true;
        }
    }
    const hints = normalizeText(`${f.label} ${f.groupLabel} ${f.placeholder} ${f.title} ${f.trailingText}`);
    if (DIGITS_ONLY_HINT.test(hints)) {
        return true;
    }
    const ph = f.placeholder.normalize("NFKC");
    return /\d{7,}/.test(ph) && !/\d-\d/.test(ph);
}

export function compilePattern(pattern: string): RegExp | null {
    // HTML `pattern` is compiled with the "v" flag in current browsers; fall back to "u".
    for (const flags of ["v", "u"]) {
        try {
            return new RegExp(`^(?:${pattern})$`, flags);
        } catch {
            continue;
        }
    }
    return null;
}

/** Cuts a value to `maxlength`, counted in UTF-16 code units as browsers do, never splitting a character. */
export function fitToMaxLength(value: string, maxLength: number | null): string {
    if (maxLength === null || value.length <= maxLength) {
        return value;
    }
    let out = "";
    for (const ch of value) {
        if (out.length + ch.length > maxLength) {
            break;
        }
        out += ch;
    }
    return out;
}

function kanaScript(f: FieldInfo): "kata" | "hira" {
    const text = `${f.label} ${f.groupLabel} ${f.ariaLabel}`.normalize("NFKC");
    if (/ひらがな|ふりがな|よみがな|(^|[^カ])かな/.test(text)) {
        return "hira";
    }
    if (/カタカナ|フリガナ|カナ|セイ|メイ/.test(text)) {
        return "kata";
    }
    const content = placeholderContentKind(f.placeholder);
    if (content?.script) {
        return content.script;
    }
    return /hira/i.test(f.name) ? "hira" : "kata";
}

/** Chooses the option of a prefecture select that names the client's prefecture. */
export function choosePrefectureOption(options: readonly OptionInfo[], profile: FormProfile): OptionInfo | null {
    if (!profile.prefecture) {
        return null;
    }
    const target = findPrefecture(profile.prefecture);
    if (!target) {
        return null;
    }
    return (
        options.find((o) => !o.disabled && findPrefecture(o.text)?.code === target.code) ??
        options.find((o) => !o.disabled && o.value !== "" && findPrefecture(o.value)?.code === target.code) ??
        null
    );
}

function looksLikePrefectureSelect(f: FieldInfo): boolean {
    const hits = f.options.filter((o) => findPrefecture(o.text) !== undefined).length;
    return (
        hits >= 40 ||
        (hits >= 3 && /都道府県|prefecture|state/.test(normalizeText(`${f.label} ${f.groupLabel} ${f.name}`)))
    );
}

/**
 * Plans every field of a form: kind, split part and the action to take. Fields that share a
 * row (same group key) and kind are split in order (姓/名, three phone inputs, two postal inputs).
 */
export function planForm(form: FormInfo, profile: FormProfile, lang: string): FieldPlan[] {
    const english = isEnglishForm(form, lang);
    const fields = form.fields;
    const classified = fields.map((f): { kind: FieldKind; part: FieldPart } => {
        if (f.tag === "select") {
            return { kind: classifySelect(f), part: "full" };
        }
        if (f.type === "checkbox" || f.type === "radio") {
            return { kind: classifyCheckable(f, fields), part: "full" };
        }
        if (/^(file|date|datetime-local|month|week|time|color|range)$/.test(f.type)) {
            return { kind: "unknown", part: "full" };
        }
        return classifyTextField(f);
    });

    // A "確認用" field right after an e-mail field is its confirmation even without "mail" in it.
    for (let i = 1; i < fields.length; i++) {
        const prev = classified[i - 1];
        const text = normalizeText(`${fields[i].label} ${fields[i].groupLabel} ${fields[i].placeholder}`);
        if (
            prev.kind === "email" &&
            fields[i].tag === "input" &&
            /確認|confirm|再入力|again|retype/.test(text) &&
            classified[i].kind !== "honeypot"
        ) {
            classified[i] = { kind: "email_confirm", part: "full" };
        }
    }
    // Split groups: consecutive fields of one kind in one row.
    const SPLITTABLE: ReadonlySet<FieldKind> = new Set(["name", "name_kana", "phone", "postal", "email"]);
    for (let i = 0; i < fields.length;) {
        const k = classified[i].kind;
        let j = i + 1;
        while (
            j < fields.length &&
            classified[j].kind === k &&
            fields[j].groupKey === fields[i].groupKey &&
            SPLITTABLE.has(k)
        ) {
            j++;
        }
        const size = j - i;
        if (size > 1) {
            // The slice shares the objects, so assignParts updates `classified` in place.
            assignParts(classified.slice(i, j), k, english);
        }
        i = j;
    }
    // Two e-mail fields anywhere: the second one confirms the first.
    const emails = classified.map((c, i) => ({ c, i })).filter(({ c }) => c.kind === "email");
    if (emails.length === 2 && !classified.some((c) => c.kind === "email_confirm")) {
        classified[emails[1].i] = { kind: "email_confirm", part: "full" };
    }

    const hasKind = (k: FieldKind) => classified.some((c, i) => c.kind === k && fields[i].honeypotHints.length === 0);
    const ctx: ValueContext = {
        profile,
        english,
        hasCity: hasKind("city"),
        hasPrefecture: hasKind("prefecture"),
        hasSubject: hasKind("subject"),
    };
    const plans: FieldPlan[] = [];
    const radioDone = new Set<string>();
    let messageTaken = false;
    fields.forEach((f, i) => {
        const { kind, part } = classified[i];
        if (f.type === "radio") {
            if (radioDone.has(f.name)) {
                return;
            }
            radioDone.add(f.name);
            const group = fields.filter((g) => g.type === "radio" && g.name === f.name);
            plans.push(...planRadioGroup(group, kind));
            return;
        }
        if (kind === "message") {
            if (messageTaken && f.tag === "textarea") {
                plans.push({
                    field: f,
                    kind: "unknown",
                    part,
                    action: { kind: "skip", reason: "second free-text area" },
                });
                return;
            }
            messageTaken = true;
        }
        plans.push({ field: f, kind, part, action: actionFor(f, kind, part, ctx, fields) });
    });
    return plans;
}

function assignParts(group: Array<{ kind: FieldKind; part: FieldPart }>, kind: FieldKind, english: boolean): void {
    const explicit = group.map((g) => g.part).filter((p) => p !== "full");
    if (kind === "name" || kind === "name_kana") {
        if (group.length === 2) {
            if (explicit.length === 2 && explicit[0] !== explicit[1]) {
                return;
            }
            let order: FieldPart[] = english && kind === "name" ? ["first", "last"] : ["last", "first"];
            if (explicit.length === 1) {
                const idx = group.findIndex((g) => g.part !== "full");
                const known = group[idx].part;
                const other: FieldPart = known === "last" ? "first" : "last";
                order = idx === 0 ? [known, other] : [other, known];
            }
            group.forEach((g, n) => (g.part = order[n]));
        }
        return;
    }
    if (kind === "phone" && group.length === 3) {
        group.forEach((g, n) => (g.part = String(n + 1) as FieldPart));
        return;
    }
    if (kind === "postal" && group.length === 2) {
        group.forEach((g, n) => (g.part = String(n + 1) as FieldPart));
        return;
    }
    if (kind === "email" && group.length === 2) {
        group[1].kind = "email_confirm";
    }
}

function classifySelect(f: FieldInfo): FieldKind {
    if (looksLikePrefectureSelect(f)) {
        return "prefecture";
    }
    const countryNames = f.options.filter((o) => COUNTRY_OPTIONS.test(normalizeText(o.text))).length;
    if (
        countryNames >= 3 ||
        (countryNames >= 1 && /国|country|region|地域/.test(normalizeText(`${f.label} ${f.groupLabel} ${f.name}`)))
    ) {
        return "country";
    }
    const text = normalizeText(`${f.label} ${f.groupLabel} ${f.ariaLabel}`);
    const idents = `${identTokens(f.name)} ${identTokens(f.id)}`;
    if (
        INQUIRY_LABEL.test(text) ||
        /\b(type|category|kind|shubetsu|syubetsu|subject|topic|inquiry|reason)\b/.test(idents)
    ) {
        return "inquiry_type";
    }
    // Options alone say "inquiry type" only for a select nothing else names ("How did you hear about
    // us?" lists "Partner Referral", which is no topic).
    if (!text && f.options.some((o) => optionScore(o.text) === 3)) {
        return "inquiry_type";
    }
    return "unknown";
}

function classifyCheckable(f: FieldInfo, all: readonly FieldInfo[]): FieldKind {
    if (f.honeypotHints.some((h) => h !== "invisible")) {
        return "honeypot";
    }
    if (f.honeypotHints.includes("invisible")) {
        return "honeypot";
    }
    const own = normalizeText(`${f.label} ${f.ariaLabel}`);
    const group = normalizeText(f.groupLabel);
    const idents = `${identTokens(f.name)} ${identTokens(f.id)}`;
    if (f.type === "checkbox") {
        if (
            NEWSLETTER.test(own) ||
            /\b(newsletter|subscribe|subscription|mailmag|magazine|optin|opt in)\b/.test(idents)
        ) {
            return "newsletter";
        }
        if (CONSENT.test(own) || /\b(agree|consent|privacy|accept|terms|policy|doui|acceptance)\b/.test(idents)) {
            return "consent";
        }
        const siblings = all.filter((g) => g.type === "checkbox" && g.name === f.name);
        if (siblings.length > 1 && (INQUIRY_LABEL.test(group) || siblings.some((s) => optionScore(s.label) === 3))) {
            return "inquiry_type";
        }
        if (CONSENT.test(group)) {
            return "consent";
        }
        return "unknown";
    }
    if (
        INQUIRY_LABEL.test(group) ||
        /\b(type|category|kind|shubetsu|syubetsu|subject|topic|inquiry|reason)\b/.test(idents)
    ) {
        return "inquiry_type";
    }
    return "unknown";
}

function planRadioGroup(group: readonly FieldInfo[], kind: FieldKind): FieldPlan[] {
    const usable = group.filter((g) => g.honeypotHints.length === 0 && g.editable);
    const required = group.some((g) => g.required) || /必須|required|\*/.test(group[0].groupLabel);
    const options = usable.map((g) => ({ g, text: g.label || g.value }));
    let chosen: { g: FieldInfo } | null = null;
    let undecided = false;
    if (kind === "inquiry_type") {
        chosen = chooseOption(options, true);
        // A preselected option stands if nothing fits better; a required question with no fitting
        // option and nothing selected cannot be answered.
        if (!chosen && usable.some((g) => g.checked)) {
            chosen = options.find((o) => o.g.checked) ?? null;
        }
        undecided = !chosen && required;
    } else if (required && !usable.some((g) => g.checked)) {
        chosen = leastCommittal(options);
    }
    return group.map((g) => ({
        field: g,
        kind: kind === "unknown" ? "unknown" : kind,
        part: "full",
        action:
            chosen && chosen.g === g
                ? { kind: "check" as const }
                : {
                      kind: "skip" as const,
                      reason: chosen ? "another option chosen" : undecided ? NO_FITTING_OPTION : "optional question",
                  },
    }));
}

interface ValueContext {
    readonly profile: FormProfile;
    readonly english: boolean;
    readonly hasCity: boolean;
    readonly hasPrefecture: boolean;
    readonly hasSubject: boolean;
}

function actionFor(
    f: FieldInfo,
    kind: FieldKind,
    part: FieldPart,
    ctx: ValueContext,
    all: readonly FieldInfo[],
): FillAction {
    const p = ctx.profile;
    if (kind === "honeypot") {
        return { kind: "skip", reason: `honeypot (${f.honeypotHints.join(", ")})` };
    }
    // A consent box disabled until the policy above it is read to its end: fill.ts scrolls it open.
    if (f.type === "checkbox" && kind === "consent" && !f.editable && !f.checked) {
        return { kind: "check" };
    }
    if (!f.editable) {
        return { kind: "skip", reason: "read-only or disabled" };
    }
    // Invisible text inputs are bot traps; invisible selects are usually styled widgets
    // (select2 and the like) that mirror the real <select>, so those are still set.
    if (!f.visible && f.tag !== "select" && f.type !== "checkbox" && f.type !== "radio") {
        return { kind: "skip", reason: "not visible" };
    }
    if (f.tag === "select") {
        if (kind === "prefecture") {
            const o = choosePrefectureOption(f.options, p);
            return o
                ? { kind: "select", value: o.value, text: o.text }
                : { kind: "skip", reason: "no matching prefecture option" };
        }
        const real = f.options.filter((o) => !isPlaceholderOption(o));
        const required = f.required || /必須|required|\*/.test(`${f.label} ${f.groupLabel}`);
        if (kind === "country") {
            // The sender is a Japanese company (DESIGN.md client_config: prefecture, 〒, 03- numbers).
            const japan = real.find((o) => JAPAN_OPTION.test(normalizeText(o.text)) || /^(jp|jpn)$/i.test(o.value));
            return japan
                ? { kind: "select", value: japan.value, text: japan.text }
                : { kind: "skip", reason: "no option for Japan" };
        }
        if (kind === "inquiry_type") {
            const o = chooseOption(real, true);
            if (o) return { kind: "select", value: o.value, text: o.text };
            return { kind: "skip", reason: required ? NO_FITTING_OPTION : "optional question" };
        }
        const o = required ? leastCommittal(real) : null;
        return o ? { kind: "select", value: o.value, text: o.text } : { kind: "skip", reason: "optional question" };
    }
    if (f.type === "checkbox") {
        if (kind === "consent") {
            return f.checked ? { kind: "skip", reason: "already checked" } : { kind: "check" };
        }
        if (kind === "inquiry_type") {
            const group = all.filter((g) => g.type === "checkbox" && g.name === f.name && g.honeypotHints.length === 0);
            const best = chooseOption(
                group.map((g) => ({ g, text: g.label || g.value })),
                true,
            );
            const required =
                group.some((g) => g.required) || /必須|required|\*|1つ以上|いずれか/.test(normalizeText(f.groupLabel));
            if (!best) {
                return { kind: "skip", reason: required ? NO_FITTING_OPTION : "optional question" };
            }
            return best.g === f && !f.checked ? { kind: "check" } : { kind: "skip", reason: "another option chosen" };
        }
        if (f.required && !f.checked && kind !== "newsletter") {
            return { kind: "check" };
        }
        return {
            kind: "skip",
            reason: kind === "newsletter" ? "newsletter opt-in left unchecked" : "optional checkbox",
        };
    }
    const value = textValue(f, kind, part, ctx);
    if (value === null) {
        return { kind: "skip", reason: kind === "unknown" ? "unrecognised field" : `no ${kind} value to enter` };
    }
    const fitted = fitToMaxLength(widthFor(f, kind, value), f.maxLength);
    return fitted === "" ? { kind: "skip", reason: `empty ${kind} value` } : { kind: "fill", value: fitted };
}

/**
 * The value in the width the field demands: "全角" → full-width digits, hyphens and letters (a
 * person types 「０３－１２３４－５６７８」), "半角" → half-width. Free text, e-mail and URLs stay as they are.
 */
function widthFor(f: FieldInfo, kind: FieldKind, value: string): string {
    if (kind === "message" || kind === "email" || kind === "email_confirm" || kind === "url") {
        return value;
    }
    const hint = `${f.label} ${f.groupLabel} ${f.placeholder} ${f.title} ${f.ariaLabel}`;
    if (/全角/.test(hint) && !/半角/.test(hint)) {
        return toFullWidth(value);
    }
    if (/半角/.test(hint) && !/全角/.test(hint)) {
        return toHalfWidth(value);
    }
    return value;
}

function textValue(f: FieldInfo, kind: FieldKind, part: FieldPart, ctx: ValueContext): string | null {
    const p = ctx.profile;
    switch (kind) {
        case "company":
            return ctx.english ? p.companyEn : p.company;
        case "company_kana":
            return kanaScript(f) === "hira" ? p.companyHira : p.companyKana;
        case "department":
            return p.department || null;
        case "position":
            return p.position || null;
        case "name":
            if (part === "last") return ctx.english ? p.lastNameEn : p.lastName;
            if (part === "first") return ctx.english ? p.firstNameEn : p.firstName;
            return ctx.english ? p.fullNameEn : p.fullName;
        case "name_kana": {
            const hira = kanaScript(f) === "hira";
            if (part === "last") return (hira ? p.lastHira : p.lastKana) || null;
            if (part === "first") return (hira ? p.firstHira : p.firstKana) || null;
            return (hira ? p.fullHira : p.fullKana) || null;
        }
        case "email":
        case "email_confirm":
            return p.email;
        case "phone":
            if (part === "1" || part === "2" || part === "3") return p.phoneParts[Number(part) - 1];
            return wantsDigitsOnly(f, p.phone) ? p.phoneDigits : p.phone;
        case "postal":
            if (!p.postalDigits) return null;
            if (part === "1" || part === "2") return p.postalParts[Number(part) - 1];
            return wantsDigitsOnly(f, p.postalCode) ? p.postalDigits : p.postalCode;
        case "prefecture":
            return (ctx.english ? p.prefectureEn : p.prefecture) || null;
        case "city":
            // Without a prefecture field the prefecture leads the city: "東京都千代田区".
            return p.city ? `${ctx.hasPrefecture || ctx.english ? "" : p.prefecture}${p.city}` : null;
        case "address": {
            const parts = [
                ctx.hasPrefecture || ctx.hasCity ? "" : p.prefecture,
                ctx.hasCity ? "" : p.city,
                p.address,
            ].filter((x) => x);
            return parts.length > 0 ? parts.join(ctx.english ? ", " : "") : null;
        }
        case "url":
            return p.websiteUrl || null;
        case "subject": {
            if (p.subject) return p.subject;
            const firstLine = p.body.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
            return firstLine.slice(0, 40) || null;
        }
        case "message":
            return p.body;
        case "building":
        case "fax":
        case "password":
        case "search":
        case "unknown":
        default:
            return null;
    }
}
