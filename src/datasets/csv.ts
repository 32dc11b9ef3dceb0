// CSV as RFC 4180 writes it, read incrementally: fields separated by commas, records by CRLF or
// LF, a field in double quotes may hold commas, line breaks and doubled quotes (""). Chunks of any
// size go in; whole records come out with the line they started on, so an upload never has to be
// held as one string, and a problem names its line.

export interface CsvRecord {
  readonly cells: string[];
  /** 1-based line of the file the record starts on. */
  readonly line: number;
}

export interface CsvProblem {
  readonly line: number;
  readonly message: string;
}

type State = 'field-start' | 'unquoted' | 'quoted' | 'quote-in-quoted';

export class CsvReader {
  private state: State = 'field-start';
  private field = '';
  private cells: string[] = [];
  private line = 1;
  private recordLine = 1;
  private problem: CsvProblem | null = null;

  /** Reads a chunk; returns the records it completed, or the first problem (then nothing more is read). */
  push(text: string): { records: CsvRecord[] } | { problem: CsvProblem } {
    if (this.problem) return { problem: this.problem };
    const records: CsvRecord[] = [];
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      switch (this.state) {
        case 'field-start':
        case 'unquoted':
          if (ch === ',') this.endField();
          else if (ch === '\n') this.endRecord(records);
          else if (ch === '\r') { /* CRLF: the LF ends the record */ } else if (ch === '"') {
            if (this.state === 'unquoted') return this.fail(`a quote inside an unquoted field (quote the whole field and double the quote: "a""b")`);
            this.state = 'quoted';
          } else {
            this.field += ch;
            this.state = 'unquoted';
          }
          break;
        case 'quoted':
          if (ch === '"') this.state = 'quote-in-quoted';
          else {
            if (ch === '\n') this.line++;
            this.field += ch;
          }
          break;
        case 'quote-in-quoted':
          if (ch === '"') {
            this.field += '"';
            this.state = 'quoted';
          } else if (ch === ',') this.endField();
          else if (ch === '\n') this.endRecord(records);
          else if (ch !== '\r') return this.fail(`${JSON.stringify(ch)} after a closing quote (a quoted field ends at its quote)`);
          break;
      }
    }
    return { records };
  }

  /** The last record (when the file does not end with a line break), or the problem of an open quote. */
  end(): { records: CsvRecord[] } | { problem: CsvProblem } {
    if (this.problem) return { problem: this.problem };
    if (this.state === 'quoted') return this.fail('a quoted field is never closed', this.recordLine);
    const records: CsvRecord[] = [];
    if (this.state !== 'field-start' || this.cells.length > 0) this.endRecord(records);
    return { records };
  }

  private fail(message: string, line = this.line): { problem: CsvProblem } {
    this.problem = { line, message };
    return { problem: this.problem };
  }

  private endField(): void {
    this.cells.push(this.field);
    this.field = '';
    this.state = 'field-start';
  }

  private endRecord(records: CsvRecord[]): void {
    const blank = this.cells.length === 0 && this.state === 'field-start';
    if (!blank) {
      this.endField();
      records.push({ cells: this.cells, line: this.recordLine });
    }
    this.cells = [];
    this.field = '';
    this.state = 'field-start';
    this.line++;
    this.recordLine = this.line;
  }
}
