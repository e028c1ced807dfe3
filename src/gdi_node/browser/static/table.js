// The variant table of gene and region pages: sortable columns, filters (consequence class,
// frequency range, PASS only), pages of PAGE_SIZES rows (a table of 2,000 rows takes the
// browser half a second to lay out; a page of 100 a few milliseconds) and CSV/TSV export of
// every row the filters keep, in the order shown.
import {CLASS_ORDER} from './beacon.js';
import {boundTitle, cell, escapeHtml, exportCell, t} from './format.js';

const NUMBERS = ['alleleCount', 'alleleNumber', 'alleleFrequency', 'alleleCountHomozygous',
    'alleleCountHeterozygous', 'alleleCountHemizygous'];
export const HEADINGS = {
    alleleCount: 'col.ac', alleleNumber: 'col.an', alleleFrequency: 'col.af', alleleCountHomozygous: 'col.hom',
    alleleCountHeterozygous: 'col.het', alleleCountHemizygous: 'col.hemi',
};
const PAGE_SIZES = [50, 100, 250, 1000];
export const COLUMNS = ['variant', 'dataset', 'consequence', 'hgvs', ...NUMBERS, 'filter'];

function hgvsOf(row) {
    return row.proteinHgvs[0] || row.transcriptHgvs[0] || row.genomicHgvs || '';
}

function sortValue(row, column) {
    if (column === 'variant') return [row.assembly, row.chrom.padStart(3, '0'), row.pos, row.ref, row.alt];
    if (column === 'dataset') return [row.dataset];
    if (column === 'consequence') return [CLASS_ORDER.indexOf(row.consequence), row.effects.join(',')];
    if (column === 'hgvs') return [hgvsOf(row)];
    if (column === 'filter') return [row.filters.join(',')];
    const c = cell(row.overall, column);
    return [c.value === null ? -1 : c.value];
}

function compare(a, b) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (a[i] < b[i]) return -1;
        if (a[i] > b[i]) return 1;
    }
    return 0;
}

export class VariantTable {
    constructor(root, base, assembly) {
        this.root = root;
        this.base = base;
        this.rows = [];
        this.shown = [];
        this.sort = {column: 'variant', direction: 1};
        this.page = 0;
        this.pageSize = 100;
        this.filters = {classes: new Set(CLASS_ORDER), afMin: null, afMax: null, passOnly: false};
        this.onChange = () => {};
        this.render();
    }

    setRows(rows) {
        this.rows = rows;
        this.apply(true);
    }

    // The rows the filters keep, in the chosen order; back to the first page unless ``keepPage``.
    apply(keepPage) {
        if (!keepPage) this.page = 0;
        const {classes, afMin, afMax, passOnly} = this.filters;
        const kept = this.rows.filter(row => {
            if (!classes.has(row.consequence)) return false;
            if (passOnly && !(row.filters.length === 1 && row.filters[0] === 'PASS')) return false;
            const af = row.overall ? row.overall.alleleFrequency : null;
            if (afMin !== null && (af === null || af < afMin)) return false;
            // an upper bound may be above a maximum while the true value is not: keep it
            const bound = row.overall && (row.overall.upperBounds || []).includes('alleleFrequency');
            if (afMax !== null && af !== null && af > afMax && !bound) return false;
            return true;
        });
        const {column, direction} = this.sort;
        const keyed = kept.map(row => {
            row.keys = row.keys || {};
            if (!(column in row.keys)) row.keys[column] = sortValue(row, column);
            return [row.keys[column], row];
        });
        keyed.sort((a, b) => direction * compare(a[0], b[0]));
        this.shown = keyed.map(pair => pair[1]);
        this.renderBody();
        this.onChange(this.shown);
    }

