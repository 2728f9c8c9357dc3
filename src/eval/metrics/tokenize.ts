// The tokenization coco-caption applies before every metric: Stanford's
// PTBTokenizer (CoreNLP 3.4.1, -preserveLines -lowerCase), then its list of
// punctuation tokens removed. That tokenizer is Java; this is a rule-based
// approximation of what it does to caption-like English:
// - lowercases; splits off , ; : (not inside numbers like 1,000 or 3:30),
//   ? ! (a run such as ?! stays one token), quotes, brackets, $ # %, the
//   ellipsis and dashes (-- and a free-standing -); keeps hyphenated and
//   slashed words (t-shirt, and/or) and decimals whole;
// - splits contractions as the Penn Treebank does: do n't, ca n't, it 's,
//   we 're, dogs ' , can not, gon na, wan na, got ta;
// - splits a word-final period unless the word is an abbreviation (mr., u.s.).
// Where it can differ from Stanford's: rarer abbreviations (PTB keeps a longer
// list), runs of mixed punctuation, URLs and e-mail addresses, emoticons,
// non-Latin scripts, and brackets: this drops every bracket, while coco's
// list removes -LRB- -RRB- -LCB- -RCB- but keeps [ ] as -LSB- -RSB-.

/** One image's candidate and references, tokenized. */
export interface TokenizedPair {
  id: string;
  candidate: string[];
  references: string[][];
}

/** The tokens coco-caption removes after tokenizing (pycocoevalcap's PUNCTUATIONS, in our spelling). */
const PUNCTUATION = new Set(["''", "'", '``', '`', '"', '.', '?', '!', ',', ':', '-', '--', '...', ';']);

/** Abbreviations that keep their period; a dotted initialism (u.s.) keeps it too. */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'jr', 'sr', 'mt', 'ft', 'vs', 'etc', 'inc', 'ltd', 'co', 'corp', 'no', 'jan', 'feb',
  'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'ave', 'blvd', 'rd', 'gen', 'gov', 'sen', 'rep', 'rev',
]); // prettier-ignore

/** Words the Penn Treebank splits in two although they hold no apostrophe. */
const SPLIT_WORDS = new Map([
  ['cannot', ['can', 'not']],
  ['gonna', ['gon', 'na']],
  ['gotta', ['got', 'ta']],
  ['wanna', ['wan', 'na']],
  ['gimme', ['gim', 'me']],
  ['lemme', ['lem', 'me']],
]);

/** Splits one whitespace-free chunk's word-final period and contractions. */
function splitWord(word: string): string[] {
  const fixed = SPLIT_WORDS.get(word);
  if (fixed) return fixed;
  if (word.length > 1 && word.endsWith('.')) {
    const stem = word.slice(0, -1);
    const keepsPeriod = ABBREVIATIONS.has(stem) || /^([a-z]\.)+[a-z]$/.test(stem);
    if (!keepsPeriod) return [...splitWord(stem), '.'];
  }
  const negation = /^(.*[a-z])(n't)$/.exec(word);
  if (negation) return [negation[1], negation[2]];
  const clitic = /^(.*[a-z0-9])('s|'re|'ve|'ll|'d|'m)$/.exec(word);
  if (clitic) return [clitic[1], clitic[2]];
  const quoted = /^'(.+)$|^(.+)'$/.exec(word);
  if (quoted) return quoted[1] !== undefined ? ["'", ...splitWord(quoted[1])] : [...splitWord(quoted[2]), "'"];
  return [word];
}

/** PTB-style tokens of one caption, lowercased, before punctuation removal. */
function ptbTokens(caption: string): string[] {
  const spaced = caption
    .toLowerCase()
    .replace(/[\u2018\u2019\u201b`\u00b4]/g, "'")
    .replace(/["\u201c\u201d\u201e\u00ab\u00bb]|''/g, ' " ')
    .replace(/\.{3,}|\u2026/g, ' ... ')
    .replace(/[()[\]{}]/g, ' ')
    .replace(/--+|[\u2013\u2014]/g, ' -- ')
    .replace(/(^|\s)-|-(?=\s|$)/g, '$1 - ')
    .replace(/[?!]+/g, ' $& ')
    .replace(/[;$#%]/g, ' $& ')
    .replace(/(?<!\d)[,:]|[,:](?!\d)/g, ' $& ');
  return spaced.split(/\s+/).filter(Boolean).flatMap(splitWord);
}

/** A caption as coco-caption scores it: PTB tokens, lowercased, punctuation removed. */
export function tokenizeCaption(caption: string): string[] {
  return ptbTokens(caption).filter((token) => !PUNCTUATION.has(token));
}
