// formatSummary() against lme4 1.1-31 / lmerTest 3.1-3 / R 4.2.2: every expected text below is what
// print(summary(fit)) printed in R (`x <- summary(fit); x`, data sets from lme4 / nlme, the
// same fits as test/fixtures/reference/fits), pasted as literals so the tests need no R.
// The fixtures lack the extension fields of FitJSON; the tests add them (scaled residual
// quantiles from R's residuals(fit, "pearson", scaled = TRUE)). The lme4 layout is tested on the
// fixtures without their `satterthwaite` field (an lme4 fit, class lmerMod, has none); lmerTest's
// layout (lmerTest::lmer, class lmerModLmerTest) with it, further below.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { FitJSON } from "../src/results-types.js";
import { formatSummary } from "../src/summary.js";
import {
  abbreviate,
  catFill,
  formatC,
  formatPval,
  formatSignifStars,
  formatNum,
  formatNumber,
  printCoefmat,
  roundR,
  signifLegend,
  signifR,
  strwrap,
  zapsmall,
} from "../src/format.js";

const FITS = path.join(import.meta.dirname, "fixtures", "reference", "fits");

type Quantiles = [number, number, number, number, number];

function withExtensions(raw: Record<string, unknown>, q: Quantiles): FitJSON {
  const fit = raw as unknown as FitJSON;
  return {
    ...fit,
    scaled_residuals: { Min: q[0], "1Q": q[1], Median: q[2], "3Q": q[3], Max: q[4] },
    n_dropped: 0,
    dropped_columns: [],
    warnings: [...(fit.conv_messages ?? [])],
    engine: "ts",
    time_s: 0,
  };
}

/** A reference fit as lme4 has it (no lmerTest `satterthwaite`): formatSummary prints lme4's layout. */
function loadFit(id: string, q: Quantiles): FitJSON {
  const { satterthwaite: _, ...raw } = JSON.parse(fs.readFileSync(path.join(FITS, `${id}.json`), "utf8"));
  return withExtensions(raw, q);
}

const text = (lines: string[]) => lines.join("\n") + "\n";

describe("formatSummary: sleepstudy REML (the layout lme4 users read every day)", () => {
  const fit = loadFit("sleepstudy-slope-reml", [-3.9536, -0.4634, 0.0231, 0.4634, 5.1793]);
  const expected = text([
    "Linear mixed model fit by REML ['lmerMod']",
    "Formula: Reaction ~ Days + (Days | Subject)",
    "   Data: sleepstudy",
    "",
    "REML criterion at convergence: 1743.6",
    "",
    "Scaled residuals: ",
    "    Min      1Q  Median      3Q     Max ",
    "-3.9536 -0.4634  0.0231  0.4634  5.1793 ",
    "",
    "Random effects:",
    " Groups   Name        Variance Std.Dev. Corr",
    " Subject  (Intercept) 612.10   24.741       ",
    "          Days         35.07    5.922   0.07",
    " Residual             654.94   25.592       ",
    "Number of obs: 180, groups:  Subject, 18",
    "",
    "Fixed effects:",
    "            Estimate Std. Error t value",
    "(Intercept)  251.405      6.825  36.838",
    "Days          10.467      1.546   6.771",
    "",
    "Correlation of Fixed Effects:",
    "     (Intr)",
    "Days -0.138",
  ]);

  it("matches lme4 character for character", () => {
    expect(formatSummary(fit, { dataName: "sleepstudy" })).toBe(expected);
  });

  it("gives the same text from the unrounded residual quantiles", () => {
    const full = loadFit("sleepstudy-slope-reml", [-3.95356734536703, -0.463397683127066, 0.0231176647794387, 0.463402078150267, 5.17926037341145]);
    expect(formatSummary(full, { dataName: "sleepstudy" })).toBe(expected);
  });

  it("omits the Data line without a data name", () => {
    const s = formatSummary(fit);
    expect(s).not.toContain("Data:");
    expect(s.split("\n").slice(0, 3)).toEqual([
      "Linear mixed model fit by REML ['lmerMod']",
      "Formula: Reaction ~ Days + (Days | Subject)",
      "",
    ]);
  });

  it("correlation = false drops the correlation block", () => {
    const s = formatSummary(fit, { dataName: "sleepstudy", correlation: false });
    expect(s).toBe(expected.slice(0, expected.indexOf("\nCorrelation of Fixed Effects:")) + "");
  });

  it("digits = 6 as print(summary(fit), digits = 6)", () => {
    // the scaled residuals need the full quantiles here
    const full = loadFit("sleepstudy-slope-reml", [-3.95356734536703, -0.463397683127066, 0.0231176647794387, 0.463402078150267, 5.17926037341145]);
    const s = formatSummary(full, { dataName: "sleepstudy", digits: 6 });
    expect(s).toContain(
      text([
        "Scaled residuals: ",
        "      Min        1Q    Median        3Q       Max ",
        "-3.953567 -0.463398  0.023118  0.463402  5.179260 ",
        "",
        "Random effects:",
        " Groups   Name        Variance Std.Dev. Corr  ",
        " Subject  (Intercept) 612.1002 24.74066       ",
        "          Days         35.0717  5.92214 0.0656",
        " Residual             654.9400 25.59180       ",
        "Number of obs: 180, groups:  Subject, 18",
        "",
        "Fixed effects:",
        "             Estimate Std. Error  t value",
        "(Intercept) 251.40510    6.82460 36.83809",
        "Days         10.46729    1.54579  6.77148",
      ]),
    );
  });
});

describe("formatSummary: ML header and AIC table", () => {
  it("sleepstudy-slope-ml header and information criteria", () => {
    const fit = loadFit("sleepstudy-slope-ml", [-3.94155241672159, -0.465589375628008, 0.0289447552658257, 0.463614465396744, 5.17932342919295]);
    const s = formatSummary(fit, { dataName: "sleepstudy" });
    expect(s.split("\n").slice(0, 7).join("\n")).toBe(
      "Linear mixed model fit by maximum likelihood  ['lmerMod']\n" +
        "Formula: Reaction ~ Days + (Days | Subject)\n" +
        "   Data: sleepstudy\n" +
        "\n" +
        "     AIC      BIC   logLik deviance df.resid \n" +
        "  1763.9   1783.1   -876.0   1751.9      174 \n",
    );
  });
});

