// The part of Meteor 1.5's `-norm` normalizer (edu.cmu.meteor.util.Normalizer,
// English) that still acts on captions coco-caption has already tokenized,
// lowercased and stripped of punctuation. coco runs Meteor with -norm, and it
// matters: it splits PTB's "'s" into "' s" and "n't" into "n 't", and
// "t-shirt" into "t shirt", which changes lengths and matches.
// Left out, because coco's tokenizer leaves nothing for them to act on: the
// multiple-dot escapes, sentence-final periods of non-abbreviations, and the
// nonbreaking-prefix rules for capitalized abbreviations.

const ALPHA =
  'A-Za-z\u0160\u017d\u0161\u017e\u0178\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017e\u0400-\u04ff\u0500-\u0527\ua640-\ua66e\ua67e-\ua697\u1d00-\u1d7f';
const ALNUM = `0-9${ALPHA}`;

const SEPARATE_SYMBOLS = new RegExp(`([^${ALNUM}\\s.'\`,\\-\u2018\u2019])`, 'g');
const COMMAS = [/([^\d]),([^\d])/g, /(\d),([^\d])/g, /([^\d]),(\d)/g];
const DASH_BETWEEN_WORDS = new RegExp(`([${ALNUM}.])-([${ALNUM}])`, 'g');
/** English contractions split to the right (do n't -> do n 't), in Meteor's order. */
const CONTRACTIONS: [RegExp, string][] = [
  [new RegExp(`([^${ALPHA}])'([^${ALPHA}])`, 'g'), "$1 ' $2"],
  [new RegExp(`([^${ALPHA}\\d])'([${ALPHA}])`, 'g'), "$1 ' $2"],
  [new RegExp(`([${ALPHA}])'([^${ALPHA}])`, 'g'), "$1 ' $2"],
  [new RegExp(`([${ALPHA}])'([${ALPHA}])`, 'g'), "$1 '$2"],
  [/(\d)'(s)/g, "$1 '$2"],
];
/** Lowercase abbreviations from Meteor's English nonbreaking-prefix list. */
const NONBREAKING = new Set(['v', 'vs', 'i.e', 'rev', 'e.g']);

/** Meteor's words for a caption already tokenized by coco-caption's rules. */
export function meteorWords(tokens: readonly string[]): string[] {
  let line = ` ${tokens.join(' ')} `.replace(SEPARATE_SYMBOLS, ' $1 ');
  for (const comma of COMMAS) line = line.replace(comma, '$1 , $2');
  line = line
    .replace(/[`\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]|''/g, ' " ')
    .replace(/\u2013/g, '-')
    .replace(/--/g, '-')
    .replace(DASH_BETWEEN_WORDS, '$1 $2');
  for (const [pattern, replacement] of CONTRACTIONS) line = line.replace(pattern, replacement);
  const words = line.split(/\s+/).filter(Boolean);
  return words
    .flatMap((word, i) => {
      if (word.length < 2 || !word.endsWith('.')) return [word];
      const prefix = word.slice(0, -1);
      // A dotted initialism loses its dots (u.s. -> us), as Meteor does.
      if (prefix.includes('.') && new RegExp(`[${ALPHA}]`).test(prefix)) return [word.replace(/\./g, '')];
      const nextIsLower = i < words.length - 1 && /^[a-z]/.test(words[i + 1]);
      return NONBREAKING.has(prefix) || nextIsLower ? [word] : [prefix, '.'];
    })
    .map((word) => word.toLowerCase());
}
