// Words and numbers. A count the Beacon marks as an upper bound (a small count: "at least 1 and
// at most N", beacon/README.md "What each caller sees") is shown as "≤ N", never as N: a small
// count is never shown as exact, nor larger than the Beacon said. A count the Beacon gives only as
// a minimum (lowerBounds) is shown as "≥ N".

let words = {};
let language = 'en';

export function setWords(messages, lang) {
    words = messages;
    language = lang;
}

export function t(key, values) {
    let text = words[key] === undefined ? key : words[key];
    for (const [name, value] of Object.entries(values || {})) text = text.split(`{${name}}`).join(String(value));
    return text;
}

export function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}

const formats = new Map(); // Intl.NumberFormat is costly to make: one per language

export function integer(value) {
    if (value === null || value === undefined) return '';
    if (!formats.has(language)) formats.set(language, new Intl.NumberFormat(language === 'da' ? 'da-DK' : 'en-GB'));
    return formats.get(language).format(value);
}

// Three significant digits; an upper bound is rounded up, so that it stays a bound.
export function frequency(value, upperBound) {
    if (value === null || value === undefined) return '';
    if (value === 0) return '0';
    let shown = value;
    if (upperBound) {
        const scale = 10 ** (2 - Math.floor(Math.log10(value)));
        shown = Math.ceil(value * scale - 1e-9) / scale;
    }
    const text = shown >= 0.001 ? shown.toPrecision(3) : shown.toExponential(2);
    return language === 'da' ? text.replace('.', ',') : text;
}

// One cell of a frequency item: {text, bound, value} (value for sorting and export). ``bound``
// is 'upper' ("≤ n": a small count, at least 1 and at most n) or 'lower' ("≥ n": a count the
// Beacon shows only as a minimum, so that no small count can be worked out from the others).
export function cell(item, field) {
    if (!item || item[field] === undefined || item[field] === null) return {text: '', bound: null, value: null};
    const value = item[field];
    const bound = (item.upperBounds || []).includes(field) ? 'upper'
        : (item.lowerBounds || []).includes(field) ? 'lower' : null;
    const shown = field === 'alleleFrequency' ? frequency(value, bound === 'upper') : integer(value);
    const prefix = bound === 'upper' ? '≤ ' : bound === 'lower' ? '≥ ' : '';
    return {text: prefix + shown, bound, value};
}

export function boundTitle(c) {
    if (c.bound === 'upper') return t('bound.title', {n: c.text.slice(2)});
    if (c.bound === 'lower') return t('bound.lower', {n: c.text.slice(2)});
    return '';
}

// The plain-text form of a cell for CSV/TSV: "<=4" and ">=1" for bounds (the same rule).
export function exportCell(item, field) {
    const c = cell(item, field);
    if (c.value === null) return '';
    return c.bound === 'upper' ? `<=${c.value}` : c.bound === 'lower' ? `>=${c.value}` : String(c.value);
}