const EXPECTED: Record<string, { data: string; q: Quantiles; text: string[] }> = {
  "sleepstudy-slope-ml": {
    data: "sleepstudy",
    q: [-3.94155241672159, -0.465589375628008, 0.0289447552658257, 0.463614465396744, 5.17932342919295],
    text: [
      "Linear mixed model fit by maximum likelihood  ['lmerMod']",
      "Formula: Reaction ~ Days + (Days | Subject)",
      "   Data: sleepstudy",
      "",
      "     AIC      BIC   logLik deviance df.resid ",
      "  1763.9   1783.1   -876.0   1751.9      174 ",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-3.9416 -0.4656  0.0289  0.4636  5.1793 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev. Corr",
      " Subject  (Intercept) 565.48   23.780       ",
      "          Days         32.68    5.717   0.08",
      " Residual             654.95   25.592       ",
      "Number of obs: 180, groups:  Subject, 18",
      "",
      "Fixed effects:",
      "            Estimate Std. Error t value",
      "(Intercept)  251.405      6.632  37.907",
      "Days          10.467      1.502   6.968",
      "",
      "Correlation of Fixed Effects:",
      "     (Intr)",
      "Days -0.138",
    ],
  },
  "sleepstudy-uncorr-reml": {
    data: "sleepstudy",
    q: [-3.96258729720235, -0.46251714753716, 0.0203983373664721, 0.465257300333732, 5.18602070134667],
    text: [
      "Linear mixed model fit by REML ['lmerMod']",
      "Formula: Reaction ~ Days + ((1 | Subject) + (0 + Days | Subject))",
      "   Data: sleepstudy",
      "",
      "REML criterion at convergence: 1743.7",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-3.9626 -0.4625  0.0204  0.4653  5.1860 ",
      "",
      "Random effects:",
      " Groups    Name        Variance Std.Dev.",
      " Subject   (Intercept) 627.57   25.051  ",
      " Subject.1 Days         35.86    5.988  ",
      " Residual              653.58   25.565  ",
      "Number of obs: 180, groups:  Subject, 18",
      "",
      "Fixed effects:",
      "            Estimate Std. Error t value",
      "(Intercept)  251.405      6.885  36.513",
      "Days          10.467      1.560   6.712",
      "",
      "Correlation of Fixed Effects:",
      "     (Intr)",
      "Days -0.184",
    ],
  },
  "sleepstudy-uncorr-ml": {
    data: "sleepstudy",
    q: [-3.95353963776894, -0.467270894583943, 0.0239329760138976, 0.462513054601674, 5.18834681290713],
    text: [
      "Linear mixed model fit by maximum likelihood  ['lmerMod']",
      "Formula: Reaction ~ Days + ((1 | Subject) + (0 + Days | Subject))",
      "   Data: sleepstudy",
      "",
      "     AIC      BIC   logLik deviance df.resid ",
      "    1762     1778     -876     1752      175 ",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-3.9535 -0.4673  0.0239  0.4625  5.1883 ",
      "",
      "Random effects:",
      " Groups    Name        Variance Std.Dev.",
      " Subject   (Intercept) 584.27   24.172  ",
      " Subject.1 Days         33.63    5.799  ",
      " Residual              653.12   25.556  ",
      "Number of obs: 180, groups:  Subject, 18",
      "",
      "Fixed effects:",
      "            Estimate Std. Error t value",
      "(Intercept)  251.405      6.708   37.48",
      "Days          10.467      1.519    6.89",
      "",
      "Correlation of Fixed Effects:",
      "     (Intr)",
      "Days -0.194",
    ],
  },
  "sleepstudy-intercept-ml": {
    data: "sleepstudy",
    q: [-3.23470319658202, -0.554398052193522, 0.0154917191653169, 0.525708572142868, 4.26476610457386],
    text: [
      "Linear mixed model fit by maximum likelihood  ['lmerMod']",
      "Formula: Reaction ~ Days + (1 | Subject)",
      "   Data: sleepstudy",
      "",
      "     AIC      BIC   logLik deviance df.resid ",
      "  1802.1   1814.9   -897.0   1794.1      176 ",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-3.2347 -0.5544  0.0155  0.5257  4.2648 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev.",
      " Subject  (Intercept) 1296.9   36.01   ",
      " Residual              954.5   30.90   ",
      "Number of obs: 180, groups:  Subject, 18",
      "",
      "Fixed effects:",
      "            Estimate Std. Error t value",
      "(Intercept) 251.4051     9.5062   26.45",
      "Days         10.4673     0.8017   13.06",
      "",
      "Correlation of Fixed Effects:",
      "     (Intr)",
      "Days -0.380",
    ],
  },
  "penicillin-reml": {
    data: "Penicillin",
    q: [-2.07923366547833, -0.671396851014064, 0.0629221638292737, 0.583771205070324, 2.97958580516534],
    text: [
      "Linear mixed model fit by REML ['lmerMod']",
      "Formula: diameter ~ 1 + (1 | plate) + (1 | sample)",
      "   Data: Penicillin",
      "",
      "REML criterion at convergence: 330.9",
      "",
      "Scaled residuals: ",
      "     Min       1Q   Median       3Q      Max ",
      "-2.07923 -0.67140  0.06292  0.58377  2.97959 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev.",
      " plate    (Intercept) 0.7169   0.8467  ",
      " sample   (Intercept) 3.7311   1.9316  ",
      " Residual             0.3024   0.5499  ",
      "Number of obs: 144, groups:  plate, 24; sample, 6",
      "",
      "Fixed effects:",
      "            Estimate Std. Error t value",
      "(Intercept)  22.9722     0.8086   28.41",
    ],
  },
  "pastes-nested-reml": {
    data: "Pastes",
    q: [-1.47977603107528, -0.515577976363109, 0.00949804852060413, 0.471996639441618, 1.38969584407111],
    text: [
      "Linear mixed model fit by REML ['lmerMod']",
      "Formula: strength ~ 1 + (1 | batch/cask)",
      "   Data: Pastes",
      "",
      "REML criterion at convergence: 247",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-1.4798 -0.5156  0.0095  0.4720  1.3897 ",
      "",
      "Random effects:",
      " Groups     Name        Variance Std.Dev.",
      " cask:batch (Intercept) 8.434    2.9041  ",
      " batch      (Intercept) 1.657    1.2874  ",
      " Residual               0.678    0.8234  ",
      "Number of obs: 60, groups:  cask:batch, 30; batch, 10",
      "",
      "Fixed effects:",
      "            Estimate Std. Error t value",
      "(Intercept)  60.0533     0.6769   88.72",
    ],
  },
  "cake-ordered-reml": {
    data: "cake",
    q: [-2.64660701346443, -0.610818131216366, -0.0520652675059363, 0.569848371607835, 2.75373696253407],
    text: [
      "Linear mixed model fit by REML ['lmerMod']",
      "Formula: angle ~ recipe * temperature + (1 | recipe:replicate)",
      "   Data: cake",
      "",
      "REML criterion at convergence: 1638.6",
      "",
      "Scaled residuals: ",
      "     Min       1Q   Median       3Q      Max ",
      "-2.64661 -0.61082 -0.05207  0.56985  2.75374 ",
      "",
      "Random effects:",
      " Groups           Name        Variance Std.Dev.",
      " recipe:replicate (Intercept) 41.84    6.468   ",
      " Residual                     20.47    4.524   ",
      "Number of obs: 270, groups:  recipe:replicate, 45",
      "",
      "Fixed effects:",
      "                      Estimate Std. Error t value",
      "(Intercept)           33.12222    1.73683  19.070",
      "recipeB               -1.47778    2.45625  -0.602",
      "recipeC               -1.52222    2.45625  -0.620",
      "temperature.L          6.43033    1.16822   5.504",
      "temperature.Q         -0.71285    1.16822  -0.610",
      "temperature.C         -2.32551    1.16822  -1.991",
      "temperature^4         -3.35128    1.16822  -2.869",
      "temperature^5         -0.15119    1.16822  -0.129",
      "recipeB:temperature.L  0.45419    1.65211   0.275",
      "recipeC:temperature.L  0.08765    1.65211   0.053",
      "recipeB:temperature.Q -0.23277    1.65211  -0.141",
      "recipeC:temperature.Q  1.21475    1.65211   0.735",
      "recipeB:temperature.C  2.69322    1.65211   1.630",
      "recipeC:temperature.C  2.63856    1.65211   1.597",
      "recipeB:temperature^4  3.02372    1.65211   1.830",
      "recipeC:temperature^4  3.13711    1.65211   1.899",
      "recipeB:temperature^5 -0.66354    1.65211  -0.402",
      "recipeC:temperature^5 -1.62525    1.65211  -0.984",
      "",
      "Correlation matrix not shown by default, as p = 18 > 12.",
      "Use print(x, correlation=TRUE)  or",
      "    vcov(x)        if you need it",
      "",
    ],
  },
  "cake-numeric-reml": {
    data: "cake",
    q: [-2.45989992593425, -0.590874099478521, -0.0966961798693319, 0.610277065900006, 2.6577992765155],
    text: [
      "Linear mixed model fit by REML ['lmerMod']",
      "Formula: angle ~ recipe * temp + (1 | recipe:replicate)",
      "   Data: cake",
      "",
      "REML criterion at convergence: 1703.3",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-2.4599 -0.5909 -0.0967  0.6103  2.6578 ",
      "",
      "Random effects:",
      " Groups           Name        Variance Std.Dev.",
      " recipe:replicate (Intercept) 41.77    6.463   ",
      " Residual                     20.89    4.570   ",
      "Number of obs: 270, groups:  recipe:replicate, 45",
      "",
      "Fixed effects:",
      "              Estimate Std. Error t value",
      "(Intercept)   2.379365   5.902802   0.403",
      "recipeB      -3.649206   8.347822  -0.437",
      "recipeC      -1.941270   8.347822  -0.233",
      "temp          0.153714   0.028207   5.449",
      "recipeB:temp  0.010857   0.039891   0.272",
      "recipeC:temp  0.002095   0.039891   0.053",
      "",
      "Correlation of Fixed Effects:",
      "            (Intr) recipB recipC temp   rcpB:t",
      "recipeB     -0.707                            ",
      "recipeC     -0.707  0.500                     ",
      "temp        -0.956  0.676  0.676              ",
      "recipeB:tmp  0.676 -0.956 -0.478 -0.707       ",
      "recipeC:tmp  0.676 -0.478 -0.956 -0.707  0.500",
    ],
  },
  "orthodont-reml": {
    data: "Orthodont",
    q: [-3.16935071229817, -0.386208603314925, 0.00695499819419945, 0.445435650192452, 3.84904349677363],
    text: [
      "Linear mixed model fit by REML ['lmerMod']",
      "Formula: distance ~ age * Sex + (age | Subject)",
      "   Data: Orthodont",
      "",
      "REML criterion at convergence: 432.6",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-3.1694 -0.3862  0.0070  0.4454  3.8490 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev. Corr ",
      " Subject  (Intercept) 5.77449  2.4030        ",
      "          age         0.03245  0.1801   -0.67",
      " Residual             1.71663  1.3102        ",
      "Number of obs: 108, groups:  Subject, 27",
      "",
      "Fixed effects:",
      "              Estimate Std. Error t value",
      "(Intercept)   16.34062    1.01825  16.048",
      "age            0.78437    0.08598   9.123",
      "SexFemale      1.03210    1.59529   0.647",
      "age:SexFemale -0.30483    0.13471  -2.263",
      "",
      "Correlation of Fixed Effects:",
      "            (Intr) age    SexFml",
      "age         -0.880              ",
      "SexFemale   -0.638  0.562       ",
      "age:SexFeml  0.562 -0.638 -0.880",
    ],
  },
  "dyestuff2-reml": {
    data: "Dyestuff2",
    q: [-1.76484316631699, -0.780636831801127, -0.0809003073982693, 0.668894291442639, 2.09070508314275],
    text: [
      "Linear mixed model fit by REML ['lmerMod']",
      "Formula: Yield ~ 1 + (1 | Batch)",
      "   Data: Dyestuff2",
      "",
      "REML criterion at convergence: 161.8",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-1.7648 -0.7806 -0.0809  0.6689  2.0907 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev.",
      " Batch    (Intercept)  0.00    0.000   ",
      " Residual             13.81    3.716   ",
      "Number of obs: 30, groups:  Batch, 6",
      "",
      "Fixed effects:",
      "            Estimate Std. Error t value",
      "(Intercept)   5.6656     0.6784   8.352",
      "optimizer (nloptwrap) convergence code: 0 (OK)",
      "boundary (singular) fit: see help('isSingular')",
      "",
    ],
  },
  "dyestuff-reml": {
    data: "Dyestuff",
    q: [-1.41169475888021, -0.763372036057254, 0.14183596706443, 0.779177431884772, 1.82961736133983],
    text: [
      "Linear mixed model fit by REML ['lmerMod']",
      "Formula: Yield ~ 1 + (1 | Batch)",
      "   Data: Dyestuff",
      "",
      "REML criterion at convergence: 319.7",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-1.4117 -0.7634  0.1418  0.7792  1.8296 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev.",
      " Batch    (Intercept) 1764     42.00   ",
      " Residual             2451     49.51   ",
      "Number of obs: 30, groups:  Batch, 6",
      "",
      "Fixed effects:",
      "            Estimate Std. Error t value",
      "(Intercept)  1527.50      19.38    78.8",
    ],
  },
  "dyestuff-ml": {
    data: "Dyestuff",
    q: [-1.43146102341045, -0.797243812405311, 0.147985471498192, 0.772058039107172, 1.80370159336285],
    text: [
      "Linear mixed model fit by maximum likelihood  ['lmerMod']",
      "Formula: Yield ~ 1 + (1 | Batch)",
      "   Data: Dyestuff",
      "",
      "     AIC      BIC   logLik deviance df.resid ",
      "   333.3    337.5   -163.7    327.3       27 ",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-1.4315 -0.7972  0.1480  0.7721  1.8037 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev.",
      " Batch    (Intercept) 1388     37.26   ",
      " Residual             2451     49.51   ",
      "Number of obs: 30, groups:  Batch, 6",
      "",
      "Fixed effects:",
      "            Estimate Std. Error t value",
      "(Intercept)  1527.50      17.69   86.33",
    ],
  },
};

