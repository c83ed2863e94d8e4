# The lme4 side of the benchmark suite (bench/suite.ts runs it once per dataset, in the same run as
# this library's fits, when Rscript and lme4 are installed).
#
#   Rscript bench/lme4.R spec.json out.json
#
# spec.json: {"id", "csv", "levels" (a NAME.levels.json, or null), "formula", "REML", "warmup", "repeats"}.
# Reads the CSV as the suite does (factor levels from the levels file), makes `warmup` untimed fits
# (the suite warms its own small fits up the same way), then times `repeats` fresh lmer() calls with
# system.time() (as the reference fits' time_s: wall seconds, gc first) and writes
# out.json with the median, every run, the objective lme4 minimised (REMLcrit for REML fits, the ML
# deviance for ML fits) and the estimates, numbers as 17 significant digits (jsonlite stops at 15).
# Peak memory: the process's VmHWM (peak resident set, from /proc/self/status) after the first fit,
# so it covers R, the data and one fit, the same measure the suite takes of its own fits.
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript bench/lme4.R spec.json out.json")
spec <- fromJSON(args[1], simplifyVector = TRUE)

num <- function(x) sprintf("%.17g", x)

peak_rss_mb <- function() {
  status <- tryCatch(readLines("/proc/self/status"), error = function(e) character())
  line <- grep("^VmHWM:", status, value = TRUE)
  if (length(line) == 0) return(NA_real_)
  as.numeric(gsub("[^0-9]", "", line)) / 1024
}

read_time <- system.time({
  d <- read.csv(spec$csv, stringsAsFactors = FALSE)
  if (!is.null(spec$levels) && file.exists(spec$levels)) {
    lev <- fromJSON(spec$levels, simplifyVector = TRUE)
    for (v in names(lev)) {
      d[[v]] <- factor(as.character(d[[v]]), levels = lev[[v]]$levels, ordered = isTRUE(lev[[v]]$ordered))
    }
  }
})[["elapsed"]]

form <- as.formula(spec$formula)
messages <- character()
fit_once <- function() {
  withCallingHandlers(
    lmer(form, data = d, REML = isTRUE(spec$REML)),
    message = function(m) {
      messages <<- unique(c(messages, conditionMessage(m)))
      invokeRestart("muffleMessage")
    },
    warning = function(w) {
      messages <<- unique(c(messages, conditionMessage(w)))
      invokeRestart("muffleWarning")
    }
  )
}

warmup <- if (is.null(spec$warmup)) 0L else as.integer(spec$warmup)
repeats <- max(1L, as.integer(spec$repeats))
runs <- numeric(repeats)
peak <- NA_real_
for (i in seq_len(warmup)) {
  fit <- fit_once()
  if (i == 1) peak <- peak_rss_mb()
}
for (i in seq_len(repeats)) {
  runs[i] <- system.time(fit <- fit_once())[["elapsed"]]
  if (i == 1 && warmup == 0) peak <- peak_rss_mb()
}

objective <- if (isREML(fit)) REMLcrit(fit) else deviance(fit, REML = FALSE)
out <- list(
  id = spec$id,
  time_s = median(runs),
  time_s_runs = I(runs),
  warmup = warmup,
  read_s = read_time,
  objective = num(objective),
  REML = isREML(fit),
  feval = fit@optinfo$feval,
  theta = I(num(getME(fit, "theta"))),
  nobs = nobs(fit),
  ngrps = as.list(ngrps(fit)),
  messages = I(messages),
  peak_rss_mb = peak,
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")), Matrix = as.character(packageVersion("Matrix")))
)
writeLines(toJSON(out, auto_unbox = TRUE, pretty = TRUE, digits = NA), args[2])
