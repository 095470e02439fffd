/**
 * Everything a contact form may ask for, derived once from a validated client_config.
 * DESIGN.md: the config carries only the canonical fields; full names, hiragana readings,
 * split phone/postal parts and the e-mail confirmation are derived here, never sent.
 */
import { findPrefecture, shortPrefectureName } from "./prefectures";

/** The part of client_config the runner fills forms from (see functions/formSender/clientConfig.ts). */
export interface ClientConfigLike {
    readonly client: {
        readonly company_name: string;
        readonly company_name_kana?: string;
        readonly company_name_en?: string;
        readonly last_name: string;
        readonly first_name: string;
        readonly last_name_kana?: string;
        readonly first_name_kana?: string;
        readonly last_name_en?: string;
        readonly first_name_en?: string;
        readonly email: string;
        readonly phone: string;
        readonly postal_code?: string;
        readonly prefecture?: string;
        readonly city?: string;
        readonly address?: string;
        readonly department?: string;
        readonly position?: string;
        readonly website_url?: string;
    };
    readonly message: { readonly subject?: string; readonly body: string };
    readonly targeting?: { readonly send_start_time?: string; readonly send_end_time?: string };
}

export interface FormProfile {
    readonly company: string;
    readonly companyKana: string;
    readonly companyHira: string;
    readonly companyEn: string;
    readonly lastName: string;
    readonly firstName: string;
    readonly fullName: string;
    readonly lastKana: string;
    readonly firstKana: string;
    readonly fullKana: string;
    readonly lastHira: string;
    readonly firstHira: string;
    readonly fullHira: string;
    readonly lastNameEn: string;
    readonly firstNameEn: string;
    /** Western order, as English forms expect: "Taro Yamada". */
    readonly fullNameEn: string;
    readonly email: string;
    readonly phone: string;
    readonly phoneDigits: string;
    /** Area code, exchange, subscriber number for forms with three phone inputs. */
    readonly phoneParts: readonly [string, string, string];
    readonly postalCode: string;
    readonly postalDigits: string;
    readonly postalParts: readonly [string, string];
    /** Canonical Japanese name ("東京都"), or "" when the config has none. */
    readonly prefecture: string;
    readonly prefectureShort: string;
    readonly prefectureEn: string;
    readonly prefectureCode: number | null;
    readonly city: string;
    readonly address: string;
    readonly department: string;
    readonly position: string;
    readonly websiteUrl: string;
    readonly subject: string;
    readonly body: string;
}

/** Katakana → hiragana (the two blocks are 0x60 apart); other characters pass through. */
export function katakanaToHiragana(s: string): string {
    return s.normalize("NFKC").replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
}

/** Hiragana → katakana, for configs that give readings in hiragana. */
export function hiraganaToKatakana(s: string): string {
    return s.normalize("NFKC").replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
}

/**
 * Splits a Japanese phone number into three parts. A hyphenated number is split where it is
 * hyphenated; a bare one by the common shapes (mobile 3-4-4, Tokyo/Osaka 2-4-4, else 3-3-4).
 */
export function splitPhone(phone: string): [string, string, string] {
    const norm = phone.normalize("NFKC").trim();
    const hyphenated = norm.split(/[-\s()]+/).filter((p) => p !== "");
    if (hyphenated.length === 3) {
        return [hyphenated[0], hyphenated[1], hyphenated[2]];
    }
    const d = norm.replace(/\D/g, "");
    if (/^0[5789]0/.test(d) && d.length === 11) {
        return [d.slice(0, 3), d.slice(3, 7), d.slice(7)];
    }
    if (/^0[36]/.test(d) && d.length === 10) {
        return [d.slice(0, 2), d.slice(2, 6), d.slice(6)];
    }
    return [d.slice(0, 3), d.slice(3, d.length - 4), d.slice(d.length - 4)];
}

export function splitPostal(postal: string): [string, string] {
    const d = postal.normalize("NFKC").replace(/\D/g, "");
    return [d.slice(0, 3), d.slice(3)];
}

export function buildProfile(config: ClientConfigLike): FormProfile {
    const c = config.client;
    const lastKana = hiraganaToKatakana(c.last_name_kana ?? "");
    const firstKana = hiraganaToKatakana(c.first_name_kana ?? "");
    const companyKana = hiraganaToKatakana(c.company_name_kana ?? "");
    const pref = findPrefecture(c.prefecture ?? "");
    const phone = c.phone.normalize("NFKC").trim();
    const postal = (c.postal_code ?? "").normalize("NFKC").trim();
    const postalDigits = postal.replace(/\D/g, "");
    const lastNameEn = c.last_name_en ?? "";
    const firstNameEn = c.first_name_en ?? "";
    return {
        company: c.company_name,
        companyKana,
        companyHira: katakanaToHiragana(companyKana),
        companyEn: c.company_name_en ?? c.company_name,
        lastName: c.last_name,
        firstName: c.first_name,
        fullName: `${c.last_name} ${c.first_name}`,
        lastKana,
        firstKana,
        fullKana: lastKana && firstKana ? `${lastKana} ${firstKana}` : lastKana || firstKana,
        lastHira: katakanaToHiragana(lastKana),
        firstHira: katakanaToHiragana(firstKana),
        fullHira: katakanaToHiragana(lastKana && firstKana ? `${lastKana} ${firstKana}` : lastKana || firstKana),
        lastNameEn: lastNameEn || c.last_name,
        firstNameEn: firstNameEn || c.first_name,
        fullNameEn: lastNameEn && firstNameEn ? `${firstNameEn} ${lastNameEn}` : `${c.last_name} ${c.first_name}`,
        email: c.email.trim(),
        phone,
        phoneDigits: phone.replace(/\D/g, ""),
        phoneParts: splitPhone(phone),
        postalCode: postalDigits.length === 7 ? `${postalDigits.slice(0, 3)}-${postalDigits.slice(3)}` : postal,
        postalDigits,
        postalParts: splitPostal(postal),
        prefecture: pref?.ja ?? c.prefecture ?? "",
        prefectureShort: pref ? shortPrefectureName(pref.ja) : (c.prefecture ?? ""),
        prefectureEn: pref?.en ?? "",
        prefectureCode: pref?.code ?? null,
        city: c.city ?? "",
        address: c.address ?? "",
        department: c.department ?? "",
        position: c.position ?? "",
        websiteUrl: c.website_url ?? "",
        subject: config.message.subject ?? "",
        body: config.message.body,
    };
}
