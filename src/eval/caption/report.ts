// The personalization evaluation as text for the terminal and as one HTML
// page holding every answer, beside the paper's figures when the model is a
// LLaVA. Both say first when the numbers measure nothing (a model that does
// not caption), so a table of random-weight numbers is never mistaken for a
// result.
import type { CaptionScores, MethodScores, PersonalizationScores } from './score.ts';
import type { FoldResult, PersonalizationTask } from './run.ts';

/** Everything `eval caption --json` prints. */
export interface PersonalizationReport extends PersonalizationScores {
  task: PersonalizationTask;
  model: string;
  dir: string;
  family: string;
  dtype: string;
  data: string;
  shots: number;
  folds: number;
  seed: number;
  steps: number;
  identifier: string;
  heads: { extractor: string | null; problem?: string | null };
  similarity: { available: boolean; reason: string };
  runDir: string;
  paper: {
    model: string;
    recall: Readonly<Record<string, number>>;
    captionMetrics: Readonly<Record<'objects' | 'people', Readonly<Record<'vanilla' | 'myvlm', CaptionScores>>>>;
  } | null;
  wallSeconds: number;
}

const METRICS: readonly (keyof CaptionScores)[] = ['bleu1', 'bleu2', 'bleu3', 'bleu4', 'cider', 'meteor', 'rougeL'];
const METRIC_LABELS: Record<keyof CaptionScores, string> = {
  bleu1: 'BLEU-1',
  bleu2: 'BLEU-2',
  bleu3: 'BLEU-3',
  bleu4: 'BLEU-4',
  cider: 'CIDEr',
  meteor: 'METEOR',
  rougeL: 'ROUGE-L',
};

function percent(value: number | null): string {
  return value === null ? '-' : `${(100 * value).toFixed(1)}%`;
}

function fixed(value: number | undefined | null): string {
  return value === undefined || value === null ? '-' : value.toFixed(3);
}

/** The method rows of the summary: label, scores, and a note. */
function methodRows(report: PersonalizationReport): { label: string; scores: MethodScores; note: string }[] {
  const rows = [{ label: 'MyVLM, concept injected (as the paper reports)', scores: report as MethodScores, note: '' }];
  if (report.withHead)
    rows.push({
      label: 'MyVLM, injected where its head fired',
      scores: report.withHead,
      note: `head fired on ${percent(report.withHead.firedRate)} of held-out photos`,
    });
  rows.push(
    { label: 'control: the untaught starting vector', scores: report.controls.untaughtVector, note: '' },
    { label: 'vanilla model', scores: report.vanilla, note: '' },
    { label: 'baseline: keyword replacement', scores: report.baselines.keyword, note: '' },
    { label: 'baseline: LLM-guided replacement', scores: report.baselines.llm, note: '' },
  );
  return rows;
}

/** The terminal report. */
export function formatPersonalization(report: PersonalizationReport): string {
  const what =
    report.task === 'caption' ? 'Personalized captions' : 'Personalized answers (the ten questions of Table 1)';
  const lines = [
    `${what} on ${report.model} (${report.dtype}): ${report.concepts.length} concepts, ${report.folds} fold(s) of ` +
      `${report.shots} teaching photos, ${report.steps} steps, identifier "${report.identifier}".`,
  ];
  if (!report.weightsLookTrained.value) lines.push(`THESE NUMBERS MEAN NOTHING: ${report.weightsLookTrained.reason}.`);
  const width = 48;
  lines.push(
    '',
    `${''.padEnd(width)} ${'recall'.padStart(7)} ${METRICS.map((m) => METRIC_LABELS[m].padStart(7)).join(' ')}`,
  );
  for (const { label, scores, note } of methodRows(report)) {
    const metrics = METRICS.map((m) => fixed(scores.metrics?.[m]).padStart(7)).join(' ');
    lines.push(`${label.padEnd(width)} ${percent(scores.recall).padStart(7)} ${metrics}${note ? `  (${note})` : ''}`);
  }
  if (report.paper) {
    const paper = report.paper.captionMetrics.objects;
    lines.push(
      `${'paper, LLaVA + MyVLM, objects'.padEnd(width)} ${`${report.paper.recall.llavaObjects}%`.padStart(7)} ` +
        METRICS.map((m) => fixed(paper.myvlm[m]).padStart(7)).join(' '),
      `${'paper, vanilla LLaVA, objects'.padEnd(width)} ${'-'.padStart(7)} ` +
        METRICS.map((m) => fixed(paper.vanilla[m]).padStart(7)).join(' '),
      `${'paper, LLM-guided baseline (LLaVA)'.padEnd(width)} ${`${report.paper.recall.llmGuidedBaseline}%`.padStart(7)}`,
    );
  }
  if (report.vanilla.metrics === null) lines.push('No answer had references here, so only recall is measured.');
  if (!report.withHead) lines.push(`Concept heads: not measured (${report.heads.problem ?? 'no image features'}).`);
  lines.push(`Text similarity and CLIPScore: not measured (${report.similarity.reason}).`, '', 'Per concept:');
  const nameWidth = Math.max(8, ...report.concepts.map((c) => c.name.length));
  lines.push(
    `  ${'concept'.padEnd(nameWidth)} answers  recall    head  untaught vanilla keyword    LLM   loss start -> end`,
  );
  for (const c of report.concepts)
    lines.push(
      `  ${c.name.padEnd(nameWidth)} ${String(c.answers).padStart(7)} ${percent(c.recall).padStart(7)} ` +
        `${percent(c.headRecall).padStart(7)} ${percent(c.untaughtVectorRecall).padStart(9)} ${percent(c.vanillaRecall).padStart(7)} ` +
        `${percent(c.keywordRecall).padStart(7)} ${percent(c.llmRecall).padStart(6)}   ${c.lossStart.toFixed(3)} -> ${c.lossEnd.toFixed(3)}`,
    );
  lines.push(
    '',
    `Teaching ${report.seconds.teach.toFixed(1)} s, answering ${report.seconds.answer.toFixed(1)} s (over every fold, ` +
      `resumed ones included); this run ${report.wallSeconds.toFixed(1)} s. Finished folds are kept in ${report.runDir}.`,
  );
  return lines.join('\n');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = (tag: string, row: readonly string[]) => row.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('');
  return `<table><thead><tr>${cells('th', head)}</tr></thead><tbody>${rows
    .map((r) => `<tr>${cells('td', r)}</tr>`)
    .join('')}</tbody></table>`;
}

