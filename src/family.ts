// Families and links of generalized linear (mixed) models as lme4's C++ glmFamily implements them
// (lme4 src/glmFamily.cpp): the inverse links are clamped away from the boundary of the mean's
// range exactly as there, so that fitted means, working weights and deviances agree with glmer's.
// The response is R's: for the binomial a proportion y with prior weights wt = number of trials
// (binomial()$initialize), for Poisson and negative binomial a count.

import { digamma, dlogis, dnorm, lgamma, logDbinom, logDpois, plogis, pnorm, trigamma } from "./rmath.js";
import { qnorm } from "./random.js";

const EPS = 2.220446049250313e-16;

export type LinkName = "logit" | "probit" | "cloglog" | "log";
export type FamilyName = "binomial" | "poisson" | "negative.binomial";

/** A link g: η = g(μ), μ = g⁻¹(η), and dμ/dη. */
export interface Link {
  readonly name: LinkName;
  linkfun(mu: number): number;
  linkinv(eta: number): number;
  muEta(eta: number): number;
}

const LINKS: Record<LinkName, Link> = {
  logit: {
    name: "logit",
    linkfun: (mu) => Math.log(mu / (1 - mu)),
    linkinv: (eta) => Math.min(1 - EPS, plogis(eta)),
    muEta: (eta) => Math.max(EPS, dlogis(eta)),
  },
  probit: {
    name: "probit",
    linkfun: (mu) => qnorm(mu),
    linkinv: (eta) => Math.min(1 - EPS, pnorm(eta)),
    muEta: (eta) => dnorm(eta),
  },
  cloglog: {
    // μ = 1 − exp(−exp(η)), the complement of the Gumbel distribution function.
    name: "cloglog",
    linkfun: (mu) => Math.log(-Math.log(1 - mu)),
    linkinv: (eta) => Math.max(EPS, Math.min(1 - EPS, -Math.expm1(-Math.exp(eta)))),
    muEta: (eta) => Math.max(EPS, Math.exp(eta - Math.exp(eta))),
  },
  log: {
    name: "log",
    linkfun: (mu) => Math.log(mu),
    linkinv: (eta) => Math.max(EPS, Math.exp(eta)),
    muEta: (eta) => Math.max(EPS, Math.exp(eta)),
  },
};

/** y log(y/μ), 0 when y = 0 (lme4's Y_log_Y). */
function ylogy(y: number, mu: number): number {
  const v = y / mu;
  return v ? y * Math.log(v) : 0;
}

/** An exponential family with its link, as glmer uses it. */
export interface Family {
  readonly name: FamilyName;
  /** R's family(fit)$family: "binomial", "poisson", "Negative Binomial(2.345)". */
  readonly label: string;
  readonly link: Link;
  /** The negative binomial's shape θ (variance μ + μ²/θ); undefined otherwise. */
  readonly theta?: number;
  /** V(μ). */
  variance(mu: number): number;
  /** The deviance residual squared, d(y, μ) times the prior weight. */
  devResid(y: number, mu: number, wt: number): number;
  /**
   * −2 log p(y | μ) summed over the rows (R's family$aic without the 2·rank term): n are the binomial
   * trials (1 unless the response was cbind), wt the prior weights as glmer holds them.
   */
  aic(y: Float64Array, n: Float64Array, mu: Float64Array, wt: Float64Array): number;
  /** The starting mean of a row (the family's initialize expression). */
  mustart(y: number, wt: number): number;
}

const LINKS_OF: Record<FamilyName, LinkName[]> = {
  binomial: ["logit", "probit", "cloglog"],
  poisson: ["log"],
  "negative.binomial": ["log"],
};

const DEFAULT_LINK: Record<FamilyName, LinkName> = { binomial: "logit", poisson: "log", "negative.binomial": "log" };

function linkFor(family: FamilyName, link: LinkName | undefined): Link {
  const name = link ?? DEFAULT_LINK[family];
  if (!LINKS_OF[family].includes(name)) {
    throw new Error(`link '${name}' is not available for the ${family} family (use ${LINKS_OF[family].map((l) => `'${l}'`).join(" or ")})`);
  }
  return LINKS[name];
}

/** The binomial family: y a proportion, wt its number of trials (times any prior weight). */
export function binomial(link?: LinkName): Family {
  return {
    name: "binomial",
    label: "binomial",
    link: linkFor("binomial", link),
    variance: (mu) => Math.max(EPS, mu * (1 - mu)),
    devResid: (y, mu, wt) => 2 * wt * (ylogy(y, mu) + ylogy(1 - y, 1 - mu)),
    aic(y, n, mu, wt) {
      // R's binomial()$aic: the counts are m·y out of m, m the trials (or the weights for 0/1 data).
      let useN = false;
      for (let i = 0; i < n.length; i++) if (n[i] > 1) useN = true;
      let s = 0;
      for (let i = 0; i < mu.length; i++) {
        const m = Math.round(useN ? n[i] : wt[i]);
        if (m <= 0) continue;
        s += (wt[i] / m) * logDbinom(Math.round(m * y[i]), m, mu[i]);
      }
      return -2 * s;
    },
    mustart: (y, wt) => (wt * y + 0.5) / (wt + 1),
  };
}

