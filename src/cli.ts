// The `lmm` command line: lmm fit <data.csv> --formula "<formula>" [--ml] [--levels levels.json] [--json]
//                         lmm compare <data.csv> --formula F1 --formula F2 [...] [--levels levels.json] [--json]
import { Command, InvalidArgumentError } from "commander";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { anova, formatAnova } from "./anova.js";
import { lmer, type LinearMixedModel } from "./linearmixedmodel.js";
import { readCSV, readLevels } from "./node.js";
import { toCSV } from "./tidy.js";

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
    .option("--tidy <file>", "also write broom.mixed's tidy table (fixed effects with Satterthwaite tests, variance parameters) as CSV")
    .option("--glance <file>", "also write broom.mixed's glance row as CSV")
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
      if (o.tidy) writeFileSync(o.tidy, toCSV(m.tidy({ effects: ["fixed", "ran_pars"], confInt: true })));
      if (o.glance) writeFileSync(o.glance, toCSV([m.glance()]));
    });
  cli
    .command("compare")
    .description("likelihood-ratio tests between nested models fitted by ML, as lme4's anova(m1, m2, ...)")
    .argument("<data>", "CSV or TSV file with a header row")
    .option("-f, --formula <formula>", "an lme4 formula; give two or more (repeat the option)", collect, [])
    .option("--name <name>", "a name for each model, in the order of the formulas (repeat the option)", collect, [])
    .option("--levels <file>", "factor levels (and orderedness) per column, as the reference *.levels.json")
    .option("--contrasts <col=type,...>", "contrasts per factor: contr.treatment, contr.sum, contr.poly, contr.helmert", parseContrasts)
    .option("--optimizer <name>", "bobyqa (default) or neldermead", "bobyqa")
    .option("--engine <name>", "auto, wasm-simd, wasm-scalar or ts", "auto")
    .option("--json", "print the table as JSON with the reference anova fields (one array per column)")
    .action(async (file: string, o) => {
      const formulas: string[] = o.formula;
      if (formulas.length < 2) throw new Error(`compare needs at least two --formula (got ${formulas.length})`);
      if (!["bobyqa", "neldermead"].includes(o.optimizer)) throw new Error(`unknown optimizer '${o.optimizer}': use bobyqa or neldermead`);
      if (!["auto", "wasm-simd", "wasm-scalar", "ts"].includes(o.engine)) throw new Error(`unknown engine '${o.engine}'`);
      const names: string[] = o.name;
      if (names.length > 0 && names.length !== formulas.length) {
        throw new Error(`${names.length} ${names.length === 1 ? "name" : "names"} (--name) given for ${formulas.length} models: give one --name per --formula`);
      }
      const levels = o.levels ? readLevels(o.levels) : undefined;
      const data = readCSV(file, { levels });
      const dataName = path.basename(file).replace(/\.(csv|tsv|txt)$/i, "");
      // by ML directly: the likelihood-ratio test compares ML fits (anova would refit REML ones)
      const models: LinearMixedModel[] = [];
      for (const f of formulas) {
        models.push(await lmer(f, data, { REML: false, levels, contrasts: o.contrasts, optimizer: o.optimizer, engine: o.engine, dataName }));
      }
      const table = anova({ names: names.length ? names : undefined, dataName }, ...models);
      process.stdout.write(o.json ? JSON.stringify(table, null, 2) + "\n" : formatAnova(table));
    });
  return cli;
}

/** commander's repeatable option: every occurrence appended. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