describe("formatSummary: the reference fits, whole output against lme4", () => {
  for (const [id, e] of Object.entries(EXPECTED)) {
    it(id, () => {
      expect(formatSummary(loadFit(id, e.q), { dataName: e.data })).toBe(text(e.text));
    });
  }
});

describe("formatSummary: blocks", () => {
  const block = (s: string, from: string, to: string) => s.slice(s.indexOf(from), s.indexOf(to, s.indexOf(from)));
  const get = (id: string) => formatSummary(loadFit(id, EXPECTED[id].q), { dataName: EXPECTED[id].data });

  it("crossed terms: several groups on the Number of obs line", () => {
    const s = get("penicillin-reml");
    expect(block(s, "Random effects:", "\nFixed")).toBe(
      text([
        "Random effects:",
        " Groups   Name        Variance Std.Dev.",
        " plate    (Intercept) 0.7169   0.8467  ",
        " sample   (Intercept) 3.7311   1.9316  ",
        " Residual             0.3024   0.5499  ",
        "Number of obs: 144, groups:  plate, 24; sample, 6",
      ]),
    );
  });

  it("nested terms keep lme4's order (cask:batch before batch)", () => {
    const s = get("pastes-nested-reml");
    expect(s).toContain(" cask:batch (Intercept) 8.434    2.9041  \n");
    expect(s).toContain("Number of obs: 60, groups:  cask:batch, 30; batch, 10\n");
  });

  it("uncorrelated terms print as Subject and Subject.1 without a Corr column", () => {
    const s = get("sleepstudy-uncorr-reml");
    expect(block(s, "Random effects:", "Number of obs")).toBe(
      text([
        "Random effects:",
        " Groups    Name        Variance Std.Dev.",
        " Subject   (Intercept) 627.57   25.051  ",
        " Subject.1 Days         35.86    5.988  ",
        " Residual              653.58   25.565  ",
      ]),
    );
  });

  it("p = 18 > 12: the correlation matrix is not shown, with lme4's note", () => {
    const s = get("cake-ordered-reml");
    expect(s).not.toContain("Correlation of Fixed Effects");
    expect(s.endsWith(
      "recipeC:temperature^5 -1.62525    1.65211  -0.984\n" +
        "\nCorrelation matrix not shown by default, as p = 18 > 12.\n" +
        "Use print(x, correlation=TRUE)  or\n" +
        "    vcov(x)        if you need it\n\n",
    )).toBe(true);
  });

  it("negative correlation widens the Corr column (orthodont)", () => {
    const s = get("orthodont-reml");
    expect(block(s, "Random effects:", "Number of obs")).toBe(
      text([
        "Random effects:",
        " Groups   Name        Variance Std.Dev. Corr ",
        " Subject  (Intercept) 5.77449  2.4030        ",
        "          age         0.03245  0.1801   -0.67",
        " Residual             1.71663  1.3102        ",
      ]),
    );
  });

  it("singular fit: convergence code line and the isSingular message at the end", () => {
    const s = get("dyestuff2-reml");
    expect(s.endsWith(
      "(Intercept)   5.6656     0.6784   8.352\n" +
        "optimizer (nloptwrap) convergence code: 0 (OK)\n" +
        "boundary (singular) fit: see help('isSingular')\n\n",
    )).toBe(true);
  });
});

