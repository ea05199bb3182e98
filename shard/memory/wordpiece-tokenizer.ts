// A BERT WordPiece tokenizer (vocab.txt), enough to feed sentence-embedding models exported to ONNX.

export interface WordPieceOptions {
  readonly lowercase: boolean;
  readonly maxTokens: number;
}

export interface Encoded {
  readonly ids: number[];
  readonly mask: number[];
}

export class WordPieceTokenizer {
  private readonly vocab: Map<string, number>;
  private readonly opts: WordPieceOptions;
  private readonly cls: number;
  private readonly sep: number;
  private readonly unk: number;

  constructor(vocabText: string, opts: WordPieceOptions) {
    this.vocab = new Map(vocabText.split(/\r?\n/).flatMap((t, i) => (t === '' ? [] : [[t, i] as [string, number]])));
    this.opts = opts;
    const need = (t: string): number => {
      const id = this.vocab.get(t);
      if (id === undefined) throw new Error(`vocab.txt has no ${t}`);
      return id;
    };
    this.cls = need('[CLS]');
    this.sep = need('[SEP]');
    this.unk = need('[UNK]');
  }

  /** Basic tokenisation: NFD, optional lower-casing and accent stripping, split on spaces and punctuation. */
  private words(text: string): string[] {
    let t = text.normalize('NFD');
    if (this.opts.lowercase) t = t.toLowerCase().replace(/\p{Mn}/gu, '');
    return t.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
  }

  private pieces(word: string): number[] {
    const out: number[] = [];
    let start = 0;
    while (start < word.length) {
      let end = word.length;
      let id: number | undefined;
      while (end > start) {
        const sub = (start > 0 ? '##' : '') + word.slice(start, end);
        id = this.vocab.get(sub);
        if (id !== undefined) break;
        end--;
      }
      if (id === undefined) return [this.unk];
      out.push(id);
      start = end;
    }
    return out;
  }

  encode(text: string): Encoded {
    const ids = [this.cls];
    for (const w of this.words(text)) {
      for (const p of this.pieces(w)) {
        if (ids.length >= this.opts.maxTokens - 1) break;
        ids.push(p);
      }
    }
    ids.push(this.sep);
    return { ids, mask: ids.map(() => 1) };
  }
}