    render() {
        const classBoxes = CLASS_ORDER.map(name => `<label class="check"><input type="checkbox" data-class="${name}" checked> ${escapeHtml(t(`class.${name}`))}</label>`).join('');
        const heads = COLUMNS.map(column => {
            const label = escapeHtml(t(HEADINGS[column] || `col.${column}`));
            return `<th scope="col" data-column="${column}" aria-sort="none"><button type="button" class="sort">${label}</button></th>`;
        }).join('');
        this.root.innerHTML = `
<fieldset class="filters"><legend>${escapeHtml(t('filter.legend'))}</legend>
  <div class="classes" role="group" aria-label="${escapeHtml(t('filter.classes'))}">${classBoxes}</div>
  <label>${escapeHtml(t('filter.af_min'))} <input type="number" step="any" min="0" max="1" inputmode="decimal" data-filter="afMin"></label>
  <label>${escapeHtml(t('filter.af_max'))} <input type="number" step="any" min="0" max="1" inputmode="decimal" data-filter="afMax"></label>
  <label class="check"><input type="checkbox" data-filter="passOnly"> ${escapeHtml(t('filter.pass_only'))}</label>
</fieldset>
<p class="table-count" role="status" aria-live="polite"></p>
<nav class="pager" aria-label="${escapeHtml(t('pager.label'))}">
  <button type="button" data-page="previous">${escapeHtml(t('pager.previous'))}</button>
  <span class="pager-rows"></span>
  <button type="button" data-page="next">${escapeHtml(t('pager.next'))}</button>
  <label>${escapeHtml(t('pager.size'))} <select data-page-size>${PAGE_SIZES.map(n => `<option value="${n}"${n === this.pageSize ? ' selected' : ''}>${n}</option>`).join('')}</select></label>
</nav>
<div class="export">
  <button type="button" data-export="csv">${escapeHtml(t('export.csv'))}</button>
  <button type="button" data-export="tsv">${escapeHtml(t('export.tsv'))}</button>
</div>
<div class="table-scroll" tabindex="0" role="region" aria-label="${escapeHtml(t('table.label'))}">
<table class="variants"><caption class="visually-hidden">${escapeHtml(t('table.label'))}</caption>
<thead><tr>${heads}</tr></thead><tbody></tbody></table></div>`;
        this.root.querySelectorAll('input[data-class]').forEach(box => box.addEventListener('change', () => {
            if (box.checked) this.filters.classes.add(box.dataset.class);
            else this.filters.classes.delete(box.dataset.class);
            this.apply();
        }));
        this.root.querySelectorAll('input[data-filter]').forEach(input => input.addEventListener('input', () => {
            const name = input.dataset.filter;
            if (name === 'passOnly') this.filters.passOnly = input.checked;
            else this.filters[name] = input.value === '' || Number.isNaN(Number(input.value)) ? null : Number(input.value);
            this.apply();
        }));
        this.root.querySelectorAll('th button.sort').forEach(button => button.addEventListener('click', () => {
            const column = button.parentElement.dataset.column;
            this.sort = {column, direction: this.sort.column === column ? -this.sort.direction : 1};
            this.root.querySelectorAll('th').forEach(th => th.setAttribute('aria-sort',
                th.dataset.column === column ? (this.sort.direction > 0 ? 'ascending' : 'descending') : 'none'));
            this.apply();
        }));
        this.root.querySelectorAll('button[data-page]').forEach(button => button.addEventListener('click', () => {
            this.showPage(this.page + (button.dataset.page === 'next' ? 1 : -1));
        }));
        this.root.querySelector('select[data-page-size]').addEventListener('change', event => {
            this.pageSize = Number(event.target.value);
            this.showPage(0);
        });
        this.root.querySelectorAll('button[data-export]').forEach(button => button.addEventListener('click', () => {
            this.download(button.dataset.export);
        }));
    }

    // A row's HTML, made once per row (sorting and filtering only reorder them).
    rowHtml(row) {
        if (row.html) return row.html;
        const link = `${this.base}/variant/${encodeURIComponent(row.assembly)}/${encodeURIComponent(row.slug)}`;
        const numbers = NUMBERS.map(field => {
            const c = cell(row.overall, field);
            const title = c.bound ? ` title="${escapeHtml(boundTitle(c))}"` : '';
            return `<td class="num${c.bound ? ' bound' : ''}"${title}>${escapeHtml(c.text)}</td>`;
        }).join('');
        const consequence = row.effects.length ? row.effects.join(', ') : '';
        row.html = `<tr><td><a href="${link}">${escapeHtml(row.slug)}</a></td><td>${escapeHtml(row.dataset)}</td>`
            + `<td class="class-${row.consequence}">${escapeHtml(consequence)}</td><td>${escapeHtml(hgvsOf(row))}</td>`
            + `${numbers}<td>${escapeHtml(row.filters.join(';'))}</td></tr>`;
        return row.html;
    }

    pages() {
        return Math.max(1, Math.ceil(this.shown.length / this.pageSize));
    }

    showPage(page) {
        this.page = Math.min(Math.max(0, page), this.pages() - 1);
        this.renderBody();
    }

    renderBody() {
        this.page = Math.min(this.page, this.pages() - 1);
        const first = this.page * this.pageSize;
        const rows = this.shown.slice(first, first + this.pageSize);
        this.root.querySelector('tbody').innerHTML = rows.map(row => this.rowHtml(row)).join('');
        this.root.querySelector('.table-count').textContent = t('table.count', {shown: this.shown.length, total: this.rows.length});
        const last = first + rows.length;
        this.root.querySelector('.pager-rows').textContent = t('pager.rows', {first: rows.length ? first + 1 : 0, last, shown: this.shown.length});
        this.root.querySelector('button[data-page=previous]').disabled = this.page === 0;
        this.root.querySelector('button[data-page=next]').disabled = last >= this.shown.length;
    }

    // The rows shown, with ids and consequences, as CSV or TSV (RFC 4180 quoting for CSV).
    exportText(kind) {
        const separator = kind === 'tsv' ? '\t' : ',';
        const quote = value => {
            const text = String(value);
            if (kind === 'tsv') return text.replace(/[\t\n\r]/g, ' ');
            return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
        };
        const header = ['variant_id', 'assembly', 'chrom', 'pos', 'ref', 'alt', 'dataset', 'genes', 'consequences',
            'hgvs_c', 'hgvs_p', 'rsids', 'ac', 'an', 'af', 'hom', 'het', 'hemi', 'filter'];
        const lines = [header.join(separator)];
        for (const row of this.shown) {
            const values = [row.id, row.assembly, row.chrom, row.pos, row.ref, row.alt, row.dataset,
                row.genes.join(';'), row.effects.join(';'), row.transcriptHgvs.join(';'), row.proteinHgvs.join(';'),
                row.xrefs.join(';'), ...NUMBERS.map(field => exportCell(row.overall, field)), row.filters.join(';')];
            lines.push(values.map(quote).join(separator));
        }
        return lines.join('\r\n') + '\r\n';
    }

    download(kind) {
        const type = kind === 'tsv' ? 'text/tab-separated-values' : 'text/csv';
        const blob = new Blob([this.exportText(kind)], {type: `${type};charset=utf-8`});
        const link = document.createElement('a');
        link.href = URL.createObjectURL(blob);
        link.download = `variants.${kind}`;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    }
}