describe("formatSummary: options and fit warnings", () => {
  it("correlation = TRUE prints the wide matrix in column blocks (cake, p = 18)", () => {
    const e = EXPECTED["cake-ordered-reml"];
    const s = formatSummary(loadFit("cake-ordered-reml", e.q), { dataName: "cake", correlation: true });
    expect(s).toBe(text([
        "Linear mixed model fit by REML ['lmerMod']",
        "Formula: angle ~ recipe * temperature + (1 | recipe:replicate)",
        "   Data: cake",
        "",
        "REML criterion at convergence: 1638.6",
        "",
        "Scaled residuals: ",
        "     Min       1Q   Median       3Q      Max ",
        "-2.64661 -0.61082 -0.05207  0.56985  2.75374 ",
        "",
        "Random effects:",
        " Groups           Name        Variance Std.Dev.",
        " recipe:replicate (Intercept) 41.84    6.468   ",
        " Residual                     20.47    4.524   ",
        "Number of obs: 270, groups:  recipe:replicate, 45",
        "",
        "Fixed effects:",
        "                      Estimate Std. Error t value",
        "(Intercept)           33.12222    1.73683  19.070",
        "recipeB               -1.47778    2.45625  -0.602",
        "recipeC               -1.52222    2.45625  -0.620",
        "temperature.L          6.43033    1.16822   5.504",
        "temperature.Q         -0.71285    1.16822  -0.610",
        "temperature.C         -2.32551    1.16822  -1.991",
        "temperature^4         -3.35128    1.16822  -2.869",
        "temperature^5         -0.15119    1.16822  -0.129",
        "recipeB:temperature.L  0.45419    1.65211   0.275",
        "recipeC:temperature.L  0.08765    1.65211   0.053",
        "recipeB:temperature.Q -0.23277    1.65211  -0.141",
        "recipeC:temperature.Q  1.21475    1.65211   0.735",
        "recipeB:temperature.C  2.69322    1.65211   1.630",
        "recipeC:temperature.C  2.63856    1.65211   1.597",
        "recipeB:temperature^4  3.02372    1.65211   1.830",
        "recipeC:temperature^4  3.13711    1.65211   1.899",
        "recipeB:temperature^5 -0.66354    1.65211  -0.402",
        "recipeC:temperature^5 -1.62525    1.65211  -0.984",
        "",
        "Correlation of Fixed Effects:",
        "            (Intr) recipB recipC tmpr.L tmpr.Q tmpr.C tmpr^4 tmpr^5 rcB:.L",
        "recipeB     -0.707                                                        ",
        "recipeC     -0.707  0.500                                                 ",
        "temperatr.L  0.000  0.000  0.000                                          ",
        "temperatr.Q  0.000  0.000  0.000  0.000                                   ",
        "temperatr.C  0.000  0.000  0.000  0.000  0.000                            ",
        "temperatr^4  0.000  0.000  0.000  0.000  0.000  0.000                     ",
        "temperatr^5  0.000  0.000  0.000  0.000  0.000  0.000  0.000              ",
        "rcpB:tmpr.L  0.000  0.000  0.000 -0.707  0.000  0.000  0.000  0.000       ",
        "rcpC:tmpr.L  0.000  0.000  0.000 -0.707  0.000  0.000  0.000  0.000  0.500",
        "rcpB:tmpr.Q  0.000  0.000  0.000  0.000 -0.707  0.000  0.000  0.000  0.000",
        "rcpC:tmpr.Q  0.000  0.000  0.000  0.000 -0.707  0.000  0.000  0.000  0.000",
        "rcpB:tmpr.C  0.000  0.000  0.000  0.000  0.000 -0.707  0.000  0.000  0.000",
        "rcpC:tmpr.C  0.000  0.000  0.000  0.000  0.000 -0.707  0.000  0.000  0.000",
        "rcpB:tmpr^4  0.000  0.000  0.000  0.000  0.000  0.000 -0.707  0.000  0.000",
        "rcpC:tmpr^4  0.000  0.000  0.000  0.000  0.000  0.000 -0.707  0.000  0.000",
        "rcpB:tmpr^5  0.000  0.000  0.000  0.000  0.000  0.000  0.000 -0.707  0.000",
        "rcpC:tmpr^5  0.000  0.000  0.000  0.000  0.000  0.000  0.000 -0.707  0.000",
        "            rcC:.L rcB:.Q rcC:.Q rcB:.C rcC:.C rcB:^4 rcC:^4 rcB:^5",
        "recipeB                                                            ",
        "recipeC                                                            ",
        "temperatr.L                                                        ",
        "temperatr.Q                                                        ",
        "temperatr.C                                                        ",
        "temperatr^4                                                        ",
        "temperatr^5                                                        ",
        "rcpB:tmpr.L                                                        ",
        "rcpC:tmpr.L                                                        ",
        "rcpB:tmpr.Q  0.000                                                 ",
        "rcpC:tmpr.Q  0.000  0.500                                          ",
        "rcpB:tmpr.C  0.000  0.000  0.000                                   ",
        "rcpC:tmpr.C  0.000  0.000  0.000  0.500                            ",
        "rcpB:tmpr^4  0.000  0.000  0.000  0.000  0.000                     ",
        "rcpC:tmpr^4  0.000  0.000  0.000  0.000  0.000  0.500              ",
        "rcpB:tmpr^5  0.000  0.000  0.000  0.000  0.000  0.000  0.000       ",
        "rcpC:tmpr^5  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.500",
      ]));
  });

  it("rank deficiency: fit warnings after the correlation block", () => {
    // Reaction ~ Days + Days2 + (Days | Subject) with Days2 = 2 * Days: lme4 drops Days2 and
    // the fit is the sleepstudy REML fit
    const fit = loadFit("sleepstudy-slope-reml", [-3.95356734536703, -0.463397683127066, 0.0231176647794387, 0.463402078150267, 5.17926037341145]);
    fit.formula = "Reaction ~ Days + Days2 + (Days | Subject)";
    fit.dropped_columns = ["Days2"];
    fit.warnings = ["fixed-effect model matrix is rank deficient so dropping 1 column / coefficient"];
    const expected = text([
        "Linear mixed model fit by REML ['lmerMod']",
        "Formula: Reaction ~ Days + Days2 + (Days | Subject)",
        "   Data: sleep2",
        "",
        "REML criterion at convergence: 1743.6",
        "",
        "Scaled residuals: ",
        "    Min      1Q  Median      3Q     Max ",
        "-3.9536 -0.4634  0.0231  0.4634  5.1793 ",
        "",
        "Random effects:",
        " Groups   Name        Variance Std.Dev. Corr",
        " Subject  (Intercept) 612.10   24.741       ",
        "          Days         35.07    5.922   0.07",
        " Residual             654.94   25.592       ",
        "Number of obs: 180, groups:  Subject, 18",
        "",
        "Fixed effects:",
        "            Estimate Std. Error t value",
        "(Intercept)  251.405      6.825  36.838",
        "Days          10.467      1.546   6.771",
        "",
        "Correlation of Fixed Effects:",
        "     (Intr)",
        "Days -0.138",
        "fit warnings:",
        "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient",
      ]);
    expect(formatSummary(fit, { dataName: "sleep2" })).toBe(expected);
    fit.warnings = [];
    expect(formatSummary(fit, { dataName: "sleep2" })).toBe(expected);
    fit.dropped_columns = ["Days2", "Days3"];
    expect(formatSummary(fit, { dataName: "sleep2" })).toContain(
      "fit warnings:\nfixed-effect model matrix is rank deficient so dropping 2 columns / coefficients\n",
    );
  });
});

// Fits that are not among the reference fixtures: the fields formatSummary reads, from R.
function inlineFit(fields: Record<string, unknown>, q: Quantiles): FitJSON {
  const f = fields as { REMLcrit: number; deviance_ML: number };
  return withExtensions({ call: "lmer", family: "gaussian", link: "identity", objective: f.REMLcrit, deviance: f.deviance_ML, ...fields }, q);
}

