// broom.mixed's tidy() / glance() (src/tidy.ts) against R 4.2.2 / lme4 1.1-31 / lmerTest 3.1-3, where
// broom.mixed is not installed, so its tables were assembled by hand the way its source does
// (R/lme4_tidiers.R, R/utilities.R):
//   fixed:    coef(summary(fit, ddf = "Satterthwaite")) (lmerTest); conf.int: confint(fit, method = "Wald",
//             parm = "beta_") (level 0.95 and 0.9), and broom.mixed's lmerTest interval Estimate ± qt((1 + level)/2, df) SE
//   ran_pars: as.data.frame(VarCorr(fit), order = "lower.tri") with ran_pars_name(): "sd__" / "cor__" + var1[.var2],
//             "sd__Observation" for the residual; estimate = sdcor
//   ran_vals: as.data.frame(ranef(fit, condVar = TRUE)): grpvar, term, grp, condval, condsd (rows listed by index)
//   glance:   nobs, sigma, logLik, AIC, BIC, deviance (REMLcrit(fit) for REML fits, named REMLcrit), df.residual
// Values printed with sprintf("%.17g"). Comparisons at lme4's θ (m.setTheta(theta)); Satterthwaite df and
// p-values with the tolerances of test/satterthwaite.test.ts (numerical derivatives, as lmerTest's).
import { describe, expect, it } from "vitest";
import { parseCSV, type NumericColumn, type FactorColumn } from "../src/data.js";
import { lmer, type LinearMixedModel } from "../src/linearmixedmodel.js";
import { satterthwaite } from "../src/satterthwaite.js";
import { glance, tidy, toCSV, type TidyEffect, type TidyRow } from "../src/tidy.js";
import { extraDir, referenceTable } from "./helpers/reference.js";

interface Expected {
  theta: number[];
  fixed: {
    term: string[];
    estimate: number[];
    "std.error": number[];
    df: number[];
    statistic: number[];
    "p.value": number[];
    wald: [number[], number[]];
    wald90: [number[], number[]];
    satt: [number[], number[]];
  };
  ran_pars: { group: string[]; term: string[]; estimate: number[] };
  ran_vals: { n: number; index: number[]; group: string[]; level: string[]; term: string[]; estimate: number[]; "std.error": number[] };
  glance: Record<string, number>;
}

