// JSON lines read incrementally: one JSON object per line, blank lines skipped. Chunks of any size
// go in; the objects of the lines they completed come out with their line numbers.

export interface JsonlRecord {
  readonly value: Record<string, unknown>;
  /** 1-based line of the file. */
  readonly line: number;
}

export interface JsonlProblem {
  readonly line: number;
  readonly message: string;
}

export class JsonlReader {
  private pending = '';
  private line = 0;

  push(text: string): { records: JsonlRecord[] } | { problem: JsonlProblem } {
    const parts = (this.pending + text).split('\n');
    this.pending = parts.pop() ?? '';
    return this.read(parts);
  }

  end(): { records: JsonlRecord[] } | { problem: JsonlProblem } {
    const last = this.pending;
    this.pending = '';
    return this.read([last]);
  }

  private read(lines: string[]): { records: JsonlRecord[] } | { problem: JsonlProblem } {
    const records: JsonlRecord[] = [];
    for (const raw of lines) {
      this.line++;
      const text = raw.trim();
      if (text === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        return { problem: { line: this.line, message: `is not valid JSON (${(err as Error).message})` } };
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return { problem: { line: this.line, message: 'must be a JSON object of column: value' } };
      }
      records.push({ value: value as Record<string, unknown>, line: this.line });
    }
    return { records };
  }
}