describe("formatSummary: long formula, 3 x 3 correlations, convergence messages", () => {
  it("a formula longer than 60 characters is broken as deparse() does", () => {
    const fit = inlineFit({"formula": "Reaction ~ Days + I(Days^2) + I(Days^3) + log(Days + 1) + sqrt(Days) + (Days | Subject)", "REML": true, "nobs": 180, "ngrps": {"Subject": 18}, "fixef": {"(Intercept)": 256.655338583224, "Days": 150.524300483233, "I(Days^2)": -16.270263710196, "I(Days^3)": 0.737948782506383, "log(Days + 1)": -437.273516666004, "sqrt(Days)": 175.715859965269}, "se": {"(Intercept)": 8.39581376593649, "Days": 110.314347988576, "I(Days^2)": 12.8905498184332, "I(Days^3)": 0.579903691601122, "log(Days + 1)": 354.422742356882, "sqrt(Days)": 154.805409570776}, "vcov": [[70.4896887922887, 7.22396758774701, 0.32156186894095, -0.0162881858918556, 88.1728974156488, -104.631071001992], [7.22396758774701, 12169.2553721446, -1417.75936692854, 63.0473490892838, -38224.4112669526, 15857.8726812454], [0.32156186894095, -1417.75936692854, 166.166274621509, -7.44145992501554, 4409.89583172335, -1818.15814338018], [-0.0162881858918556, 63.0473490892838, -7.44145992501554, 0.336288291532609, -193.196355188009, 78.7828590100781], [88.1728974156488, -38224.4112669526, 4409.89583172335, -193.196355188009, 125615.480299773, -54062.4120128857], [-104.631071001992, 15857.8726812454, -1818.15814338018, 78.7828590100781, -54062.4120128857, 23964.7148323757]], "VarCorr": {"Subject": {"names": ["(Intercept)", "Days"], "sd": [24.7212267750738, 5.9194057397501], "corr": [[1, 0.0666139707519167], [0.0666139707519167, 1]]}, "Residual": {"names": ["(residual)"], "sd": [25.6452501038737], "corr": null}}, "sigma": 25.6452501038737, "REMLcrit": 1721.69728894688, "deviance_ML": 1748.49558737842, "logLik": -860.848644473439, "AIC": 1741.69728894688, "BIC": 1773.62685745578, "df_residual": 170, "singular": false, "optimizer": "nloptwrap", "conv_messages": []}, [-4.07360757469622, -0.448258267928919, 0.044301790556424, 0.484604525061941, 5.21608377153838]);
    expect(formatSummary(fit, { dataName: "sleepstudy" })).toBe(text([
        "Linear mixed model fit by REML ['lmerMod']",
        "Formula: ",
        "Reaction ~ Days + I(Days^2) + I(Days^3) + log(Days + 1) + sqrt(Days) +  ",
        "    (Days | Subject)",
        "   Data: sleepstudy",
        "",
        "REML criterion at convergence: 1721.7",
        "",
        "Scaled residuals: ",
        "    Min      1Q  Median      3Q     Max ",
        "-4.0736 -0.4483  0.0443  0.4846  5.2161 ",
        "",
        "Random effects:",
        " Groups   Name        Variance Std.Dev. Corr",
        " Subject  (Intercept) 611.14   24.721       ",
        "          Days         35.04    5.919   0.07",
        " Residual             657.68   25.645       ",
        "Number of obs: 180, groups:  Subject, 18",
        "",
        "Fixed effects:",
        "               Estimate Std. Error t value",
        "(Intercept)    256.6553     8.3958  30.569",
        "Days           150.5243   110.3143   1.365",
        "I(Days^2)      -16.2703    12.8905  -1.262",
        "I(Days^3)        0.7379     0.5799   1.273",
        "log(Days + 1) -437.2735   354.4227  -1.234",
        "sqrt(Days)     175.7159   154.8054   1.135",
        "",
        "Correlation of Fixed Effects:",
        "            (Intr) Days   I(D^2) I(D^3) l(D+1)",
        "Days         0.008                            ",
        "I(Days^2)    0.003 -0.997                     ",
        "I(Days^3)   -0.003  0.986 -0.995              ",
        "log(Days+1)  0.030 -0.978  0.965 -0.940       ",
        "sqrt(Days)  -0.081  0.929 -0.911  0.878 -0.985",
      ]));
  });

  it("a 3 x 3 random-effects correlation and multi-line convergence messages", () => {
    const fit = inlineFit({"formula": "distance ~ age * Sex + (age + I(age^2) | Subject)", "REML": true, "nobs": 108, "ngrps": {"Subject": 27}, "fixef": {"(Intercept)": 16.3874378357636, "age": 0.784176594093833, "SexFemale": 0.982670537060961, "age:SexFemale": -0.304620039917278}, "se": {"(Intercept)": 0.999928187867856, "age": 0.0840360363840728, "SexFemale": 1.56658639561249, "age:SexFemale": 0.131659166065916}, "vcov": [[0.999856380892695, -0.073506632160907, -0.999856380892696, 0.0735066321609071], [-0.073506632160907, 0.00706205541114521, 0.0735066321609071, -0.00706205541114521], [-0.999856380892696, 0.0735066321609071, 2.45419293491813, -0.180425369849474], [0.0735066321609071, -0.00706205541114521, -0.180425369849474, 0.0173341360091725]], "VarCorr": {"Subject": {"names": ["(Intercept)", "age", "I(age^2)"], "sd": [1.27769229926463, 0.33386669297207, 0.0136884796488626], "corr": [[1, -0.284454849917241, -0.208092526192201], [-0.284454849917241, 1, -0.878464013893425], [-0.208092526192201, -0.878464013893425, 1]]}, "Residual": {"names": ["(residual)"], "sd": [1.32275138722409], "corr": null}}, "sigma": 1.32275138722409, "REMLcrit": 432.76151508503, "deviance_ML": 427.98194664972, "logLik": -216.380757542515, "AIC": 454.76151508503, "BIC": 484.264958583396, "df_residual": 97, "singular": false, "optimizer": "nloptwrap", "conv_messages": ["Model failed to converge with max|grad| = 1.22876 (tol = 0.002, component 1)", "Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?"]}, [-3.33747312975122, -0.403973093558697, -0.000734198779154988, 0.474153318937636, 3.80569264778268]);
    expect(formatSummary(fit, { dataName: "Orthodont" })).toBe(text([
        "Linear mixed model fit by REML ['lmerMod']",
        "Formula: distance ~ age * Sex + (age + I(age^2) | Subject)",
        "   Data: Orthodont",
        "",
        "REML criterion at convergence: 432.8",
        "",
        "Scaled residuals: ",
        "    Min      1Q  Median      3Q     Max ",
        "-3.3375 -0.4040 -0.0007  0.4742  3.8057 ",
        "",
        "Random effects:",
        " Groups   Name        Variance  Std.Dev. Corr       ",
        " Subject  (Intercept) 1.6324976 1.27769             ",
        "          age         0.1114670 0.33387  -0.28      ",
        "          I(age^2)    0.0001874 0.01369  -0.21 -0.88",
        " Residual             1.7496712 1.32275             ",
        "Number of obs: 108, groups:  Subject, 27",
        "",
        "Fixed effects:",
        "              Estimate Std. Error t value",
        "(Intercept)   16.38744    0.99993  16.389",
        "age            0.78418    0.08404   9.331",
        "SexFemale      0.98267    1.56659   0.627",
        "age:SexFemale -0.30462    0.13166  -2.314",
        "",
        "Correlation of Fixed Effects:",
        "            (Intr) age    SexFml",
        "age         -0.875              ",
        "SexFemale   -0.638  0.558       ",
        "age:SexFeml  0.558 -0.638 -0.875",
        "optimizer (nloptwrap) convergence code: 0 (OK)",
        "Model failed to converge with max|grad| = 1.22876 (tol = 0.002, component 1)",
        "Model is nearly unidentifiable: large eigenvalue ratio",
        " - Rescale variables?",
        "",
      ]));
  });
});

// ---------------------------------------------------------------------------------------------
// lmerTest 3.1-3: print(summary(lmerTest::lmer(...))) in R 4.2.2 at width 80, the data read from the
// fixture CSVs with their *.levels.json (the R script: read.csv, factor(levels = ...), then
// `x <- summary(lmer(FORMULA, data = NAME)); x`). The fits are the reference JSONs *with* their
// `satterthwaite` (lmerTest's df, t, p), so formatSummary defaults to ddf = "Satterthwaite".
// lmerTest's title is longer than lme4's, so .prt.methTit wraps it (the class goes without quotes).

const FIT_DIRS = {
  reference: FITS,
  extra: path.join(import.meta.dirname, "fixtures", "extra", "fits"),
};

/** A reference fit as lmerTest has it: with `satterthwaite` (a 1-coefficient fit's arrays keyed by name). */
function loadLmerTestFit(dir: keyof typeof FIT_DIRS, id: string, q: Quantiles): FitJSON {
  const raw = JSON.parse(fs.readFileSync(path.join(FIT_DIRS[dir], `${id}.json`), "utf8"));
  const names = Object.keys(raw.fixef);
  const keyed = (v: Record<string, number> | number[]) =>
    Array.isArray(v) ? Object.fromEntries(names.map((nm, i) => [nm, v[i]])) : v;
  const s = raw.satterthwaite;
  raw.satterthwaite = { df: keyed(s.df), t: keyed(s.t), p: keyed(s.p) };
  return withExtensions(raw, q);
}