const R: Record<string, Expected> = {
  "sleepstudy-slope-reml": {
    theta: [0.96674177396741234, 0.015169058896036137, 0.23090995320779453],
    fixed: { term: ["(Intercept)", "Days"], estimate: [251.40510484848497, 10.467285959595987], "std.error": [6.8245966949549057, 1.5457896439059811], df: [16.99972628849272, 16.999983725591733], statistic: [36.838089646284388, 6.7714814889991812], "p.value": [1.1715581112082594e-17, 3.2638244699273775e-06],
      wald: [[238.02914111736226, 7.4375939298652698], [264.78106857960768, 13.496977989326705]], wald90: [[240.17964222230736, 7.9246882573132087], [262.6305674746626, 13.009883661878764]], satt: [[237.00644676896687, 7.2059546509973487], [265.8037629280031, 13.728617268194625]] },
    ran_pars: { group: ["Subject", "Subject", "Subject", "Residual"], term: ["sd__(Intercept)", "cor__(Intercept).Days", "sd__Days", "sd__Observation"], estimate: [24.740657994984062, 0.065551238238128209, 5.9221376588980812, 25.59179572167535] },
    ran_vals: { n: 36, index: [0, 1, 2, 34, 35], group: ["Subject", "Subject", "Subject", "Subject", "Subject"], level: ["308", "309", "310", "371", "372"], term: ["(Intercept)", "(Intercept)", "(Intercept)", "Days", "Days"], estimate: [2.2585509499011551, -40.398738078805088, -38.960408957557931, -0.98815622217549182, 1.2840220765325676], "std.error": [12.070856950514328, 12.070856950514328, 12.070856950514328, 2.3048390209002849, 2.3048390209002849] },
    glance: { nobs: 180, sigma: 25.59179572167535, logLik: -871.81413597997596, AIC: 1755.6282719599519, BIC: 1774.7860130652932, REMLcrit: 1743.6282719599519, "df.residual": 174 },
  },
  "sleepstudy-slope-ml": {
    theta: [0.92919060527824848, 0.018165754720411969, 0.22264320561261811],
    fixed: { term: ["(Intercept)", "Days"], estimate: [251.40510484848565, 10.467285959595767], "std.error": [6.6321227421902904, 1.5022302138320407], df: [18.001134766380311, 18.000176928514673], statistic: [37.907185168508796, 6.9678308046372965], "p.value": [1.2637519375194991e-18, 1.652227905115934e-06],
      wald: [[238.40638313274366, 7.522968843997063], [264.40382656422764, 13.411603075194471]], wald90: [[240.4962337016066, 7.9963371438580477], [262.31397599536467, 12.938234775333484]], satt: [[237.47159496546482, 7.3112196174680655], [265.33861473150648, 13.623352301723468]] },
    ran_pars: { group: ["Subject", "Subject", "Subject", "Residual"], term: ["sd__(Intercept)", "cor__(Intercept).Days", "sd__Days", "sd__Observation"], estimate: [23.779759589457989, 0.081321093426634475, 5.7167985139282873, 25.591907036486965] },
    ran_vals: { n: 36, index: [0, 1, 2, 34, 35], group: ["Subject", "Subject", "Subject", "Subject", "Subject"], level: ["308", "309", "310", "371", "372"], term: ["(Intercept)", "(Intercept)", "(Intercept)", "Days", "Days"], estimate: [2.8157890196665147, -40.047854917908829, -38.432496867084616, -0.97104999684395554, 1.3107214637743279], "std.error": [11.872864263222761, 11.872864263222761, 11.872864263222761, 2.271064777232096, 2.271064777232096] },
    glance: { nobs: 180, sigma: 25.591907036486965, logLik: -875.96967224449543, AIC: 1763.9393444889909, BIC: 1783.0970855943322, deviance: 1751.9393444889909, "df.residual": 174 },
  },
  "sleepstudy-uncorr-reml": {
    theta: [0.97989652791423731, 0.23423122534704488],
    fixed: { term: ["(Intercept)", "Days"], estimate: [251.40510484848289, 10.467285959596026], "std.error": [6.8853808172372117, 1.5595690980685653], df: [18.156196049639931, 18.156091291254256], statistic: [36.512883095602, 6.7116525792663788], "p.value": [1.8933806906231635e-18, 2.5940971141053736e-06],
      wald: [[237.91000642685501, 7.4105866959800233], [264.90020327011081, 13.52398522321203]], wald90: [[240.07966123830818, 7.9020230721565099], [262.73054845865761, 13.032548847035541]], satt: [[236.94837164923254, 7.1927708391466361], [265.86183804773322, 13.741801080045416]] },
    ran_pars: { group: ["Subject", "Subject.1", "Residual"], term: ["sd__(Intercept)", "sd__Days", "sd__Observation"], estimate: [25.051328324776115, 5.9881866737229679, 25.565279201569599] },
    ran_vals: { n: 36, index: [0, 1, 2, 34, 35], group: ["Subject", "Subject", "Subject", "Subject", "Subject"], level: ["308", "309", "310", "371", "372"], term: ["(Intercept)", "(Intercept)", "(Intercept)", "Days", "Days"], estimate: [1.5126647686793393, -40.373872827716724, -39.181027903702137, -1.0052937719726034, 1.2584036772536216], "std.error": [12.238941063459635, 12.238941063459635, 12.238941063459635, 2.335463913007628, 2.335463913007628] },
    glance: { nobs: 180, sigma: 25.565279201569599, logLik: -871.83464679074052, AIC: 1753.669293581481, BIC: 1769.6340778359322, REMLcrit: 1743.669293581481, "df.residual": 175 },
  },
  "penicillin-reml": {
    theta: [1.5396755541521649, 3.5125188600064563],
    fixed: { term: ["(Intercept)"], estimate: [22.972222222213748], "std.error": [0.80859536142065114], df: [5.4865924247737192], statistic: [28.410034633210113], "p.value": [3.6235197706619397e-07],
      wald: [[21.387404435763123], [24.557040008664373]], wald90: [[21.642201209244853], [24.302243235182644]], satt: [[20.947902709982532], [24.996541734444964]] },
    ran_pars: { group: ["plate", "sample", "Residual"], term: ["sd__(Intercept)", "sd__(Intercept)", "sd__Observation"], estimate: [0.84670251025771648, 1.9316137923179075, 0.54992268207048345] },
    ran_vals: { n: 30, index: [0, 1, 2, 28, 29], group: ["plate", "plate", "plate", "sample", "sample"], level: ["a", "b", "c", "E", "F"], term: ["(Intercept)", "(Intercept)", "(Intercept)", "(Intercept)", "(Intercept)"], estimate: [0.80454690583045207, 0.80454690583045207, 0.18167188196178949, -0.013842141775369188, -3.0037447670626198], "std.error": [0.27135930258866564, 0.27135930258866564, 0.27135930258866564, 0.2021706850956019, 0.2021706850956019] },
    glance: { nobs: 144, sigma: 0.54992268207048345, logLik: -165.4302944998029, AIC: 338.8605889996058, BIC: 350.73984219790981, REMLcrit: 330.8605889996058, "df.residual": 140 },
  },
  "pastes-nested-reml": {
    theta: [3.5269017877317386, 1.5634614020968556],
    fixed: { term: ["(Intercept)"], estimate: [60.053333333335438], "std.error": [0.67687021507403133], df: [8.9999975446325884], statistic: [88.722079943741093], "p.value": [1.4878472170353385e-14],
      wald: [[58.726692089582457], [61.379974577088419]], wald90: [[58.939980905095496], [61.16668576157538]], satt: [[58.522146464343102], [61.584520202327774]] },
    ran_pars: { group: ["cask:batch", "batch", "Residual"], term: ["sd__(Intercept)", "sd__(Intercept)", "sd__Observation"], estimate: [2.9040774664762039, 1.2873658811051987, 0.82340752344677781] },
    ran_vals: { n: 40, index: [0, 1, 2, 38, 39], group: ["cask:batch", "cask:batch", "cask:batch", "batch", "batch"], level: ["a:A", "a:B", "a:C", "I", "J"], term: ["(Intercept)", "(Intercept)", "(Intercept)", "(Intercept)", "(Intercept)"], estimate: [1.7746862853719465, 0.88365589534290601, -2.5722093287326868, -0.49557997474125737, -0.53175369552512619], "std.error": [1.1417210438973058, 1.1417210438973058, 1.1417210438973058, 1.0284939912632891, 1.0284939912632891] },
    glance: { nobs: 60, sigma: 0.82340752344677781, logLik: -123.49537292674351, AIC: 254.99074585348703, BIC: 263.36812410237542, REMLcrit: 246.99074585348703, "df.residual": 56 },
  },
  "village-intercept-reml": {
    theta: [0.43136434886284097],
    fixed: { term: ["(Intercept)", "treatmentintervention", "age", "sexmale"], estimate: [20.115767393343933, 2.0579179644863639, 0.052161549635730137, -0.57826421014391083], "std.error": [0.3769477091490081, 0.49688028444234966, 0.0066208409937791807, 0.24661679285301794], df: [51.117147498403135, 38.61746323109984, 638.23769720278062, 641.59058080329737], statistic: [53.364875034675258, 4.1416776413175089, 7.8783873052894879, -2.3447884608918446], "p.value": [1.6901612336448904e-46, 0.00018118021745734976, 1.4335836297896714e-14, 0.01934177885056788],
      wald: [[19.376963459356997, 1.0840505023513409, 0.039184939740556562, -1.0616242421186008], [20.85457132733087, 3.0317854266213868, 0.065138159530903711, -0.094904178169220754]], wald90: [[19.495743586779138, 1.2406226264606857, 0.041271235313643462, -0.98391273633533738], [20.735791199908729, 2.8752133025120417, 0.063051863957816812, -0.17261568395248456]], satt: [[19.359055396494451, 1.0525643179702457, 0.0391602847384874, -1.0625377972650942], [20.872479390193416, 3.0632716110024818, 0.065162814532972874, -0.093990623022727371]] },
    ran_pars: { group: ["village", "Residual"], term: ["sd__(Intercept)", "sd__Observation"], estimate: [1.3355518946934049, 3.0961109748966864] },
    ran_vals: { n: 40, index: [0, 1, 2, 38, 39], group: ["village", "village", "village", "village", "village"], level: ["V1", "V2", "V3", "V39", "V40"], term: ["(Intercept)", "(Intercept)", "(Intercept)", "(Intercept)", "(Intercept)"], estimate: [-1.1154224273796727, 1.2020236212497566, -1.1749633512028874, 0.8018370559575988, -1.1708751656577774], "std.error": [0.61463966781425006, 0.64039570121935008, 0.74278730020470929, 0.78962458482854214, 0.91802950047504672] },
    glance: { nobs: 662, sigma: 3.0961109748966864, logLik: -1717.2856285315108, AIC: 3446.5712570630217, BIC: 3473.5428503986436, REMLcrit: 3434.5712570630217, "df.residual": 656 },
  },
  "dose-ordered-reml": {
    theta: [0.60993919373878358],
    fixed: { term: ["(Intercept)", "dose_level.L", "dose_level.Q", "dose_level.C", "x", "dose_level.L:x", "dose_level.Q:x", "dose_level.C:x"], estimate: [11.145860372928963, 1.7158074983492733, -0.54947825636332548, -0.11419854996703079, 0.90434870635185916, 0.74924157776920319, -0.10976586527555655, 0.07572965827302866], "std.error": [0.22739661555245635, 0.18516267593046479, 0.18428668474711438, 0.18320730664111731, 0.080707636753136427, 0.16585318749515204, 0.16096545612549459, 0.15830856594464732], df: [19.142084836042137, 271.04039286397017, 270.90333189197139, 270.00547711449497, 271.37747390045632, 272.30691271994181, 271.24723687942412, 273.01144732583703], statistic: [49.015067114566669, 9.2664868323334257, -2.9816492554377527, -0.62332966987355487, 11.205243304521796, 4.5174988137692793, -0.68192187266551807, 0.4783674074813335], "p.value": [1.3721103551809214e-21, 6.1914492957365539e-18, 0.003127787801803891, 0.53359408084484783, 3.3337428876400708e-24, 9.3326507631940085e-06, 0.49587021132567222, 0.63277157054768696],
      wald: [[10.700171196239848, 1.3528953222445008, -0.91067352129795642, -0.47327827268820649, 0.74616464503837054, 0.42417530355753641, -0.42525236203658812, -0.23454942942266413], [11.591549549618078, 2.0787196744540459, -0.18828299142869448, 0.24488117275414495, 1.0625327676653478, 1.07430785198087, 0.20572063148547504, 0.38600874596872148]], wald90: [[10.771826225081016, 1.4112419992690082, -0.85260287816847913, -0.4155477527796832, 0.77159645731578075, 0.47643736077633975, -0.37453047959747449, -0.18466476059851086], [11.51989452077691, 2.0203729974295381, -0.246353634558172, 0.18715065284562143, 1.0371009553879376, 1.0220457947620665, 0.15499874904636118, 0.33612407714456805]], satt: [[10.670152782304596, 1.3512675547150317, -0.91229441124286492, -0.47489505105969415, 0.74545602829074498, 0.42272409704192082, -0.42666632767408225, -0.23593103065820734], [11.62156796355333, 2.0803474419835148, -0.18666210148378604, 0.24649795112563261, 1.0632413844129733, 1.0757590584964856, 0.20713459712296917, 0.38739034720426468]] },
    ran_pars: { group: ["g", "Residual"], term: ["sd__(Intercept)", "sd__Observation"], estimate: [0.93178955472388947, 1.5276761426204455] },
    ran_vals: { n: 20, index: [0, 1, 2, 18, 19], group: ["g", "g", "g", "g", "g"], level: ["g01", "g02", "g03", "g19", "g20"], term: ["(Intercept)", "(Intercept)", "(Intercept)", "(Intercept)", "(Intercept)"], estimate: [0.081968701909570132, -1.2721602647667341, 0.38002898219261577, 0.19137410680665598, -0.94711277649283876], "std.error": [0.36323869769767902, 0.36323869769767902, 0.3533865795970737, 0.37396360686456975, 0.39861182604268758] },
    glance: { nobs: 294, sigma: 1.5276761426204455, logLik: -563.61304170251015, AIC: 1147.2260834050203, BIC: 1184.0618810784072, REMLcrit: 1127.2260834050203, "df.residual": 284 },
  },
  "eeg-crossed-reml": {
    theta: [0.46058897536435661, 0.65360453618811953, -0.11912069260310246, 0.26517159683197528],
    fixed: { term: ["(Intercept)", "conditionincongruent", "rt"], estimate: [-1.8466932292846345, -1.1524680911831238, 0.97352690192761027], "std.error": [0.30337235327674905, 0.16949924118498927, 0.26558712444631893], df: [46.118447086567585, 29.596764699236015, 1040.6773320788698], statistic: [-6.0872166146267226, -6.7992522156800401, 3.6655651284194], "p.value": [2.1232734663731961e-07, 1.6420952200440722e-07, 0.00025925607090459803],
      wald: [[-2.4412921156122245, -1.4846804993125708, 0.45298570325526788], [-1.2520943429570446, -0.82025568305367669, 1.4940681005999528]], wald90: [[-2.3456963448886987, -1.4312695328117757, 0.53667495701047052], [-1.3476901136805708, -0.87366664955447193, 1.4103788468447498]], satt: [[-2.4573077836867219, -1.4988295998840364, 0.45237959258021421], [-1.2360786748825472, -0.80610658248221112, 1.4946742112750062]] },
    ran_pars: { group: ["item", "subject", "subject", "subject", "Residual"], term: ["sd__(Intercept)", "sd__(Intercept)", "cor__(Intercept).conditionincongruent", "sd__conditionincongruent", "sd__Observation"], estimate: [0.95458282861814658, 1.3546126814228343, -0.40977378296093475, 0.60248067355850099, 2.0725264382696262] },
    ran_vals: { n: 100, index: [0, 1, 2, 98, 99], group: ["item", "item", "item", "subject", "subject"], level: ["w1", "w2", "w3", "s29", "s30"], term: ["(Intercept)", "(Intercept)", "(Intercept)", "conditionincongruent", "conditionincongruent"], estimate: [0.20137062663007524, -0.027326961662857262, 0.43316754066140611, -0.19935954099027667, -0.22407107267472354], "std.error": [0.39378347840070393, 0.38810686479010131, 0.39959265227154711, 0.4612328805766292, 0.45085532572554909] },
    glance: { nobs: 1080, sigma: 2.0725264382696262, logLik: -2404.8250868025889, AIC: 4825.6501736051778, BIC: 4865.5279041661242, REMLcrit: 4809.6501736051778, "df.residual": 1072 },
  },
};