/** The run's settings in one sentence. */
function describeRun(report: PersonalizationReport): string {
  const heads = report.heads.extractor ?? `not measured (${report.heads.problem ?? ''})`;
  return (
    `${report.dtype}; ${report.concepts.length} concepts from ${report.data}; ${report.folds} fold(s) of ${report.shots} ` +
    `teaching photos; ${report.steps} steps; seed ${report.seed}; identifier "${report.identifier}"; concept heads: ${heads}.`
  );
}

/** One self-contained page: the summary, the per-concept rows and every answer. */
export function htmlReport(report: PersonalizationReport, folds: readonly FoldResult[]): string {
  const summary = table(
    ['method', 'recall', ...METRICS.map((m) => METRIC_LABELS[m]), 'note'],
    methodRows(report).map(({ label, scores, note }) => [
      label,
      percent(scores.recall),
      ...METRICS.map((m) => fixed(scores.metrics?.[m])),
      note,
    ]),
  );
  const concepts = table(
    [
      'concept',
      'answers',
      'recall',
      'with head',
      'untaught vector',
      'vanilla',
      'keyword',
      'LLM-guided',
      'loss start',
      'loss end',
    ],
    report.concepts.map((c) => [
      c.name,
      String(c.answers),
      percent(c.recall),
      percent(c.headRecall),
      percent(c.untaughtVectorRecall),
      percent(c.vanillaRecall),
      percent(c.keywordRecall),
      percent(c.llmRecall),
      c.lossStart.toFixed(4),
      c.lossEnd.toFixed(4),
    ]),
  );
  const answers = table(
    [
      'concept',
      'fold',
      'photo',
      'question',
      'MyVLM',
      'head',
      'untaught vector',
      'vanilla',
      'keyword',
      'LLM-guided',
      'references',
    ],
    folds.flatMap((f) =>
      f.rows.map((r) => [
        r.concept,
        String(r.fold + 1),
        r.photo,
        r.question,
        r.forced,
        r.headFired === null ? '-' : r.headFired ? `fired (${fixed(r.headScore)})` : `no (${fixed(r.headScore)})`,
        r.untaughtVector,
        r.vanilla,
        r.keyword,
        r.llm,
        r.references.join(' | '),
      ]),
    ),
  );
  const warning = report.weightsLookTrained.value
    ? ''
    : `<p class="warning"><strong>These numbers mean nothing:</strong> ${escapeHtml(report.weightsLookTrained.reason)}.</p>`;
  const title = `MyVLM ${report.task} evaluation: ${report.model}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eee}
.warning{background:#fde2e1;border:1px solid #c00;padding:8px}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(describeRun(report))}</p>
${warning}<h2>Summary</h2>${summary}
<p>${escapeHtml(`Text similarity and CLIPScore: not measured (${report.similarity.reason}).`)}</p>
<h2>Per concept</h2>${concepts}<h2>Every answer</h2>${answers}
</body></html>
`;
}
