import { fold32, hash53, mulberry32 } from "./tokenizer.js";

// Every word is at most 8 letters, so each one is exactly one token of the sim tokenizer.
const WORDS = (
  "the a of and to in is it that was for on are as with his they at be this from have or by one had " +
  "not but what all were when we there can an your which their said if do will each about how up out " +
  "them then she many some so these would other into has more her two like him see time could no make " +
  "than first been its who now people my made over did down only way find use may water long little " +
  "very after words called just where most know get through back much before go good new write our " +
  "used me man too any day same right look think also around another came come work three word must " +
  "because does part even place well such here take why things help put years different away again " +
  "off went old number great tell men say small every found still between name should home big give " +
  "air line set own under read last never us left end along while might next sound below saw " +
  "something thought both few those always looked show large often together asked house world going " +
  "want school important until form food keep children feet land side without boy once animals life " +
  "enough took sometime four head above kind began almost live page got earth need far hand high year " +
  "mother light parts country father let night following picture being study second eyes soon times " +
  "story boys since white days ever paper hard near sentence better best across during today others " +
  "however sure means knew try told young miles sun ways thing whole hear example heard several " +
  "change answer room sea against top turned learn point city play toward five using himself usually"
)
  .split(" ")
  .filter((w) => w.length <= 8);

/**
 * Deterministic text, one token at a time: sentences of 6 to 14 words with an occasional comma.
 * `next()` returns the piece of text of the next token (a word carries its leading space).
 */
export class TextSource {
  private readonly rng: () => number;
  private first = true;
  private capitalize = true;
  private wordsLeft = 0;
  private pendingComma = false;

  constructor(rng: () => number) {
    this.rng = rng;
    this.wordsLeft = this.sentenceLength();
  }

  next(): string {
    if (this.pendingComma) {
      this.pendingComma = false;
      return ",";
    }
    if (this.wordsLeft === 0) {
      this.wordsLeft = this.sentenceLength();
      this.capitalize = true;
      return ".";
    }
    const word = WORDS[Math.floor(this.rng() * WORDS.length)] as string;
    const text = this.capitalize ? word[0]!.toUpperCase() + word.slice(1) : word;
    const piece = this.first ? text : ` ${text}`;
    this.first = false;
    this.capitalize = false;
    this.wordsLeft--;
    if (this.wordsLeft > 2 && this.rng() < 0.08) this.pendingComma = true;
    return piece;
  }

  private sentenceLength(): number {
    return 6 + Math.floor(this.rng() * 9);
  }
}

/** A generator for one request: its output length (when no max_tokens is given) and its text. */
export interface Completion {
  /** The natural length in tokens, between 1 and `defaultMaxTokens`. */
  naturalLength: number;
  text: TextSource;
}

/** Same prompt and seed give the same length and the same words. */
export function completionFor(promptKey: string, seed: number, defaultMaxTokens: number): Completion {
  const rng = mulberry32(fold32(hash53(promptKey, fold32(seed))));
  const naturalLength = 1 + Math.floor(rng() * defaultMaxTokens);
  return { naturalLength, text: new TextSource(rng) };
}
