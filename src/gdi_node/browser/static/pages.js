// The variant page and the variant lists (gene, region, HGVS, rsID pages), all drawn from the
// Beacon's record answers (beacon.js).
import {boundTitle, cell, escapeHtml, integer, t} from './format.js';
import {drawPlot} from './plot.js';
import {HEADINGS, VariantTable} from './table.js';

const FIELDS = ['alleleCount', 'alleleNumber', 'alleleFrequency', 'alleleCountHomozygous',
    'alleleCountHeterozygous', 'alleleCountHemizygous'];

function populationLabel(population, overall) {
    if (population === overall) return t('pop.all');
    const match = /^(.*)_([MF])$/.exec(population);
    if (!match) return population;
    const sex = t(match[2] === 'F' ? 'pop.female' : 'pop.male');
    return match[1] === overall ? sex : `${match[1]}, ${sex}`;
}

function numbersRow(item, label) {
    const cells = FIELDS.map(field => {
        const c = cell(item, field);
        const title = c.bound ? ` title="${escapeHtml(boundTitle(c))}"` : '';
        return `<td class="num${c.bound ? ' bound' : ''}" data-field="${field}"${title}>${escapeHtml(c.text)}</td>`;
    }).join('');
    return `<tr><th scope="row">${escapeHtml(label)}</th>${cells}</tr>`;
}

function frequencyTable(row) {
    const overall = row.overall ? row.overall.population : '';
    const heads = FIELDS.map(f => `<th scope="col">${escapeHtml(t(HEADINGS[f]))}</th>`).join('');
    const body = row.items.map(item => numbersRow(item, populationLabel(item.population, overall))).join('');
    return `<table class="populations" data-dataset="${escapeHtml(row.dataset)}"><caption>${escapeHtml(t('variant.populations', {dataset: row.dataset}))}</caption>
<thead><tr><th scope="col">${escapeHtml(t('col.population'))}</th>${heads}</tr></thead><tbody>${body}</tbody></table>`;
}

function externalLinks(assembly, chrom, pos, ref, alt, xrefs) {
    const hg = assembly === 'GRCh37' ? 'hg19' : 'hg38';
    const gnomad = assembly === 'GRCh37' ? 'gnomad_r2_1' : 'gnomad_r4';
    const ensembl = assembly === 'GRCh37' ? 'https://grch37.ensembl.org' : 'https://www.ensembl.org';
    const clinvarPos = assembly === 'GRCh37' ? 'chrpos37' : 'chrpos38';
    const links = [
        ['ClinVar', `https://www.ncbi.nlm.nih.gov/clinvar/?term=${chrom}[chr]+AND+${pos}[${clinvarPos}]`],
        ['gnomAD', `https://gnomad.broadinstitute.org/variant/${chrom}-${pos}-${ref}-${alt}?dataset=${gnomad}`],
        ['UCSC', `https://genome.ucsc.edu/cgi-bin/hgTracks?db=${hg}&position=chr${chrom}:${pos}-${pos + Math.max(ref.length - 1, 0)}`],
        ['Ensembl', `${ensembl}/Homo_sapiens/Location/View?r=${chrom}:${pos}-${pos + Math.max(ref.length - 1, 0)}`],
    ];
    for (const xref of xrefs) {
        const rs = /^dbSNP:(rs\d+)$/.exec(xref);
        if (rs) links.push([`dbSNP ${rs[1]}`, `https://www.ncbi.nlm.nih.gov/snp/${rs[1]}`]);
    }
    return `<ul class="links">${links.map(([label, href]) => `<li><a href="${escapeHtml(href)}" rel="noopener noreferrer external">${escapeHtml(label)}</a></li>`).join('')}</ul>`;
}

