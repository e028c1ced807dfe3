// The browser's one path to the data: the node's own Beacon v2 API (POST /g_variants at record
// granularity), called with the signed-in user's token, if any. Every number the pages show is a
// number of a Beacon answer, after the privacy gate (permits, granularity, small counts, budget);
// the pages add no second path (decision record 0032).

const PAGE_SIZE = 1000; // the Beacon's largest page (beacon/README.md "Pagination")

export class Beacon {
    constructor(base, token) {
        this.base = base; // e.g. /ga4gh/beacon/v2
        this.token = token; // a function returning the bearer token or null
    }

    // resultsets: 'ALL' lists the datasets without a match too (a variant page says how many
    // were called at the site there); the default lists the ones with a match.
    body(requestParameters, filters, skip, limit, resultsets) {
        const query = {requestParameters, requestedGranularity: 'record', pagination: {skip, limit}};
        if (filters && filters.length) query.filters = filters;
        if (resultsets) query.includeResultsetResponses = resultsets;
        return {meta: {apiVersion: 'v2.1.1'}, query};
    }

    async post(body) {
        const headers = {'Content-Type': 'application/json', Accept: 'application/json'};
        const token = this.token();
        if (token) headers.Authorization = `Bearer ${token}`;
        const response = await fetch(`${this.base}/g_variants`, {method: 'POST', headers, body: JSON.stringify(body)});
        const answer = await response.json().catch(() => null);
        if (!response.ok || !answer || answer.error) {
            const message = answer && answer.error ? answer.error.errorMessage : `HTTP ${response.status}`;
            const error = new Error(message);
            error.status = response.status;
            throw error;
        }
        return answer;
    }

    // Every record of a query, one Beacon page at a time; onPage(rows, answer) after each.
    // skip counts pages (beacon/README.md); a page shorter than PAGE_SIZE in every set ends it.
    async records(requestParameters, filters, onPage, resultsets) {
        const rows = [];
        const datasets = new Map();
        for (let page = 0; ; page++) {
            const answer = await this.post(this.body(requestParameters, filters, page, PAGE_SIZE, resultsets));
            const pageRows = rowsOf(answer);
            rows.push(...pageRows);
            for (const set of answer.response ? answer.response.resultSets || [] : []) {
                datasets.set(set.id, setSummary(set));
            }
            if (onPage && (pageRows.length || page === 0)) onPage(pageRows, answer, page);
            const sets = answer.response ? answer.response.resultSets || [] : [];
            const longest = Math.max(0, ...sets.map(s => (s.results || []).length));
            // a set's exact resultsCount says when its last page has come: no empty page more
            const more = sets.some(s => (s.results || []).length === PAGE_SIZE
                && !(s.countPrecision !== 'imprecise' && s.resultsCount <= (page + 1) * PAGE_SIZE));
            if (longest < PAGE_SIZE || !more) break;
        }
        return {rows, datasets: [...datasets.values()]};
    }

    // The documented API call that returns the same records: what the page sent, as curl.
    apiCall(requestParameters, filters, resultsets) {
        const body = JSON.stringify(this.body(requestParameters, filters, 0, PAGE_SIZE, resultsets));
        const url = new URL(`${this.base}/g_variants`, window.location.href).href;
        const auth = this.token() ? ` -H "Authorization: Bearer $TOKEN"` : '';
        return `curl -s -X POST${auth} -H 'Content-Type: application/json' -d '${body}' '${url}'`;
    }
}

function setSummary(set) {
    return {
        id: set.id,
        exists: Boolean(set.exists),
        granularity: (set.info && set.info.returnedGranularity) || 'record',
        resultsCount: set.resultsCount,
        countPrecision: set.countPrecision || 'exact',
        // chromosomes called at a sequence query's site, where the dataset has no such allele
        siteAlleleNumber: set.info && set.info.alleleNumberAtSite !== undefined ? set.info.alleleNumberAtSite : null,
    };
}

// A variantInternalId is assembly:chrom:pos:ref:alt (1-based pos); else the VRS location tells.
function alleleOf(record) {
    const parts = String(record.variantInternalId || '').split(':');
    if (parts.length === 5 && /^\d+$/.test(parts[2])) {
        return {assembly: parts[0], chrom: parts[1], pos: Number(parts[2]), ref: parts[3], alt: parts[4]};
    }
    const variation = record.variation || {};
    const start = variation.location && variation.location.interval ? variation.location.interval.start.value : null;
    return {assembly: '', chrom: '', pos: start === null ? null : start + 1, ref: '', alt: (variation.state || {}).sequence || ''};
}

// Consequence classes as gnomAD groups them (Sequence Ontology terms of the annotation).
const LOF = new Set(['transcript_ablation', 'splice_acceptor_variant', 'splice_donor_variant', 'stop_gained',
    'frameshift_variant', 'start_lost', 'stop_lost']);
const MISSENSE = new Set(['missense_variant', 'inframe_insertion', 'inframe_deletion', 'protein_altering_variant',
    'disruptive_inframe_insertion', 'disruptive_inframe_deletion', 'conservative_inframe_insertion',
    'conservative_inframe_deletion']);
const SYNONYMOUS = new Set(['synonymous_variant', 'stop_retained_variant', 'start_retained_variant']);

export function consequenceClass(effects) {
    const terms = effects.map(e => e.replace(/ /g, '_'));
    if (terms.some(e => LOF.has(e))) return 'lof';
    if (terms.some(e => MISSENSE.has(e))) return 'missense';
    if (terms.some(e => SYNONYMOUS.has(e))) return 'synonymous';
    return terms.length ? 'other' : 'none';
}

// The worst consequence first (the order of the classes), for the table's one column.
export const CLASS_ORDER = ['lof', 'missense', 'synonymous', 'other', 'none'];

// One row per variant and dataset; boolean-only sets give no rows (setSummary tells of them).
export function rowsOf(answer) {
    const rows = [];
    for (const set of answer.response ? answer.response.resultSets || [] : []) {
        for (const record of set.results || []) {
            const allele = alleleOf(record);
            const molecular = record.molecularAttributes || {};
            const identifiers = record.identifiers || {};
            const info = record.info || {};
            const effects = (molecular.molecularEffects || []).map(e => e.label);
            const sources = record.frequencyInPopulations || [];
            const items = sources.length ? sources[0].frequencies || [] : [];
            rows.push({
                ...allele,
                id: record.variantInternalId,
                slug: `${allele.chrom}-${allele.pos}-${allele.ref}-${allele.alt}`,
                dataset: set.id,
                source: sources.length ? sources[0].source : '',
                version: sources.length ? sources[0].version : '',
                items,
                overall: items.length ? items[items.length - 1] : null,
                filters: info.filterStatus || [],
                genes: molecular.geneIds || [],
                effects,
                consequence: consequenceClass(effects),
                aminoacidChanges: molecular.aminoacidChanges || [],
                genomicHgvs: identifiers.genomicHGVSId || '',
                transcriptHgvs: identifiers.transcriptHGVSIds || [],
                proteinHgvs: identifiers.proteinHGVSIds || [],
                xrefs: (identifiers.variantAlternativeIds || []).map(x => x.id),
                transcripts: info.transcriptConsequences || [],
            });
        }
    }
    return rows;
}