const MODELS: { key: string; formula: string; data: string; dataset: string; dir?: string; REML: boolean }[] = [
  { key: "sleepstudy-slope-reml", formula: "Reaction ~ Days + (Days | Subject)", data: "data/sleepstudy.csv", dataset: "sleepstudy", REML: true },
  { key: "sleepstudy-slope-ml", formula: "Reaction ~ Days + (Days | Subject)", data: "data/sleepstudy.csv", dataset: "sleepstudy", REML: false },
  { key: "sleepstudy-uncorr-reml", formula: "Reaction ~ Days + ((1 | Subject) + (0 + Days | Subject))", data: "data/sleepstudy.csv", dataset: "sleepstudy", REML: true },
  { key: "penicillin-reml", formula: "diameter ~ 1 + (1 | plate) + (1 | sample)", data: "data/Penicillin.csv", dataset: "Penicillin", REML: true },
  { key: "pastes-nested-reml", formula: "strength ~ 1 + (1 | batch/cask)", data: "data/Pastes.csv", dataset: "Pastes", REML: true },
  { key: "village-intercept-reml", formula: "y ~ treatment + age + sex + (1 | village)", data: "data/village.csv", dataset: "village", dir: extraDir, REML: true },
  { key: "dose-ordered-reml", formula: "y ~ dose_level * x + (1 | g)", data: "data/dose.csv", dataset: "dose", dir: extraDir, REML: true },
  { key: "eeg-crossed-reml", formula: "amp ~ condition + rt + (1 + condition | subject) + (1 | item)", data: "data/eeg.csv", dataset: "eeg", dir: extraDir, REML: true },
];