const LMERTEST: Record<string, { dir: keyof typeof FIT_DIRS; data: string; q: Quantiles; text: string[] }> = {
  "sleepstudy-slope-reml": {
    dir: "reference",
    data: "sleepstudy",
    q: [-3.9535673453670297, -0.46339768312706581, 0.023117664779438673, 0.46340207815026713, 5.1792603734114504],
    text: [
      "Linear mixed model fit by REML. t-tests use Satterthwaite's method [",
      "lmerModLmerTest]",
      "Formula: Reaction ~ Days + (Days | Subject)",
      "   Data: sleepstudy",
      "",
      "REML criterion at convergence: 1743.6",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-3.9536 -0.4634  0.0231  0.4634  5.1793 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev. Corr",
      " Subject  (Intercept) 612.10   24.741       ",
      "          Days         35.07    5.922   0.07",
      " Residual             654.94   25.592       ",
      "Number of obs: 180, groups:  Subject, 18",
      "",
      "Fixed effects:",
      "            Estimate Std. Error      df t value Pr(>|t|)    ",
      "(Intercept)  251.405      6.825  17.000  36.838  < 2e-16 ***",
      "Days          10.467      1.546  17.000   6.771 3.26e-06 ***",
      "---",
      "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
      "",
      "Correlation of Fixed Effects:",
      "     (Intr)",
      "Days -0.138",
    ],
  },
  "sleepstudy-slope-ml": {
    dir: "reference",
    data: "sleepstudy",
    q: [-3.9415524167215854, -0.46558937562800795, 0.028944755265825697, 0.463614465396744, 5.1793234291929489],
    text: [
      "Linear mixed model fit by maximum likelihood . t-tests use Satterthwaite's",
      "  method [lmerModLmerTest]",
      "Formula: Reaction ~ Days + (Days | Subject)",
      "   Data: sleepstudy",
      "",
      "     AIC      BIC   logLik deviance df.resid ",
      "  1763.9   1783.1   -876.0   1751.9      174 ",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-3.9416 -0.4656  0.0289  0.4636  5.1793 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev. Corr",
      " Subject  (Intercept) 565.48   23.780       ",
      "          Days         32.68    5.717   0.08",
      " Residual             654.95   25.592       ",
      "Number of obs: 180, groups:  Subject, 18",
      "",
      "Fixed effects:",
      "            Estimate Std. Error      df t value Pr(>|t|)    ",
      "(Intercept)  251.405      6.632  18.001  37.907  < 2e-16 ***",
      "Days          10.467      1.502  18.000   6.968 1.65e-06 ***",
      "---",
      "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
      "",
      "Correlation of Fixed Effects:",
      "     (Intr)",
      "Days -0.138",
    ],
  },
  "penicillin-reml": {
    dir: "reference",
    data: "Penicillin",
    q: [-2.0792336655118739, -0.67139685102898983, 0.062922163831832897, 0.5837712050655155, 2.9795858052207964],
    text: [
      "Linear mixed model fit by REML. t-tests use Satterthwaite's method [",
      "lmerModLmerTest]",
      "Formula: diameter ~ 1 + (1 | plate) + (1 | sample)",
      "   Data: Penicillin",
      "",
      "REML criterion at convergence: 330.9",
      "",
      "Scaled residuals: ",
      "     Min       1Q   Median       3Q      Max ",
      "-2.07923 -0.67140  0.06292  0.58377  2.97959 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev.",
      " plate    (Intercept) 0.7169   0.8467  ",
      " sample   (Intercept) 3.7311   1.9316  ",
      " Residual             0.3024   0.5499  ",
      "Number of obs: 144, groups:  plate, 24; sample, 6",
      "",
      "Fixed effects:",
      "            Estimate Std. Error      df t value Pr(>|t|)    ",
      "(Intercept)  22.9722     0.8086  5.4866   28.41 3.62e-07 ***",
      "---",
      "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
    ],
  },
  "cake-ordered-reml": {
    dir: "reference",
    data: "cake",
    q: [-2.6466070134644322, -0.61081813121636597, -0.052065267505936319, 0.56984837160783519, 2.7537369625340742],
    text: [
      "Linear mixed model fit by REML. t-tests use Satterthwaite's method [",
      "lmerModLmerTest]",
      "Formula: angle ~ recipe * temperature + (1 | recipe:replicate)",
      "   Data: cake",
      "",
      "REML criterion at convergence: 1638.6",
      "",
      "Scaled residuals: ",
      "     Min       1Q   Median       3Q      Max ",
      "-2.64661 -0.61082 -0.05207  0.56985  2.75374 ",
      "",
      "Random effects:",
      " Groups           Name        Variance Std.Dev.",
      " recipe:replicate (Intercept) 41.84    6.468   ",
      " Residual                     20.47    4.524   ",
      "Number of obs: 270, groups:  recipe:replicate, 45",
      "",
      "Fixed effects:",
      "                       Estimate Std. Error        df t value Pr(>|t|)    ",
      "(Intercept)            33.12222    1.73683  42.00000  19.070  < 2e-16 ***",
      "recipeB                -1.47778    2.45625  42.00000  -0.602  0.55065    ",
      "recipeC                -1.52222    2.45625  42.00000  -0.620  0.53878    ",
      "temperature.L           6.43033    1.16822 210.00000   5.504 1.07e-07 ***",
      "temperature.Q          -0.71285    1.16822 210.00000  -0.610  0.54239    ",
      "temperature.C          -2.32551    1.16822 210.00000  -1.991  0.04782 *  ",
      "temperature^4          -3.35128    1.16822 210.00000  -2.869  0.00454 ** ",
      "temperature^5          -0.15119    1.16822 210.00000  -0.129  0.89715    ",
      "recipeB:temperature.L   0.45419    1.65211 210.00000   0.275  0.78365    ",
      "recipeC:temperature.L   0.08765    1.65211 210.00000   0.053  0.95774    ",
      "recipeB:temperature.Q  -0.23277    1.65211 210.00000  -0.141  0.88809    ",
      "recipeC:temperature.Q   1.21475    1.65211 210.00000   0.735  0.46299    ",
      "recipeB:temperature.C   2.69322    1.65211 210.00000   1.630  0.10456    ",
      "recipeC:temperature.C   2.63856    1.65211 210.00000   1.597  0.11175    ",
      "recipeB:temperature^4   3.02372    1.65211 210.00000   1.830  0.06863 .  ",
      "recipeC:temperature^4   3.13711    1.65211 210.00000   1.899  0.05895 .  ",
      "recipeB:temperature^5  -0.66354    1.65211 210.00000  -0.402  0.68836    ",
      "recipeC:temperature^5  -1.62525    1.65211 210.00000  -0.984  0.32637    ",
      "---",
      "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
      "",
      "Correlation matrix not shown by default, as p = 18 > 12.",
      "Use print(x, correlation=TRUE)  or",
      "    vcov(x)        if you need it",
      "",
    ],
  },
  "orthodont-reml": {
    dir: "reference",
    data: "Orthodont",
    q: [-3.1693507122981663, -0.38620860331492524, 0.0069549981941994495, 0.44543565019245246, 3.8490434967736333],
    text: [
      "Linear mixed model fit by REML. t-tests use Satterthwaite's method [",
      "lmerModLmerTest]",
      "Formula: distance ~ age * Sex + (age | Subject)",
      "   Data: Orthodont",
      "",
      "REML criterion at convergence: 432.6",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-3.1694 -0.3862  0.0070  0.4454  3.8490 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev. Corr ",
      " Subject  (Intercept) 5.77449  2.4030        ",
      "          age         0.03245  0.1801   -0.67",
      " Residual             1.71663  1.3102        ",
      "Number of obs: 108, groups:  Subject, 27",
      "",
      "Fixed effects:",
      "              Estimate Std. Error       df t value Pr(>|t|)    ",
      "(Intercept)   16.34062    1.01825 25.00779  16.048 1.12e-14 ***",
      "age            0.78437    0.08598 25.01129   9.123 1.97e-09 ***",
      "SexFemale      1.03210    1.59529 25.00779   0.647   0.5235    ",
      "age:SexFemale -0.30483    0.13471 25.01129  -2.263   0.0326 *  ",
      "---",
      "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
      "",
      "Correlation of Fixed Effects:",
      "            (Intr) age    SexFml",
      "age         -0.880              ",
      "SexFemale   -0.638  0.562       ",
      "age:SexFeml  0.562 -0.638 -0.880",
    ],
  },
  "dyestuff2-reml": {
    dir: "reference",
    data: "Dyestuff2",
    q: [-1.7648431663169935, -0.7806368318011272, -0.080900307398269311, 0.66889429144263945, 2.0907050831427543],
    text: [
      "Linear mixed model fit by REML. t-tests use Satterthwaite's method [",
      "lmerModLmerTest]",
      "Formula: Yield ~ 1 + (1 | Batch)",
      "   Data: Dyestuff2",
      "",
      "REML criterion at convergence: 161.8",
      "",
      "Scaled residuals: ",
      "    Min      1Q  Median      3Q     Max ",
      "-1.7648 -0.7806 -0.0809  0.6689  2.0907 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev.",
      " Batch    (Intercept)  0.00    0.000   ",
      " Residual             13.81    3.716   ",
      "Number of obs: 30, groups:  Batch, 6",
      "",
      "Fixed effects:",
      "            Estimate Std. Error      df t value Pr(>|t|)    ",
      "(Intercept)   5.6656     0.6784 29.0000   8.352 3.32e-09 ***",
      "---",
      "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
      "optimizer (nloptwrap) convergence code: 0 (OK)",
      "boundary (singular) fit: see help('isSingular')",
      "",
    ],
  },
  "trial-slope-reml": {
    dir: "extra",
    data: "trial",
    q: [-2.685424224362317, -0.56323210347997643, -0.036352910550549136, 0.59529222978004348, 1.9542818229406529],
    text: [
      "Linear mixed model fit by REML. t-tests use Satterthwaite's method [",
      "lmerModLmerTest]",
      "Formula: y ~ arm * time + (1 + time | patient)",
      "   Data: trial",
      "",
      "REML criterion at convergence: 1838.1",
      "",
      "Scaled residuals: ",
      "     Min       1Q   Median       3Q      Max ",
      "-2.68542 -0.56323 -0.03635  0.59529  1.95428 ",
      "",
      "Random effects:",
      " Groups   Name        Variance Std.Dev. Corr",
      " patient  (Intercept) 14.5089  3.8091       ",
      "          time         0.9647  0.9822   0.23",
      " Residual              6.2954  2.5091       ",
      "Number of obs: 342, groups:  patient, 60",
      "",
      "Fixed effects:",
      "               Estimate Std. Error      df t value Pr(>|t|)    ",
      "(Intercept)     49.6544     0.7723 58.1029  64.297  < 2e-16 ***",
      "armactive        3.6669     1.0939 58.4324   3.352 0.001411 ** ",
      "time            -0.6425     0.2122 58.0583  -3.028 0.003666 ** ",
      "armactive:time  -1.1687     0.3002 58.3573  -3.893 0.000257 ***",
      "---",
      "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
      "",
      "Correlation of Fixed Effects:",
      "            (Intr) armctv time  ",
      "armactive   -0.706              ",
      "time        -0.018  0.012       ",
      "armactiv:tm  0.012 -0.020 -0.707",
    ],
  },
};

