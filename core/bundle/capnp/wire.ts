/**
 * The bounded core of the reader: stream framing, limits and pointer resolution, producing raw
 * object locations. {@link reader.ts} wraps them in typed readers.
 *
 * Every check throws {@link CapnpError}; callers map it to their own error code. Work is
 * bounded: a segment-count cap, a byte cap, a traversal limit (words dereferenced, every object
 * charged at least one word so zero-sized elements cannot amplify) and a nesting depth. Sizes
 * are checked against the segment before anything is allocated.
 */

export interface ReadLimits {
  /** Most segments a message may have. */
  readonly maxSegments: number;
  /** Most bytes the whole framed message may have. */
  readonly maxBytes: number;
  /** Words that may be dereferenced, as a multiple of the message's size in words. */
  readonly traversalFactor: number;
  /** Deepest pointer nesting below the root struct. */
  readonly maxDepth: number;
}

export const DEFAULT_LIMITS: ReadLimits = {
  maxSegments: 64,
  maxBytes: 64 * 1024,
  traversalFactor: 8,
  maxDepth: 64,
};

/** A malformed or over-limit message. `reason` is lowercase, without a trailing period. */
export class CapnpError extends Error {
  readonly reason: string;
  readonly details: Record<string, unknown>;
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super(reason);
    this.name = "CapnpError";
    this.reason = reason;
    this.details = details;
  }
}

/** List element sizes (the 3-bit C field of a list pointer). */
export const ElementSize = {
  void: 0,
  bit: 1,
  byte: 2,
  twoBytes: 3,
  fourBytes: 4,
  eightBytes: 5,
  pointer: 6,
  inlineComposite: 7,
} as const;

const ELEMENT_BITS = [0, 1, 8, 16, 32, 64, 64, 0];

export interface Segment {
  readonly view: DataView;
  /** Byte offset of the segment inside `view`. */
  readonly start: number;
  readonly words: number;
}

/** Where a struct lies: data section in bytes, pointer section in words. */
export interface StructLoc {
  readonly seg: number;
  readonly dataStart: number;
  readonly dataBytes: number;
  readonly ptrStart: number;
  readonly ptrCount: number;
}

/** Where a list lies; each element can be viewed as a struct of `elemDataBytes`/`elemPtrs`. */
export interface ListLoc {
  readonly seg: number;
  /** Word index of the first element. */
  readonly start: number;
  readonly elementSize: number;
  readonly length: number;
  readonly bitsPerElement: number;
  readonly elemDataBytes: number;
  readonly elemPtrs: number;
}

interface Resolved {
  seg: number;
  target: number;
  lo: number;
  hi: number;
}

/** The segments of one message, with the limits every dereference is charged against. */
export class Arena {
  readonly segments: readonly Segment[];
  readonly limits: ReadLimits;
  private budget: number;

  constructor(bytes: Uint8Array, limits: ReadLimits) {
    this.limits = limits;
    if (bytes.length > limits.maxBytes) {
      throw new CapnpError("message too large", { size: bytes.length, limit: limits.maxBytes });
    }
    if (bytes.length < 8) throw new CapnpError("truncated segment table", { size: bytes.length });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint32(0, true) + 1;
    if (count > limits.maxSegments) {
      throw new CapnpError("too many segments", { segments: count, limit: limits.maxSegments });
    }
    const header = (4 + 4 * count + 7) & ~7;
    if (bytes.length < header) {
      throw new CapnpError("truncated segment table", { size: bytes.length, need: header });
    }
    const segments: Segment[] = [];
    let end = header;
    for (let i = 0; i < count; i++) {
      const words = view.getUint32(4 + 4 * i, true);
      segments.push({ view, start: end, words });
      end += words * 8;
    }
    if (end > bytes.length) {
      throw new CapnpError("truncated segment", { size: bytes.length, need: end });
    }
    if (end < bytes.length) {
      throw new CapnpError("trailing bytes after the last segment", { size: bytes.length, end });
    }
    if (segments[0].words < 1) throw new CapnpError("message has no root pointer");
    this.segments = segments;
    this.budget = limits.traversalFactor * ((end - header) / 8);
  }

  /** Charges `words` (at least one) against the traversal limit. */
  charge(words: number): void {
    this.budget -= Math.max(1, words);
    if (this.budget < 0) throw new CapnpError("traversal limit exceeded");
  }

  /** The pointer word at (seg, index) as [low, high] 32-bit halves. */
  word(seg: number, index: number): [number, number] {
    const s = this.segments[seg];
    const at = s.start + index * 8;
    return [s.view.getUint32(at, true), s.view.getUint32(at + 4, true)];
  }

