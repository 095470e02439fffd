/**
 * The 47 prefectures with their JIS X 0401 codes and romanised names. Prefecture selects on
 * contact forms use any of the three as option value or text ("13", "東京都", "東京", "Tokyo").
 */
export interface Prefecture {
    readonly code: number;
    readonly ja: string;
    readonly en: string;
}

const TABLE: ReadonlyArray<[number, string, string]> = [
    [1, "北海道", "Hokkaido"],
    [2, "青森県", "Aomori"],
    [3, "岩手県", "Iwate"],
    [4, "宮城県", "Miyagi"],
    [5, "秋田県", "Akita"],
    [6, "山形県", "Yamagata"],
    [7, "福島県", "Fukushima"],
    [8, "茨城県", "Ibaraki"],
    [9, "栃木県", "Tochigi"],
    [10, "群馬県", "Gunma"],
    [11, "埼玉県", "Saitama"],
    [12, "千葉県", "Chiba"],
    [13, "東京都", "Tokyo"],
    [14, "神奈川県", "Kanagawa"],
    [15, "新潟県", "Niigata"],
    [16, "富山県", "Toyama"],
    [17, "石川県", "Ishikawa"],
    [18, "福井県", "Fukui"],
    [19, "山梨県", "Yamanashi"],
    [20, "長野県", "Nagano"],
    [21, "岐阜県", "Gifu"],
    [22, "静岡県", "Shizuoka"],
    [23, "愛知県", "Aichi"],
    [24, "三重県", "Mie"],
    [25, "滋賀県", "Shiga"],
    [26, "京都府", "Kyoto"],
    [27, "大阪府", "Osaka"],
    [28, "兵庫県", "Hyogo"],
    [29, "奈良県", "Nara"],
    [30, "和歌山県", "Wakayama"],
    [31, "鳥取県", "Tottori"],
    [32, "島根県", "Shimane"],
    [33, "岡山県", "Okayama"],
    [34, "広島県", "Hiroshima"],
    [35, "山口県", "Yamaguchi"],
    [36, "徳島県", "Tokushima"],
    [37, "香川県", "Kagawa"],
    [38, "愛媛県", "Ehime"],
    [39, "高知県", "Kochi"],
    [40, "福岡県", "Fukuoka"],
    [41, "佐賀県", "Saga"],
    [42, "長崎県", "Nagasaki"],
    [43, "熊本県", "Kumamoto"],
    [44, "大分県", "Oita"],
    [45, "宮崎県", "Miyazaki"],
    [46, "鹿児島県", "Kagoshima"],
    [47, "沖縄県", "Okinawa"],
];

export const PREFECTURES: ReadonlyArray<Prefecture> = TABLE.map(([code, ja, en]) => ({ code, ja, en }));

/** "東京都" → "東京", "北海道" stays whole: the short form many selects use as option text. */
export function shortPrefectureName(ja: string): string {
    return ja === "北海道" ? ja : ja.replace(/[都府県]$/, "");
}

/** Finds a prefecture from Japanese (with or without 都/府/県), romanised name or JIS code. */
export function findPrefecture(value: string): Prefecture | undefined {
    const v = value
        .normalize("NFKC")
        .trim()
        .toLowerCase()
        .replace(/[\s-]+(prefecture|pref\.?|to|fu|ken)$/, "");
    if (v === "") {
        return undefined;
    }
    return PREFECTURES.find(
        (p) =>
            p.ja === v ||
            shortPrefectureName(p.ja) === v ||
            p.en.toLowerCase() === v ||
            String(p.code) === v.replace(/^0+/, ""),
    );
}