const fits = new Map<string, Promise<LinearMixedModel>>();
/** The model at lme4's θ. */
function fit(key: string): Promise<LinearMixedModel> {
  let f = fits.get(key);
  if (!f) {
    const s = MODELS.find((m) => m.key === key)!;
    const data = s.dir ? referenceTable(s.data, s.dataset, s.dir) : referenceTable(s.data, s.dataset);
    f = lmer(s.formula, data, { REML: s.REML }).then((m) => m.setTheta(R[key].theta));
    fits.set(key, f);
  }
  return f;
}

function close(got: unknown, want: number, rel: number, what: string, abs = 1e-12): void {
  expect(typeof got, what).toBe("number");
  const ok = Math.abs((got as number) - want) <= Math.max(rel * Math.abs(want), abs);
  expect(ok, `${what}: got ${got}, want ${want} (rel ${rel})`).toBe(true);
}

const ALL_COLUMNS = ["effect", "group", "level", "term", "estimate", "std.error", "statistic", "df", "p.value", "conf.low", "conf.high"];
const TOL = { est: 1e-8, df: 1e-3, p: 1e-4, ci: 1e-6 };

describe("tidy(effects = fixed, ran_pars, ran_vals; conf.int) against R", () => {
  for (const { key } of MODELS) {
    it(key, async () => {
      const m = await fit(key);
      const e = R[key];
      const rows = tidy(m, { effects: ["fixed", "ran_pars", "ran_vals"], confInt: true });
      for (const r of rows) expect(Object.keys(r)).toEqual(ALL_COLUMNS);
      const fixed = rows.filter((r) => r.effect === "fixed");
      const pars = rows.filter((r) => r.effect === "ran_pars");
      const vals = rows.filter((r) => r.effect === "ran_vals");
      expect(rows.map((r) => r.effect)).toEqual([...fixed, ...pars, ...vals].map((r) => r.effect)); // fixed, then ran_pars, then ran_vals
      // fixed
      expect(fixed.map((r) => r.term)).toEqual(e.fixed.term);
      fixed.forEach((r, i) => {
        const w = `${key} fixed ${r.term}`;
        expect(r.group).toBeNull();
        expect(r.level).toBeNull();
        close(r.estimate, e.fixed.estimate[i], TOL.est, `${w} estimate`);
        close(r["std.error"], e.fixed["std.error"][i], TOL.est, `${w} std_error`);
        close(r.statistic, e.fixed.statistic[i], TOL.est, `${w} statistic`);
        close(r.df, e.fixed.df[i], TOL.df, `${w} df`);
        close(r["p.value"], e.fixed["p.value"][i], TOL.p, `${w} p_value`, 1e-300);
        close(r["conf.low"], e.fixed.wald[0][i], TOL.est, `${w} conf_low`);
        close(r["conf.high"], e.fixed.wald[1][i], TOL.est, `${w} conf_high`);
      });
      // ran_pars
      expect(pars.map((r) => r.group)).toEqual(e.ran_pars.group);
      expect(pars.map((r) => r.term)).toEqual(e.ran_pars.term);
      pars.forEach((r, i) => {
        close(r.estimate, e.ran_pars.estimate[i], TOL.est, `${key} ran_pars ${r.group} ${r.term}`);
        for (const k of ["level", "std.error", "statistic", "df", "p.value", "conf.low", "conf.high"] as const) expect(r[k], `${key} ${r.term} ${k}`).toBeNull();
      });
      // ran_vals
      expect(vals.length).toBe(e.ran_vals.n);
      e.ran_vals.index.forEach((idx, j) => {
        const r = vals[idx];
        const w = `${key} ran_vals[${idx}]`;
        expect([r.group, r.level, r.term], w).toEqual([e.ran_vals.group[j], e.ran_vals.level[j], e.ran_vals.term[j]]);
        close(r.estimate, e.ran_vals.estimate[j], TOL.ci, `${w} estimate`, 1e-10);
        close(r["std.error"], e.ran_vals["std.error"][j], TOL.ci, `${w} std_error`);
        // broom.mixed: estimate ± qnorm((1 + conf.level)/2) std.error
        close(r["conf.low"], e.ran_vals.estimate[j] - 1.959963984540054 * e.ran_vals["std.error"][j], TOL.ci, `${w} conf_low`, 1e-9);
        close(r["conf.high"], e.ran_vals.estimate[j] + 1.959963984540054 * e.ran_vals["std.error"][j], TOL.ci, `${w} conf_high`, 1e-9);
        for (const k of ["statistic", "df", "p.value"] as const) expect(r[k]).toBeNull();
      });
    });
  }

  it("conf.level = 0.9 and broom.mixed's lmerTest (Satterthwaite t) intervals", async () => {
    for (const { key } of MODELS) {
      const m = await fit(key);
      const e = R[key];
      const w90 = tidy(m, { effects: ["fixed"], confInt: true, confLevel: 0.9 });
      const satt = tidy(m, { effects: ["fixed"], confInt: true, confMethod: "Satterthwaite" });
      e.fixed.term.forEach((term, i) => {
        close(w90[i]["conf.low"], e.fixed.wald90[0][i], TOL.est, `${key} ${term} 90% low`);
        close(w90[i]["conf.high"], e.fixed.wald90[1][i], TOL.est, `${key} ${term} 90% high`);
        // the df agree with lmerTest's to 1e-3; the interval's half-width moves far less
        close(satt[i]["conf.low"], e.fixed.satt[0][i], 1e-5, `${key} ${term} t low`);
        close(satt[i]["conf.high"], e.fixed.satt[1][i], 1e-5, `${key} ${term} t high`);
      });
    }
  });
});