function transcriptTable(rows) {
    const seen = new Map();
    for (const row of rows) for (const tc of row.transcripts) seen.set(`${tc.feature}|${tc.hgvsc}`, tc);
    if (seen.size) {
        const body = [...seen.values()].map(tc => `<tr><td>${escapeHtml(tc.gene || '')}</td><td>${escapeHtml(tc.feature || '')}</td>`
            + `<td>${escapeHtml((tc.effects || []).map(e => e.replace(/_/g, ' ')).join(', '))}</td><td>${escapeHtml(tc.hgvsc || '')}</td><td>${escapeHtml(tc.hgvsp || '')}</td></tr>`).join('');
        return `<table class="transcripts"><caption>${escapeHtml(t('variant.transcripts'))}</caption><thead><tr>`
            + ['col.gene', 'col.transcript', 'col.consequence', 'col.hgvs_c', 'col.hgvs_p'].map(k => `<th scope="col">${escapeHtml(t(k))}</th>`).join('')
            + `</tr></thead><tbody>${body}</tbody></table>`;
    }
    const row = rows[0];
    const parts = [[t('col.gene'), row.genes.join(', ')], [t('col.consequence'), row.effects.join(', ')],
        [t('col.hgvs_c'), row.transcriptHgvs.join(', ')], [t('col.hgvs_p'), row.proteinHgvs.join(', ')]];
    return `<dl class="annotation">${parts.filter(p => p[1]).map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

function hiddenSets(datasets) {
    const hidden = datasets.filter(d => d.exists && d.granularity !== 'record');
    if (!hidden.length) return '';
    const items = hidden.map(d => `<li>${escapeHtml(t(d.granularity === 'count' ? 'sets.count' : 'sets.boolean', {dataset: d.id, count: d.resultsCount}))}</li>`).join('');
    return `<section class="hidden-sets"><h2>${escapeHtml(t('sets.heading'))}</h2><ul>${items}</ul><p>${escapeHtml(t('sets.signin'))}</p></section>`;
}

function apiCallBlock(beacon, parameters, filters, resultsets) {
    return `<details class="api-call"><summary>${escapeHtml(t('api.summary'))}</summary><p>${escapeHtml(t('api.explain'))}</p>`
        + `<pre><code>${escapeHtml(beacon.apiCall(parameters, filters, resultsets))}</code></pre></details>`;
}

// Datasets without the allele: how many chromosomes were called at its site there, so that
// "absent" (called, nobody carries it) is told from "not covered" (nobody called).
function siteSets(datasets) {
    const told = datasets.filter(d => !d.exists && d.siteAlleleNumber !== null);
    if (!told.length) return '';
    const items = told.map(d => `<li>${escapeHtml(t(d.siteAlleleNumber > 0 ? 'site.absent' : 'site.uncovered',
        {dataset: d.id, an: integer(d.siteAlleleNumber)}))}</li>`).join('');
    return `<section class="site-sets"><h2>${escapeHtml(t('site.heading'))}</h2><ul>${items}</ul></section>`;
}

export async function variantPage(main, beacon, route) {
    const {assembly, chrom, pos, ref, alt} = route;
    const parameters = {assemblyId: assembly, referenceName: chrom, start: [pos - 1], referenceBases: ref, alternateBases: alt};
    const {rows, datasets} = await beacon.records(parameters, [], null, 'ALL');
    const mine = rows.filter(r => r.pos === pos && r.ref === ref && r.alt === alt);
    const title = `${chrom}-${pos}-${ref}-${alt}`;
    let html = `<h1>${escapeHtml(t('variant.heading', {variant: title}))} <span class="assembly">${escapeHtml(assembly)}</span></h1>`;
    if (mine.length) {
        const first = mine[0];
        const xrefs = [...new Set(mine.flatMap(r => r.xrefs))];
        html += `<section class="summary"><dl><dt>${escapeHtml(t('variant.hgvs_g'))}</dt><dd>${escapeHtml(first.genomicHgvs)}</dd>`
            + (xrefs.length ? `<dt>${escapeHtml(t('variant.ids'))}</dt><dd>${escapeHtml(xrefs.join(', '))}</dd>` : '')
            + `</dl>${externalLinks(assembly, chrom, pos, ref, alt, xrefs)}</section>`;
        for (const row of mine) {
            const an = row.overall ? cell(row.overall, 'alleleNumber').text : '';
            html += `<section class="dataset"><h2>${escapeHtml(row.dataset)} <span class="source">${escapeHtml(row.source)}</span></h2>`
                + `<p>${escapeHtml(t('variant.called', {an}))} ${escapeHtml(t('variant.filter', {filter: row.filters.join(', ') || '.'}))}</p>`
                + frequencyTable(row) + '</section>';
        }
        html += `<section class="annotations"><h2>${escapeHtml(t('variant.annotation'))}</h2>${transcriptTable(mine)}</section>`;
    } else {
        html += `<p class="empty" role="status">${escapeHtml(t('variant.none'))}</p>`
            + `<section class="links-only">${externalLinks(assembly, chrom, pos, ref, alt, [])}</section>`;
    }
    html += siteSets(datasets) + hiddenSets(datasets) + apiCallBlock(beacon, parameters, [], 'ALL');
    main.innerHTML = html;
    return {rows: mine, datasets};
}

export async function listPage(main, beacon, heading, parameters, filters, note) {
    main.innerHTML = `<h1>${escapeHtml(heading)}</h1>${note ? `<p class="note">${escapeHtml(note)}</p>` : ''}
<div class="plot" aria-live="off"></div><div class="table"></div><div class="sets"></div>
<p class="loading" role="status">${escapeHtml(t('list.loading'))}</p>`;
    const table = new VariantTable(main.querySelector('.table'), beacon.pageBase);
    const plot = main.querySelector('.plot');
    table.onChange = shown => drawPlot(plot, shown);
    const collected = [];
    const {datasets} = await beacon.records(parameters, filters, pageRows => {
        collected.push(...pageRows);
        table.setRows(collected);
        if (!performance.getEntriesByName('gdi:first-render').length) performance.mark('gdi:first-render');
    });
    main.querySelector('.loading').remove();
    main.querySelector('.sets').innerHTML = hiddenSets(datasets) + apiCallBlock(beacon, parameters, filters);
    if (!collected.length) {
        main.querySelector('.table').insertAdjacentHTML('beforebegin', `<p class="empty" role="status">${escapeHtml(t('list.none'))}</p>`);
    }
    return {table, datasets};
}
