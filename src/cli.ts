// The `lmm` command line: lmm fit <data.csv> --formula "<formula>" [--ml] [--levels levels.json] [--json]
import { Command, InvalidArgumentError } from "commander";
import path from "node:path";
import { lmer } from "./linearmixedmodel.js";
import { readCSV, readLevels } from "./node.js";

const CONTRASTS = ["contr.treatment", "contr.sum", "contr.poly", "contr.helmert"] as const;
type ContrastName = (typeof CONTRASTS)[number];

/** --contrasts recipe=contr.sum,temperature=contr.treatment */
function parseContrasts(v: string, prev: Record<string, ContrastName> = {}): Record<string, ContrastName> {
  for (const part of v.split(",")) {
    const [col, type] = part.split("=").map((s) => s.trim());
    if (!col || !CONTRASTS.includes(type as ContrastName)) {
      throw new InvalidArgumentError(`expected column=${CONTRASTS.join("|")}, got '${part}'`);
    }
    prev[col] = type as ContrastName;
  }
  return prev;
}

export function program(): Command {
  const cli = new Command("lmm").description("Linear mixed-effects models with lme4 formulas, on a WebAssembly engine");
  cli
    .command("fit")
    .description("fit a linear mixed model and print lme4's summary (or JSON)")
    .argument("<data>", "CSV or TSV file with a header row")
    .requiredOption("-f, --formula <formula>", 'lme4 formula, e.g. "Reaction ~ Days + (Days | Subject)"')
    .option("--ml", "maximum likelihood instead of REML")
    .option("--levels <file>", "factor levels (and orderedness) per column, as the reference *.levels.json")
    .option("--contrasts <col=type,...>", "contrasts per factor: contr.treatment, contr.sum, contr.poly, contr.helmert", parseContrasts)
    .option("--optimizer <name>", "bobyqa (default) or neldermead", "bobyqa")
    .option("--engine <name>", "auto, wasm-simd, wasm-scalar or ts", "auto")
    .option("--json", "print the result as JSON with the reference fits' field names")
    .action(async (file: string, o) => {
      if (!["bobyqa", "neldermead"].includes(o.optimizer)) throw new Error(`unknown optimizer '${o.optimizer}': use bobyqa or neldermead`);
      if (!["auto", "wasm-simd", "wasm-scalar", "ts"].includes(o.engine)) throw new Error(`unknown engine '${o.engine}'`);
      const levels = o.levels ? readLevels(o.levels) : undefined;
      const data = readCSV(file, { levels });
      const m = await lmer(o.formula, data, {
        REML: !o.ml,
        levels,
        contrasts: o.contrasts,
        optimizer: o.optimizer,
        engine: o.engine,
        dataName: path.basename(file).replace(/\.(csv|tsv|txt)$/i, ""),
      });
      process.stdout.write(o.json ? JSON.stringify(m.toJSON(), null, 2) + "\n" : m.summary() + "\n");
    });
  return cli;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (e) {
    process.stderr.write(`lmm: error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