describe("tidy: broom.mixed's columns and names", () => {
  it("default effects: fixed then ran_pars, without level or intervals", async () => {
    const m = await fit("sleepstudy-slope-reml");
    const rows = tidy(m);
    expect(Object.keys(rows[0])).toEqual(["effect", "group", "term", "estimate", "std.error", "statistic", "df", "p.value"]);
    expect(rows.map((r) => [r.effect, r.group, r.term])).toEqual([
      ["fixed", null, "(Intercept)"],
      ["fixed", null, "Days"],
      ["ran_pars", "Subject", "sd__(Intercept)"],
      ["ran_pars", "Subject", "cor__(Intercept).Days"],
      ["ran_pars", "Subject", "sd__Days"],
      ["ran_pars", "Residual", "sd__Observation"],
    ]);
    // the order of `effects` does not matter (broom.mixed binds fixed, ran_pars, ran_vals in that order)
    expect(tidy(m, { effects: ["ran_pars", "fixed"] })).toEqual(rows);
  });

  it("one effect type: only its columns", async () => {
    const m = await fit("sleepstudy-slope-reml");
    expect(Object.keys(tidy(m, { effects: ["fixed"] })[0])).toEqual(["effect", "term", "estimate", "std.error", "statistic", "df", "p.value"]);
    expect(Object.keys(tidy(m, { effects: ["ran_pars"] })[0])).toEqual(["effect", "group", "term", "estimate"]);
    expect(Object.keys(tidy(m, { effects: ["ran_vals"] })[0])).toEqual(["effect", "group", "level", "term", "estimate", "std.error"]);
    expect(Object.keys(tidy(m, { effects: ["ran_pars"], confInt: true })[0])).toEqual(["effect", "group", "term", "estimate", "conf.low", "conf.high"]);
  });

  it('ddf "none": lme4\'s table, no df or p_value (broom.mixed on an lme4 fit)', async () => {
    const m = await fit("sleepstudy-slope-reml");
    const rows = tidy(m, { effects: ["fixed"], ddf: "none", confInt: true });
    expect(Object.keys(rows[0])).toEqual(["effect", "term", "estimate", "std.error", "statistic", "conf.low", "conf.high"]);
    close(rows[1].statistic, R["sleepstudy-slope-reml"].fixed.statistic[1], TOL.est, "t");
  });

  it("uncorrelated terms on one factor: groups Subject and Subject.1 (VarCorr's names)", async () => {
    const rows = tidy(await fit("sleepstudy-uncorr-reml"), { effects: ["ran_pars"] });
    expect(rows.map((r) => `${r.group}/${r.term}`)).toEqual(["Subject/sd__(Intercept)", "Subject.1/sd__Days", "Residual/sd__Observation"]);
  });

  it("a 2 × 2 term with a factor slope: sd, cor, sd in lower-triangle order", async () => {
    const rows = tidy(await fit("eeg-crossed-reml"), { effects: ["ran_pars"] });
    expect(rows.map((r) => `${r.group}/${r.term}`)).toEqual([
      "item/sd__(Intercept)",
      "subject/sd__(Intercept)",
      "subject/cor__(Intercept).conditionincongruent",
      "subject/sd__conditionincongruent",
      "Residual/sd__Observation",
    ]);
  });

  it("takes satterthwaite(m) precomputed (as toJSON has it) with the same result", async () => {
    const m = await fit("village-intercept-reml");
    const opts = { effects: ["fixed", "ran_pars"] as TidyEffect[], confInt: true };
    expect(tidy(m, opts, { satterthwaite: satterthwaite(m) })).toEqual(tidy(m, opts));
  });

  it("rejects unknown effects and options", async () => {
    const m = await fit("penicillin-reml");
    expect(() => tidy(m, { effects: ["ran_coefs" as never] })).toThrow(/unknown effect type 'ran_coefs'/);
    expect(() => tidy(m, { effects: [] })).toThrow(/effects is empty/);
    expect(() => tidy(m, { confInt: true, confLevel: 95 })).toThrow(/confLevel must be between 0 and 1/);
    expect(() => tidy(m, { confInt: true, confMethod: "profile" as never })).toThrow(/confMethod 'profile' is not available/);
    expect(() => tidy(m, { confInt: true, confMethod: "Satterthwaite", ddf: "none" })).toThrow(/needs the Satterthwaite df/);
  });
});

