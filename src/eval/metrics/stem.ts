// The Snowball English ("Porter2") stemmer, the one Meteor 1.5 uses for its
// English stem module (org.tartarus.snowball englishStemmer). Written from the
// published algorithm (snowballstem.org/algorithms/english/stemmer.html), in
// the 2010 variant Meteor ships: R1 exceptions are only gener-, commun- and
// arsen-. Each step follows Snowball's rule: find the longest suffix of the
// step's list, and if its condition fails, the step does nothing (it does not
// fall back to a shorter suffix).

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u', 'y']);
const DOUBLES = ['bb', 'dd', 'ff', 'gg', 'mm', 'nn', 'pp', 'rr', 'tt'];
const LI_ENDINGS = new Set(['c', 'd', 'e', 'g', 'h', 'k', 'm', 'n', 'r', 't']);

/** Words with a fixed stem, checked before anything else. */
const EXCEPTIONS = new Map<string, string>([
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['idly', 'idl'],
  ['gently', 'gentl'],
  ['ugly', 'ugli'],
  ['early', 'earli'],
  ['only', 'onli'],
  ['singly', 'singl'],
  ['sky', 'sky'],
  ['news', 'news'],
  ['howe', 'howe'],
  ['atlas', 'atlas'],
  ['cosmos', 'cosmos'],
  ['bias', 'bias'],
  ['andes', 'andes'],
]);
/** Words left alone once step 1a has run. */
const AFTER_1A = new Set(['inning', 'outing', 'canning', 'herring', 'earring', 'proceed', 'exceed', 'succeed']);

const STEP2: [string, string][] = [
  ['ization', 'ize'],
  ['ational', 'ate'],
  ['fulness', 'ful'],
  ['ousness', 'ous'],
  ['iveness', 'ive'],
  ['tional', 'tion'],
  ['biliti', 'ble'],
  ['lessli', 'less'],
  ['entli', 'ent'],
  ['ation', 'ate'],
  ['alism', 'al'],
  ['aliti', 'al'],
  ['ousli', 'ous'],
  ['iviti', 'ive'],
  ['fulli', 'ful'],
  ['enci', 'ence'],
  ['anci', 'ance'],
  ['abli', 'able'],
  ['izer', 'ize'],
  ['ator', 'ate'],
  ['alli', 'al'],
  ['bli', 'ble'],
  ['ogi', 'og'],
  ['li', ''],
];
const STEP3: [string, string][] = [
  ['ational', 'ate'],
  ['tional', 'tion'],
  ['alize', 'al'],
  ['icate', 'ic'],
  ['iciti', 'ic'],
  ['ative', ''],
  ['ical', 'ic'],
  ['ness', ''],
  ['ful', ''],
];
const STEP4 = [
  'ement',
  'ance',
  'ence',
  'able',
  'ible',
  'ment',
  'ant',
  'ent',
  'ism',
  'ate',
  'iti',
  'ous',
  'ive',
  'ize',
  'ion',
  'al',
  'er',
  'ic',
];

const isVowel = (char: string | undefined): boolean => char !== undefined && VOWELS.has(char);

/** Start of the region after the first non-vowel that follows a vowel, from `from` on. */
function regionAfter(word: string, from: number): number {
  for (let i = from + 1; i < word.length; i++) if (!isVowel(word[i]) && isVowel(word[i - 1])) return i + 1;
  return word.length;
}

/** Whether `word` ends, at `end`, in a short syllable. */
function endsInShortSyllable(word: string, end = word.length): boolean {
  if (end === 2) return isVowel(word[0]) && !isVowel(word[1]);
  const [a, b, c] = [word[end - 3], word[end - 2], word[end - 1]];
  return end >= 3 && !isVowel(a) && isVowel(b) && !isVowel(c) && c !== 'w' && c !== 'x' && c !== 'Y';
}

function longestSuffix<T extends string | [string, string]>(word: string, list: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const entry of list) {
    const suffix = typeof entry === 'string' ? entry : entry[0];
    const bestLength = best === undefined ? -1 : (typeof best === 'string' ? best : best[0]).length;
    if (word.endsWith(suffix) && suffix.length > bestLength) best = entry;
  }
  return best;
}