describe("formatSummary: lmerTest's summary with Satterthwaite df (the default when the fit has satterthwaite)", () => {
  for (const [id, e] of Object.entries(LMERTEST)) {
    it(`${id} matches lmerTest character for character`, () => {
      const fit = loadLmerTestFit(e.dir, id, e.q);
      expect(formatSummary(fit, { dataName: e.data })).toBe(text(e.text));
      expect(formatSummary(fit, { dataName: e.data, ddf: "Satterthwaite" })).toBe(text(e.text));
    });
  }

  it("the 1-coefficient reference JSON (arrays instead of named values) reads by position", () => {
    const e = LMERTEST["penicillin-reml"];
    const raw = JSON.parse(fs.readFileSync(path.join(FITS, "penicillin-reml.json"), "utf8"));
    expect(Array.isArray(raw.satterthwaite.p)).toBe(true);
    expect(formatSummary(withExtensions(raw, e.q), { dataName: e.data })).toBe(text(e.text));
  });

  it('ddf = "none" prints lme4\'s summary exactly, satterthwaite or not', () => {
    for (const [id, e] of Object.entries(EXPECTED)) {
      const raw = JSON.parse(fs.readFileSync(path.join(FITS, `${id}.json`), "utf8"));
      expect(raw.satterthwaite, id).toBeTruthy();
      expect(formatSummary(withExtensions(raw, e.q), { dataName: e.data, ddf: "none" }), id).toBe(text(e.text));
    }
  });

  it('ddf = "Satterthwaite" without fit.satterthwaite is an error naming the field', () => {
    const e = EXPECTED["dyestuff-reml"];
    expect(() => formatSummary(loadFit("dyestuff-reml", e.q), { ddf: "Satterthwaite" })).toThrow(/fit\.satterthwaite/);
  });

  it("signifStars = false as print(x, signif.stars = FALSE): no stars column, no legend (cake)", () => {
    const e = LMERTEST["cake-ordered-reml"];
    const s = formatSummary(loadLmerTestFit("reference", "cake-ordered-reml", e.q), { dataName: "cake", signifStars: false });
    // R 4.2.2, lmerTest 3.1-3: print(x, signif.stars = FALSE)
    expect(s).toBe(
      text([
        ...e.text.slice(0, e.text.indexOf("Fixed effects:") + 1),
        "                       Estimate Std. Error        df t value Pr(>|t|)",
        "(Intercept)            33.12222    1.73683  42.00000  19.070  < 2e-16",
        "recipeB                -1.47778    2.45625  42.00000  -0.602  0.55065",
        "recipeC                -1.52222    2.45625  42.00000  -0.620  0.53878",
        "temperature.L           6.43033    1.16822 210.00000   5.504 1.07e-07",
        "temperature.Q          -0.71285    1.16822 210.00000  -0.610  0.54239",
        "temperature.C          -2.32551    1.16822 210.00000  -1.991  0.04782",
        "temperature^4          -3.35128    1.16822 210.00000  -2.869  0.00454",
        "temperature^5          -0.15119    1.16822 210.00000  -0.129  0.89715",
        "recipeB:temperature.L   0.45419    1.65211 210.00000   0.275  0.78365",
        "recipeC:temperature.L   0.08765    1.65211 210.00000   0.053  0.95774",
        "recipeB:temperature.Q  -0.23277    1.65211 210.00000  -0.141  0.88809",
        "recipeC:temperature.Q   1.21475    1.65211 210.00000   0.735  0.46299",
        "recipeB:temperature.C   2.69322    1.65211 210.00000   1.630  0.10456",
        "recipeC:temperature.C   2.63856    1.65211 210.00000   1.597  0.11175",
        "recipeB:temperature^4   3.02372    1.65211 210.00000   1.830  0.06863",
        "recipeC:temperature^4   3.13711    1.65211 210.00000   1.899  0.05895",
        "recipeB:temperature^5  -0.66354    1.65211 210.00000  -0.402  0.68836",
        "recipeC:temperature^5  -1.62525    1.65211 210.00000  -0.984  0.32637",
        "",
        "Correlation matrix not shown by default, as p = 18 > 12.",
        "Use print(x, correlation=TRUE)  or",
        "    vcov(x)        if you need it",
        "",
      ]),
    );
  });

  it("the lme4 title is unchanged: one line with the quoted class", () => {
    const e = LMERTEST["sleepstudy-slope-ml"];
    const s = formatSummary(loadLmerTestFit("reference", "sleepstudy-slope-ml", e.q), { ddf: "none" });
    expect(s.split("\n")[0]).toBe("Linear mixed model fit by maximum likelihood  ['lmerMod']");
  });
});