describe("glance", () => {
  for (const { key } of MODELS) {
    it(key, async () => {
      const g = glance(await fit(key));
      const e = R[key].glance;
      expect(Object.keys(g)).toEqual(Object.keys(e));
      for (const [k, v] of Object.entries(e)) close((g as unknown as Record<string, number>)[k], v, 1e-9, `${key} ${k}`);
    });
  }

  it("REML fits report REMLcrit, ML fits deviance (broom.mixed's rename)", async () => {
    expect(Object.keys(glance(await fit("sleepstudy-slope-reml")))).toEqual(["nobs", "sigma", "logLik", "AIC", "BIC", "REMLcrit", "df.residual"]);
    expect(Object.keys(glance(await fit("sleepstudy-slope-ml")))).toEqual(["nobs", "sigma", "logLik", "AIC", "BIC", "deviance", "df.residual"]);
  });
});

describe("toCSV", () => {
  it("round trip of a tidy table through parseCSV: same columns, same doubles, NA where null", async () => {
    const m = await fit("pastes-nested-reml");
    const rows = tidy(m, { effects: ["fixed", "ran_pars", "ran_vals"], confInt: true });
    const csv = toCSV(rows);
    expect(csv.split("\n")[0]).toBe(ALL_COLUMNS.join(","));
    expect(csv.split("\n")[1].startsWith("fixed,NA,NA,(Intercept),")).toBe(true);
    expect(csv.endsWith("\n")).toBe(true);
    const t = parseCSV(csv);
    expect(t.names).toEqual(ALL_COLUMNS);
    expect(t.nrow).toBe(rows.length);
    for (const name of ["estimate", "std.error", "statistic", "df", "p.value", "conf.low", "conf.high"] as const) {
      const col = t.columns.get(name) as NumericColumn;
      expect(col.type, name).toBe("numeric");
      rows.forEach((r: TidyRow, i) => {
        const v = r[name];
        if (v === null || v === undefined) expect(col.values[i], `${name}[${i}]`).toBeNaN();
        else expect(col.values[i], `${name}[${i}]`).toBe(v); // bit for bit
      });
    }
    for (const name of ["effect", "group", "level", "term"] as const) {
      const col = t.columns.get(name) as FactorColumn;
      rows.forEach((r: TidyRow, i) => {
        const v = r[name];
        expect(col.codes[i] === -1 ? null : col.levels[col.codes[i]], `${name}[${i}]`).toBe(v ?? null);
      });
    }
  });

  it("glance as one row", async () => {
    const g = glance(await fit("sleepstudy-slope-reml"));
    const csv = toCSV([g]);
    expect(csv).toBe(`nobs,sigma,logLik,AIC,BIC,REMLcrit,df.residual\n${[g.nobs, g.sigma, g.logLik, g.AIC, g.BIC, g.REMLcrit, g["df.residual"]].map(String).join(",")}\n`);
    const t = parseCSV(csv);
    expect((t.columns.get("REMLcrit") as NumericColumn).values[0]).toBe(g.REMLcrit);
  });

  it("quotes only where needed; NA, Inf and full precision", () => {
    const csv = toCSV([
      { term: 'a,"b"', x: 0.1 + 0.2, y: null, z: NaN, w: Infinity, v: -Infinity, u: 1e-300 },
      { term: "plain", x: -0, y: 5, z: 1, w: 2, v: 3, u: undefined },
    ]);
    expect(csv).toBe('term,x,y,z,w,v,u\n"a,""b""",0.30000000000000004,NA,NA,Inf,-Inf,1e-300\nplain,0,5,1,2,3,NA\n');
    expect(toCSV([])).toBe("");
  });
});