/** The Porter2 stem of a lowercase word. */
export function stem(input: string): string {
  const fixed = EXCEPTIONS.get(input);
  if (fixed !== undefined) return fixed;
  if (input.length < 3) return input;
  let word = input.startsWith("'") ? input.slice(1) : input;
  // Prelude: a y that acts as a consonant becomes Y, so it is not a vowel.
  const chars = [...word];
  chars.forEach((char, i) => {
    if (char === 'y' && (i === 0 || isVowel(chars[i - 1]))) chars[i] = 'Y';
  });
  word = chars.join('');
  const r1 = /^(gener|commun|arsen)/.exec(word)?.[0].length ?? regionAfter(word, 0);
  const r2 = regionAfter(word, r1);
  const inR1 = (suffix: string): boolean => word.length - suffix.length >= r1;
  const inR2 = (suffix: string): boolean => word.length - suffix.length >= r2;
  const cut = (suffix: string, replacement = ''): void => {
    word = word.slice(0, word.length - suffix.length) + replacement;
  };

  // Step 0: possessives.
  const possessive = longestSuffix(word, ["'s'", "'s", "'"]);
  if (possessive) cut(possessive);

  // Step 1a: plurals.
  const plural = longestSuffix(word, ['sses', 'ied', 'ies', 'us', 'ss', 's']);
  if (plural === 'sses') cut('sses', 'ss');
  else if (plural === 'ied' || plural === 'ies') cut(plural, word.length > 4 ? 'i' : 'ie');
  else if (plural === 's' && [...word.slice(0, -2)].some(isVowel)) cut('s');
  if (AFTER_1A.has(word)) return word;

  // Step 1b: -ed, -ing and their -ly forms.
  const ending = longestSuffix(word, ['eedly', 'ingly', 'edly', 'eed', 'ing', 'ed']);
  if (ending === 'eed' || ending === 'eedly') {
    if (inR1(ending)) cut(ending, 'ee');
  } else if (ending !== undefined && [...word.slice(0, -ending.length)].some(isVowel)) {
    cut(ending);
    if (/(at|bl|iz)$/.test(word)) word += 'e';
    else if (DOUBLES.some((pair) => word.endsWith(pair))) word = word.slice(0, -1);
    else if (r1 >= word.length && endsInShortSyllable(word)) word += 'e';
  }

  // Step 1c: a final y after a consonant (not the first letter) becomes i.
  if (/[yY]$/.test(word) && word.length > 2 && !isVowel(word[word.length - 2])) word = word.slice(0, -1) + 'i';

  // Step 2: derivational suffixes in R1.
  const step2 = longestSuffix(word, STEP2);
  if (step2 && inR1(step2[0])) {
    const before = word[word.length - step2[0].length - 1];
    if (step2[0] === 'ogi') {
      if (before === 'l') cut('ogi', 'og');
    } else if (step2[0] === 'li') {
      if (LI_ENDINGS.has(before)) cut('li');
    } else cut(step2[0], step2[1]);
  }

  // Step 3: more derivational suffixes in R1 (-ative only in R2).
  const step3 = longestSuffix(word, STEP3);
  if (step3 && inR1(step3[0]) && (step3[0] !== 'ative' || inR2('ative'))) cut(step3[0], step3[1]);

  // Step 4: suffixes deleted in R2 (-ion only after s or t).
  const step4 = longestSuffix(word, STEP4);
  if (step4 && inR2(step4)) {
    if (step4 !== 'ion' || /[st]$/.test(word.slice(0, -3))) cut(step4);
  }

  // Step 5: a final e or double l.
  if (word.endsWith('e')) {
    if (inR2('e') || (inR1('e') && !endsInShortSyllable(word, word.length - 1))) cut('e');
  } else if (word.endsWith('ll') && inR2('l')) cut('l');

  return word.replace(/Y/g, 'y');
}