  /** The struct pointed to from word (seg, index); null for a null pointer. */
  structAt(seg: number, index: number, depth: number): StructLoc | null {
    this.checkDepth(depth);
    const r = this.resolve(seg, index);
    if (r === null) return null;
    if ((r.lo & 3) !== 0) throw new CapnpError("list pointer where a struct was expected");
    const dataWords = r.hi & 0xffff;
    const ptrCount = r.hi >>> 16;
    this.checkBounds(r.seg, r.target, dataWords + ptrCount);
    this.charge(dataWords + ptrCount);
    const dataStart = r.target * 8;
    return {
      seg: r.seg,
      dataStart,
      dataBytes: dataWords * 8,
      ptrStart: r.target + dataWords,
      ptrCount,
    };
  }

  /** The list pointed to from word (seg, index); null for a null pointer. */
  listAt(seg: number, index: number, depth: number): ListLoc | null {
    this.checkDepth(depth);
    const r = this.resolve(seg, index);
    if (r === null) return null;
    if ((r.lo & 3) !== 1) throw new CapnpError("struct pointer where a list was expected");
    const elementSize = r.hi & 7;
    const count = r.hi >>> 3;
    if (elementSize !== ElementSize.inlineComposite) {
      const bits = ELEMENT_BITS[elementSize];
      const words = Math.ceil((count * bits) / 64);
      this.checkBounds(r.seg, r.target, words);
      this.charge(bits === 0 ? count : words);
      const isPtr = elementSize === ElementSize.pointer;
      return {
        seg: r.seg,
        start: r.target,
        elementSize,
        length: count,
        bitsPerElement: bits,
        elemDataBytes: isPtr ? 0 : bits / 8,
        elemPtrs: isPtr ? 1 : 0,
      };
    }
    // Inline composite: `count` is the word count; the tag word at target gives the elements.
    this.checkBounds(r.seg, r.target, count + 1);
    const [tlo, thi] = this.word(r.seg, r.target);
    if ((tlo & 3) !== 0) throw new CapnpError("composite list tag is not a struct tag");
    const length = tlo >>> 2;
    const dataWords = thi & 0xffff;
    const per = dataWords + (thi >>> 16);
    if (length * per > count) {
      throw new CapnpError("composite list elements overrun the list", {
        elements: length,
        wordsPerElement: per,
        words: count,
      });
    }
    this.charge(Math.max(count + 1, length));
    return {
      seg: r.seg,
      start: r.target + 1,
      elementSize,
      length,
      bitsPerElement: per * 64,
      elemDataBytes: dataWords * 8,
      elemPtrs: thi >>> 16,
    };
  }

  /** Follows far pointers; returns the object's segment, word index and describing pointer. */
  private resolve(seg: number, index: number): Resolved | null {
    const [lo, hi] = this.word(seg, index);
    if (lo === 0 && hi === 0) return null;
    const kind = lo & 3;
    if (kind === 0 || kind === 1) return { seg, target: index + 1 + ((lo | 0) >> 2), lo, hi };
    if (kind === 3) throw new CapnpError("capability or unknown pointer where data was expected");
    const doubleFar = (lo & 4) !== 0;
    const padSeg = this.segmentIndex(hi);
    const pad = lo >>> 3;
    if (pad + (doubleFar ? 2 : 1) > this.segments[padSeg].words) {
      throw new CapnpError("far pointer landing pad out of bounds", { segment: padSeg, pad });
    }
    const [plo, phi] = this.word(padSeg, pad);
    if (!doubleFar) {
      // A single-far pad must be a plain struct or list pointer: no chains, so no loops.
      if ((plo & 3) > 1) {
        throw new CapnpError("far pointer landing pad is not a struct or list pointer");
      }
      if (plo === 0 && phi === 0) throw new CapnpError("far pointer landing pad is null");
      return { seg: padSeg, target: pad + 1 + ((plo | 0) >> 2), lo: plo, hi: phi };
    }
    // Double-far: pad[0] is a single far pointer to the object's start, pad[1] the tag.
    if ((plo & 7) !== 2) {
      throw new CapnpError("double-far landing pad does not start with a single far pointer");
    }
    const [tlo, thi] = this.word(padSeg, pad + 1);
    if ((tlo & 3) > 1) throw new CapnpError("double-far tag is not a struct or list pointer");
    return { seg: this.segmentIndex(phi), target: plo >>> 3, lo: tlo, hi: thi };
  }

  private segmentIndex(id: number): number {
    if (id >= this.segments.length) {
      throw new CapnpError("far pointer to unknown segment", { segment: id });
    }
    return id;
  }

  private checkBounds(seg: number, target: number, words: number): void {
    if (target < 0 || target + words > this.segments[seg].words) {
      throw new CapnpError("pointer out of bounds", { segment: seg, target, words });
    }
  }

  private checkDepth(depth: number): void {
    if (depth > this.limits.maxDepth) {
      throw new CapnpError("nesting too deep", { limit: this.limits.maxDepth });
    }
  }
}
