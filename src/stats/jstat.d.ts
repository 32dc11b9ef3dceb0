// Minimal typing for the parts of jstat (a pure-JS CommonJS package without types) that the stats
// engine uses: the quantile functions, as starting points that distributions.ts then polishes.
declare module 'jstat' {
  interface JStat {
    readonly studentt: { inv(p: number, dof: number): number };
    readonly chisquare: { inv(p: number, dof: number): number };
  }
  const jStat: JStat;
  export = jStat;
}
