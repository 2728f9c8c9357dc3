// `eval objects --report FILE`: one HTML page with the scorings side by side
// and a sample of the localization composites, each with the head's box (red)
// and where the concept's photo was pasted (green), so a person can see what
// "covered" means.
import type { CalibratedObjectEval, ObjectEvalReport } from '../heads/object/evaluation.ts';
import type { Scoring } from '../heads/object/region-evaluation.ts';
import { drawLabelledBoxes } from '../image/draw.ts';
import { encodeJpeg } from '../image/encode.ts';
import { escapeHtml } from './caption/report.ts';

/** Composites drawn in the report. */
export const REPORT_SAMPLES = 12;

const SCORING_NAMES: Record<Scoring, string> = {
  wholeImage: 'whole image',
  region: 'best region (default)',
  combined: 'mean of whole image and best region',
};

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The page, with the sample images inline (JPEG data URIs), so the file stands alone. */
export async function objectsHtmlReport(result: CalibratedObjectEval, dataset: string): Promise<string> {
  const half = result.test ?? result.calibration;
  const images: string[] = [];
  for (const sample of result.samples.slice(0, REPORT_SAMPLES)) {
    const drawn = await drawLabelledBoxes(sample.image, [
      { ...sample.pasted, label: 'pasted', color: '#34c759' },
      { ...sample.box, label: `${sample.concept} ${sample.probability.toFixed(2)}`, color: '#ff3b30' },
    ]);
    const { bytes } = await encodeJpeg(drawn);
    const verdict = sample.whole ? 'whole photo' : sample.covered ? 'covered' : 'missed';
    images.push(
      `<figure><img src="data:image/jpeg;base64,${Buffer.from(bytes).toString('base64')}" alt="${escapeHtml(sample.concept)}">` +
        `<figcaption>${escapeHtml(`${sample.concept}: ${verdict}`)}</figcaption></figure>`,
    );
  }
  const loc = half.localization;
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>Object heads</title>',
    '<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 10px;text-align:right}figure{display:inline-block;margin:6px}img{max-width:320px}</style>',
    `</head><body><h1>Object heads on ${escapeHtml(dataset)}</h1>`,
    `<p>${escapeHtml(`features ${half.extractor}, ${half.shots} shots, ${half.folds} folds, seed ${half.seed}`)}; ` +
      `${result.test ? 'test' : 'calibration'} half</p>`,
    scoringTable(half),
    loc
      ? `<h2>Localization (pasted photos)</h2><p>${escapeHtml(
          `${loc.covered}/${loc.composites} composites: the best region covers the pasted photo ` +
            `(${loc.wholePhoto} pointed at the whole photo; a region picked at random covers it ${pct(loc.chance)} of the time; ` +
            `the head fired on ${loc.fired}).`,
        )}</p>`
      : '',
    images.join(''),
    '</body></html>',
  ].join('\n');
}

function scoringTable(report: ObjectEvalReport): string {
  const rows = (Object.entries(report.scorings) as Array<[Scoring, NonNullable<ObjectEvalReport['scorings'][Scoring]>]>)
    .map(
      ([key, s]) =>
        `<tr><th>${escapeHtml(SCORING_NAMES[key])}</th><td>${pct(s.recall)}</td><td>${pct(s.negativeAccuracy)}</td><td>${s.msPerPhoto.toFixed(1)}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>scoring</th><th>recall</th><th>negatives rejected</th><th>ms per photo</th></tr>${rows}</table>`;
}