describe("format helpers against R 4.2", () => {
  it("format() with digits and nsmall", () => {
    expect(formatNum([612.100158024769, 35.0717144509388, 654.94], { digits: 4 })).toEqual(["612.10", " 35.07", "654.94"]);
    expect(formatNum([1e-10, 1, 1000], { digits: 3 })).toEqual(["1e-10", "1e+00", "1e+03"]);
    expect(formatNum([123456789.123], { digits: 4 })).toEqual(["123456789"]);
    expect(formatNum([0.1 + 0.2], { digits: 17 })).toEqual(["0.30000000000000004"]);
    expect(formatNum([-1.5, null, Infinity])).toEqual(["-1.5", "  NA", " Inf"]);
    expect(formatNum([1e5, 1e15, 1234567.1])).toEqual(["1.000000e+05", "1.000000e+15", "1.234567e+06"]);
    expect(formatNum([1e5])).toEqual(["1e+05"]);
    expect(formatNum([0.001234, 123.4], { nsmall: 2 })).toEqual(["1.234e-03", "1.234e+02"]);
    expect(formatNum([-0.5, 0.25], { nsmall: 3 })).toEqual(["-0.500", " 0.250"]);
    expect(formatNum([2.675], { digits: 3 })).toEqual(["2.67"]);
    expect(formatNum([-0.0001234], { digits: 2 })).toEqual(["-0.00012"]);
    expect(formatNumber(roundR(1743.62827195995, 1))).toBe("1743.6");
    expect(formatNumber(-0)).toBe("0");
  });

  it("round(), signif(), zapsmall()", () => {
    expect([roundR(0.15, 1), roundR(2.5), roundR(-0.5), roundR(0.285, 2), roundR(1234.5678, -2), roundR(-2.675, 2)]).toEqual([
      0.1, 2, -0, 0.28, 1200, -2.67,
    ]);
    expect([signifR(123456, 2), signifR(0.00012345, 3), signifR(-2.5e-7, 1)]).toEqual([120000, 0.000123, -2e-7]);
    expect(zapsmall([1, 1e-20, 0.5])).toEqual([1, 0, 0.5]);
  });

  it("formatC()", () => {
    expect([
      formatC(3.14159, { digits: 3, format: "f" }),
      formatC(123456789, { format: "g" }),
      formatC(1.2345e-5, { digits: 3, format: "e" }),
      formatC(42, { width: 6, flag: "0" }),
      formatC(3.14159, { width: 10, flag: "-" }),
      formatC(2.5, { format: "f", digits: 0 }),
    ]).toEqual(["3.142", "1.235e+08", "1.234e-05", "000042", "3.142     ", "2"]);
  });

  it("printCoefmat() switches to scientific notation with tiny coefficients", () => {
    const m = [
      [1e-8, 2e-9, 5],
      [100.5, 10.2, 9.85],
      [-3.25, 0.0012, -2708.3],
    ];
    expect(printCoefmat(m, ["a", "bb", "ccc"], ["Estimate", "Std. Error", "t value"], { digits: 4 })).toBe(
      text([
        "      Estimate Std. Error  t value",
        "a    1.000e-08  2.000e-09     5.00",
        "bb   1.005e+02  1.020e+01     9.85",
        "ccc -3.250e+00  1.200e-03 -2708.30",
      ]),
    );
  });

  it("abbreviate(names, minlength = 6)", () => {
    expect(abbreviate(["(Intercept)", "SexFemale", "age:SexFemale", "recipeB:temperature^4", "a b c d"], 6)).toEqual([
      "(Intr)",
      "SexFml",
      "ag:SxF",
      "rcB:^4",
      "abcd",
    ]);
  });
});

describe("printCoefmat() with p-values, format.pval, stars and legend against R 4.2", () => {
  // m as in R: cbind(Estimate, `Std. Error`, df, `t value`, `Pr(>|t|)`), printCoefmat(m, digits = 4)
  const rn = ["(Intercept)", "Days", "x"];
  const cn = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"];
  const m = (p: (number | null)[], df3: number | null = 120.5) => [
    [251.405104848485, 6.82459669495491, 16.9997262884927, 36.8380896462844, p[0]],
    [10.467285959596, 1.54578964390598, 16.9999837255917, 6.77148148899918, p[1]],
    [-0.0012345, 0.0456, df3, -0.0270723684210526, p[2]],
  ];
  const P = [1.17155811120826e-17, 3.26382446992738e-6, 0.97846];
  const LEGEND = "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1";

  it("a last column named Pr(...) is the p-values: format.pval with eps, stars and the legend", () => {
    expect(printCoefmat(m(P), rn, cn, { digits: 4 })).toBe(
      text([
        "              Estimate Std. Error         df t value Pr(>|t|)    ",
        "(Intercept) 251.405105   6.824597  16.999726  36.838  < 2e-16 ***",
        "Days         10.467286   1.545790  16.999984   6.771 3.26e-06 ***",
        "x            -0.001234   0.045600 120.500000  -0.027    0.978    ",
        "---",
        LEGEND,
      ]),
    );
  });

  it("signif.stars = FALSE, and P.values = FALSE", () => {
    expect(printCoefmat(m(P), rn, cn, { digits: 4, signifStars: false })).toBe(
      text([
        "              Estimate Std. Error         df t value Pr(>|t|)",
        "(Intercept) 251.405105   6.824597  16.999726  36.838  < 2e-16",
        "Days         10.467286   1.545790  16.999984   6.771 3.26e-06",
        "x            -0.001234   0.045600 120.500000  -0.027    0.978",
      ]),
    );
    expect(printCoefmat(m(P), rn, cn, { digits: 4, pValues: false })).toBe(
      text([
        "              Estimate Std. Error         df t value",
        "(Intercept) 251.405105   6.824597  16.999726  36.838",
        "Days         10.467286   1.545790  16.999984   6.771",
        "x            -0.001234   0.045600 120.500000  -0.027",
      ]),
    );
  });

  it("no p < 0.1: no stars and no legend; missing values print NA", () => {
    expect(printCoefmat(m([0.25, 0.5, null], null), rn, cn, { digits: 4 })).toBe(
      text([
        "              Estimate Std. Error         df t value Pr(>|t|)",
        "(Intercept) 251.405105   6.824597  16.999726  36.838     0.25",
        "Days         10.467286   1.545790  16.999984   6.771     0.50",
        "x            -0.001234   0.045600         NA  -0.027       NA",
      ]),
    );
  });

  it("options(width = 40): column blocks and the legend wrapped as strwrap + cat(fill) do", () => {
    expect(printCoefmat(m([0.0004, 0.04, 0.2]), rn, cn, { digits: 4, width: 40 })).toBe(
      text([
        "              Estimate Std. Error",
        "(Intercept) 251.405105   6.824597",
        "Days         10.467286   1.545790",
        "x            -0.001234   0.045600",
        "                    df t value Pr(>|t|)",
        "(Intercept)  16.999726  36.838    4e-04",
        "Days         16.999984   6.771    4e-02",
        "x           120.500000  -0.027    2e-01",
        "               ",
        "(Intercept) ***",
        "Days        *  ",
        "x              ",
        "---",
        "Signif. codes:  ",
        "  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05",
        "  ‘.’ 0.1 ‘ ’ 1",
      ]),
    );
  });

  it("signifLegend at other widths (R: printCoefmat at options(width = 80, 45, 30, 20))", () => {
    expect(signifLegend(80)).toBe("---\n" + LEGEND + "\n");
    expect(signifLegend(45)).toBe(text(["---", "Signif. codes:  ", "  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1", "  ‘ ’ 1"]));
    expect(signifLegend(30)).toBe(text(["---", "Signif. codes:  ", "  0 ‘***’ 0.001 ‘**’ 0.01", "  ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"]));
    expect(signifLegend(20)).toBe(text(["---", "Signif. codes:  ", "  0 ‘***’ 0.001", "  ‘**’ 0.01 ‘*’", "  0.05 ‘.’ 0.1 ‘  ’ 1"]));
  });

  it("strwrap() and cat(sep = \"\", fill = TRUE): lmerTest's title", () => {
    // R: strwrap(s, 18, prefix = "  ") of the legend
    expect(strwrap("0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1", 18, { prefix: "  " })).toEqual([
      "  0 ‘***’ 0.001",
      "  ‘**’ 0.01 ‘*’",
      "  0.05 ‘.’ 0.1 ‘",
      "  ’ 1",
    ]);
    const ml = "Linear mixed model fit by maximum likelihood . t-tests use Satterthwaite's method";
    expect(strwrap(ml, 78, { exdent: 2 })).toEqual(["Linear mixed model fit by maximum likelihood . t-tests use Satterthwaite's", "  method"]);
    expect(strwrap("One.  Two   three", 80)).toEqual(["One.  Two three"]);
    expect(catFill(["Linear mixed model fit by REML. t-tests use Satterthwaite's method", " [", "lmerModLmerTest", "]"], 80, "")).toBe(
      "Linear mixed model fit by REML. t-tests use Satterthwaite's method [\nlmerModLmerTest]\n",
    );
  });

  it("format.pval and the stars column", () => {
    // R: format.pval(c(1e-20, 0.0123, 0.5), digits = 3); format.pval(c(1e-20, 3e-5), digits = 3)
    expect(formatPval([1e-20, 0.0123, 0.5], 3)).toEqual(["<2e-16", "0.0123", "0.5000"]);
    expect(formatPval([1e-20, 3e-5], 3)).toEqual(["<2e-16", "3e-05"]);
    // R: format(symnum(c(0.0005, 0.005, 0.03, 0.07, 0.5, NA), ...))
    expect(formatSignifStars([0.0005, 0.005, 0.03, 0.07, 0.5, null])).toEqual(["***", "** ", "*  ", ".  ", "   ", "   "]);
  });
});
