// Text gathered one UTF-16 code unit at a time (the legacy Office readers), up to a cap: kept in arrays
// of 8 K units made into strings, so a file of tiny pieces costs no string per character.

export class CappedText {
  private parts: string[] = [];
  private buf: number[] = [];
  length = 0;
  constructor(private readonly max: number) {}
  get full(): boolean {
    return this.length >= this.max;
  }
  /** one code unit, dropped past the cap */
  protected add(c: number): void {
    if (this.length >= this.max) return;
    this.buf.push(c);
    this.length++;
    if (this.buf.length >= 8192) this.flush();
  }
  private flush(): void {
    if (this.buf.length) this.parts.push(String.fromCharCode(...this.buf));
    this.buf = [];
  }
  text(): string {
    this.flush();
    return this.parts.join('');
  }
}