/** The Poisson family. */
export function poisson(link?: LinkName): Family {
  return {
    name: "poisson",
    label: "poisson",
    link: linkFor("poisson", link),
    variance: (mu) => mu,
    devResid: (y, mu, wt) => 2 * wt * (ylogy(y, mu) - (y - mu)),
    aic(y, _n, mu, wt) {
      let s = 0;
      for (let i = 0; i < mu.length; i++) s += logDpois(y[i], mu[i]) * wt[i];
      return -2 * s;
    },
    mustart: (y) => y + 0.1,
  };
}

/** R's format(round(θ, 4)) in MASS's family name "Negative Binomial(θ)". */
function formatTheta(theta: number): string {
  return String(Number(theta.toFixed(4)));
}

/** The negative binomial family with shape θ, variance μ + μ²/θ (MASS::negative.binomial). */
export function negativeBinomial(theta: number, link?: LinkName): Family {
  if (!(theta > 0 && Number.isFinite(theta))) throw new Error(`the negative binomial θ must be positive and finite, got ${theta}`);
  return {
    name: "negative.binomial",
    label: `Negative Binomial(${formatTheta(theta)})`,
    link: linkFor("negative.binomial", link),
    theta,
    variance: (mu) => mu + (mu * mu) / theta,
    devResid: (y, mu, wt) => 2 * wt * (ylogy(y, mu) - (y + theta) * Math.log((y + theta) / (mu + theta))),
    aic(y, _n, mu, wt) {
      // lme4's negativeBinomialDist::aic (the prior weight multiplies the first term only, as there).
      const c = -theta * Math.log(theta) + lgamma(theta);
      let s = 0;
      for (let i = 0; i < mu.length; i++) {
        const yi = y[i];
        s += wt[i] * (yi + theta) * Math.log(mu[i] + theta) - (yi === 0 ? 0 : yi * Math.log(mu[i])) + lgamma(yi + 1) + c - lgamma(theta + yi);
      }
      return 2 * s;
    },
    mustart: (y) => y + (y === 0 ? 1 / 6 : 0),
  };
}

/** The family named as lme4's glmer takes it ("binomial", "poisson"), with its link. */
export function makeFamily(name: string, link?: string, theta?: number): Family {
  const ln = link as LinkName | undefined;
  if (ln !== undefined && !(ln in LINKS)) throw new Error(`unknown link '${link}' (use "logit", "probit", "cloglog" or "log")`);
  switch (name) {
    case "binomial":
      return binomial(ln);
    case "poisson":
      return poisson(ln);
    case "negative.binomial":
    case "negativebinomial":
      if (theta === undefined) throw new Error("the negative binomial family needs θ (or use glmerNB to estimate it)");
      return negativeBinomial(theta, ln);
    default:
      throw new Error(`unknown family '${name}' (glmer fits "binomial", "poisson" and, through glmerNB, the negative binomial)`);
  }
}

/**
 * The maximum-likelihood negative binomial shape for means μ (MASS::theta.ml): Newton's method on the
 * score from the moment start n / Σ w (y/μ − 1)², at most `limit` iterations, stopping when the step
 * is below eps. Returns θ̂ and whether the iteration limit was reached.
 */
export function thetaML(y: Float64Array, mu: Float64Array, w: Float64Array, limit = 10, eps = Math.pow(EPS, 0.25)): { theta: number; warning?: string } {
  let n = 0, s = 0;
  for (let i = 0; i < y.length; i++) {
    n += w[i];
    s += w[i] * (y[i] / mu[i] - 1) ** 2;
  }
  let t0 = n / s;
  let it = 0, del = 1;
  while (++it < limit && Math.abs(del) > eps) {
    t0 = Math.abs(t0);
    let score = 0, info = 0;
    for (let i = 0; i < y.length; i++) {
      const yt = y[i] + t0, mt = mu[i] + t0;
      score += w[i] * (digamma(yt) - digamma(t0) + Math.log(t0) + 1 - Math.log(mt) - yt / mt);
      info += w[i] * (-trigamma(yt) + trigamma(t0) - 1 / t0 + 2 / mt - yt / (mt * mt));
    }
    del = score / info;
    t0 += del;
  }
  if (t0 < 0) return { theta: 0, warning: "theta.ml: estimate truncated at zero" };
  if (it === limit) return { theta: t0, warning: "theta.ml: iteration limit reached" };
  return { theta: t0 };
}
